"""Benchmarks for the evidence core (seal throughput, Merkle, lookup by hash).

Run: ``.venv/bin/python -m bench.core [--seal-mb N] [--max-leaves N] [--items N]``.
Every ratio is against a baseline measured in the same run on the same data.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from sqlalchemy import insert
from sqlmodel import Session

from evidence.model.config import Settings
from evidence.model.hashing import CHUNK_SIZE, digest_file
from evidence.model.merkle import MerkleTree, verify_inclusion
from evidence.model.store import ArtifactStore
from evidence.model.tables import Artifact, Case, EvidenceItem, ItemStatus
from evidence.services.toolkit import Toolkit


def _best(func: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def _read_hash(path: Path, update: Callable[[bytes], object]) -> None:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            update(chunk)


def bench_seal(size_mb: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "big.bin"
        with src.open("wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(1024 * 1024))

        def sha() -> None:
            h = hashlib.sha256()
            _read_hash(src, h.update)

        def sm3() -> None:
            h = hashes.Hash(hashes.SM3())
            _read_hash(src, h.update)

        counter = iter(range(100))

        def seal() -> None:
            # A fresh store each time: put_file writes, fsyncs and renames a copy.
            ArtifactStore(Path(tmp) / f"store-{next(counter)}").put_file(src)

        def both() -> None:
            digest_file(src)

        t_sha, t_sm3, t_both, t_seal = _best(sha), _best(sm3), _best(both), _best(seal)
        slower = max(t_sha, t_sm3)
        print(f"seal throughput on a {size_mb} MiB file (page cache warm, best of 3)")
        print(f"  sha256 alone                  {size_mb / t_sha:8.1f} MiB/s")
        print(f"  sm3 alone                     {size_mb / t_sm3:8.1f} MiB/s")
        print(f"  sha256+sm3, one read          {size_mb / t_both:8.1f} MiB/s")
        print(f"  seal (one read, hash, copy, fsync) {size_mb / t_seal:8.1f} MiB/s")
        print(f"  one-read hashing / slower hash alone = {slower / t_both:.2f} (target >= 0.90)")
        print(f"  full seal / slower hash alone        = {slower / t_seal:.2f}")


def bench_merkle(max_leaves: int) -> None:
    print("Merkle tree (RFC 9162, SHA-256)")
    n = 10_000
    while n <= max_leaves:
        leaves = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(n)]
        start = time.perf_counter()
        tree = MerkleTree(leaves)
        build = time.perf_counter() - start
        indexes = range(n // 3, n, max(1, n // 1000))
        start = time.perf_counter()
        proofs = [tree.proof(i) for i in indexes]
        per_proof = (time.perf_counter() - start) / len(proofs)
        start = time.perf_counter()
        assert all(
            verify_inclusion(leaves[i], p, tree.root) for i, p in zip(indexes, proofs, strict=True)
        )
        per_verify = (time.perf_counter() - start) / len(proofs)
        print(
            f"  {n:>9,} leaves: build {build:7.3f} s, proof {per_proof * 1e6:6.1f} us, "
            f"verify {per_verify * 1e6:6.1f} us, proof length {len(proofs[-1].path)}"
        )
        n *= 10


def bench_lookup(items: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        kit = Toolkit(Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}"))
        now = datetime.now(UTC)
        with Session(kit.engine) as session:
            session.add(Case(id="c", number="bench", title="bench", created_at=now))
            session.commit()
        digests = [hashlib.sha256(i.to_bytes(8, "big")).hexdigest() for i in range(items)]
        start = time.perf_counter()
        batch = 50_000
        with kit.engine.begin() as conn:
            for lo in range(0, items, batch):
                conn.execute(
                    insert(EvidenceItem),
                    [
                        {
                            "id": f"i{i}",
                            "case_id": "c",
                            "status": ItemStatus.SEALED,
                            "requested_url": f"http://example.test/{i}",
                            "final_url": "",
                            "page_title": "",
                            "created_at": now,
                            "manifest_sha256": digests[i],
                            "manifest_sm3": "",
                            "capture_json": "",
                            "error": "",
                        }
                        for i in range(lo, min(items, lo + batch))
                    ],
                )
                conn.execute(
                    insert(Artifact),
                    [
                        {
                            "id": f"a{i}",
                            "item_id": f"i{i}",
                            "name": "artifacts/x",
                            "role": "dom",
                            "media_type": "text/html",
                            "size": 1,
                            "sha256": hashlib.sha256(digests[i].encode()).hexdigest(),
                            "sm3": "",
                        }
                        for i in range(lo, min(items, lo + batch))
                    ],
                )
        print(
            f"lookup by hash among {items:,} items (SQLite, inserted in "
            f"{time.perf_counter() - start:.1f} s)"
        )
        samples = []
        for i in range(0, items, max(1, items // 200)):
            start = time.perf_counter()
            found = kit.find_items(sha256=digests[i])
            samples.append(time.perf_counter() - start)
            assert len(found) == 1
        samples.sort()
        print(
            f"  median {statistics.median(samples) * 1e3:.2f} ms, "
            f"p95 {samples[int(len(samples) * 0.95)] * 1e3:.2f} ms (target < 5 ms)"
        )
        kit.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seal-mb", type=int, default=1024)
    parser.add_argument("--max-leaves", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    args = parser.parse_args()
    bench_seal(args.seal_mb)
    bench_merkle(args.max_leaves)
    bench_lookup(args.items)


if __name__ == "__main__":
    main()
