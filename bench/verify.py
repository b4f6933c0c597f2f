"""Offline verification time against sha256sum + openssl dgst -sm3, and peak memory.

    .venv/bin/python -m bench.verify [--sizes 10,100,1000]   (MB)

For each size a synthetic bundle (random artifacts, a real manifest, written by
``reports.bundle.writer.write_bundle``) is unpacked, then timed in the same run:
baseline = ``sha256sum`` plus ``openssl dgst -sm3`` over the same files;
ours = ``evidence verify --offline --no-replay`` on the unpacked folder, in a
fresh process whose peak RSS is read with ``resource.getrusage``. The token
and anchor checks report NOT CHECKED (the bundles have none): that is fine here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from tests.test_hostile_bundles import make_bundle

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from evidence.verification import VerifyOptions, run_verification
t = time.perf_counter()
report = run_verification(Path(sys.argv[1]), VerifyOptions(offline=True, replay=False)).report
print(json.dumps({"s": time.perf_counter() - t, "failures": len(report.failures),
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _baseline(root: Path) -> float:
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    started = time.perf_counter()
    subprocess.run(["sha256sum", *files], cwd=root, check=True, capture_output=True)
    subprocess.run(["openssl", "dgst", "-sm3", *files], cwd=root, check=True, capture_output=True)
    return time.perf_counter() - started


def _ours(root: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,100,1000", help="bundle sizes in MB")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(f"{'size':>8} {'baseline s':>11} {'ours s':>8} {'ratio':>6} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        for size_mb in (int(s) for s in args.sizes.split(",")):
            work = Path(tmp) / f"{size_mb}"
            work.mkdir()
            # Several artifacts, like a capture: one large (the WARC-sized one) and small ones.
            sizes = {"big.bin": size_mb * 1024 * 1024 * 9 // 10}
            sizes.update({f"small-{i}.bin": size_mb * 1024 * 1024 // 100 for i in range(10)})
            bundle = make_bundle(work / "bundle.zip", sizes)
            root = work / "unpacked"
            with zipfile.ZipFile(bundle) as zf:
                zf.extractall(root)
            base = min(_baseline(root) for _ in range(args.repeat))
            runs = [_ours(root) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["s"])
            assert best["failures"] == 0, best
            print(
                f"{size_mb:>6}MB {base:>11.2f} {best['s']:>8.2f} {best['s'] / base:>6.2f} "
                f"{max(r['rss_kb'] for r in runs) / 1024:>12.1f}"
            )
            for path in sorted(work.rglob("*"), reverse=True):
                if path.is_file():
                    path.unlink()


if __name__ == "__main__":
    main()
