"""Benchmark: one-pass SHA-256 + SM3 against each hash alone and the stock tools.

Run: ``.venv/bin/python -m bench.hashing [--size-mb N]``. Prints throughput
and ratios; every figure is measured in this run on the same file.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes

from evidence.model.hashing import CHUNK_SIZE, digest_file


def _timed(func: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def _sha256_only(path: Path) -> None:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            h.update(chunk)
    h.hexdigest()


def _sm3_only(path: Path) -> None:
    h = hashes.Hash(hashes.SM3())
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            h.update(chunk)
    h.finalize()


def _runner(cmd: list[str]) -> Callable[[], object]:
    return lambda: subprocess.run(cmd, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.bin"
        with path.open("wb") as f:
            for _ in range(args.size_mb):
                f.write(os.urandom(1024 * 1024))
        mb = args.size_mb
        results = {
            "sha256 alone (hashlib)": _timed(lambda: _sha256_only(path)),
            "sm3 alone (cryptography)": _timed(lambda: _sm3_only(path)),
            "sha256+sm3 one pass (evidence)": _timed(lambda: digest_file(path)),
        }
        stock: dict[str, list[str]] = {
            "sha256sum": ["sha256sum", str(path)],
            "openssl dgst -sm3": ["openssl", "dgst", "-sm3", str(path)],
        }
        for name, cmd in stock.items():
            if shutil.which(cmd[0]):
                results[name] = _timed(_runner(cmd))
        print(f"file: {mb} MiB (page cache warm, best of 3)")
        for name, seconds in results.items():
            print(f"  {name:<34} {seconds:7.3f} s  {mb / seconds:8.1f} MiB/s")
        slower_alone = max(results["sha256 alone (hashlib)"], results["sm3 alone (cryptography)"])
        ratio = slower_alone / results["sha256+sm3 one pass (evidence)"]
        print(f"one-pass throughput / slower hash alone: {ratio:.2f} (target >= 0.90)")
        if "sha256sum" in results and "openssl dgst -sm3" in results:
            stock_total = results["sha256sum"] + results["openssl dgst -sm3"]
            ours = results["sha256+sm3 one pass (evidence)"]
            print(f"evidence one pass / (sha256sum + openssl dgst -sm3): {ours / stock_total:.2f}")


if __name__ == "__main__":
    main()
