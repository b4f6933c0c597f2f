"""Anchoring throughput: items per second, gas per item, proof size, TSA requests per second.

Run: ``.venv/bin/python -m bench.anchoring [--max 10000]``. Items are synthetic
(sealed + timestamped rows inserted straight into SQLite) so the figures are the
anchoring stage alone: Merkle tree, one transaction, proofs stored.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from anchoring.anvil import LocalChain
from anchoring.devtsa import DevelopmentTSA
from anchoring.tsa import request_timestamp
from evidence.model.config import Settings
from evidence.model.merkle import MerkleTree
from evidence.model.tables import Case, EvidenceItem, ItemStatus
from evidence.services.toolkit import Toolkit


def _insert_items(kit: Toolkit, count: int, label: str) -> list[str]:
    now = datetime.now(UTC)
    ids = [f"{label}-{i:06d}" for i in range(count)]
    with Session(kit.engine) as session:
        case = Case(id=f"case-{label}", number=f"B-{label}", title="bench", created_at=now)
        session.add(case)
        for item_id in ids:
            session.add(
                EvidenceItem(
                    id=item_id,
                    case_id=case.id,
                    status=ItemStatus.TIMESTAMPED,
                    requested_url="https://bench.example/",
                    created_at=now,
                    sealed_at=now,
                    manifest_sha256=hashlib.sha256(item_id.encode()).hexdigest(),
                )
            )
        session.commit()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max", type=int, default=10_000)
    args = parser.parse_args()
    sizes = [n for n in (1, 10, 100, 1_000, 10_000) if n <= args.max]
    with tempfile.TemporaryDirectory(prefix="bench-anchoring-") as tmp:
        home = Path(tmp)
        kit = Toolkit(Settings(home=home, database_url=f"sqlite:///{home / 'e.db'}"))
        kit.checkpoint_after_batch = False
        try:
            client, _local = kit.chains.client()
            print(
                "batch size | items/s (facade) | s/batch | gas/item | raw merkle+tx s "
                "| proof hashes | log2 n"
            )
            baseline: float | None = None
            for n in sizes:
                ids = _insert_items(kit, n, f"n{n}")
                started = time.perf_counter()
                batch = kit.anchor_batch(ids)
                elapsed = time.perf_counter() - started
                gas = client.gas_used(batch.transaction_hash)
                leaves = [hashlib.sha256(f"raw{n}-{i}".encode()).digest() for i in range(n)]
                raw_start = time.perf_counter()
                tree = MerkleTree(leaves)
                client.anchor_root(tree.root, "bench")
                raw = time.perf_counter() - raw_start
                proof_len = max(len(tree.proof(i).path) for i in (0, n - 1))
                rate = n / elapsed
                baseline = baseline or rate
                print(
                    f"{n:>10} | {rate:>16.1f} | {elapsed:>7.3f} | {gas / n:>8.1f} | "
                    f"{raw:>15.3f} | {proof_len:>12} | {math.log2(n):>6.2f}"
                    f"   (x{rate / baseline:.0f} vs n=1)"
                )
        finally:
            kit.close()
            LocalChain(home).stop()

        with DevelopmentTSA(home / "tsa") as tsa:
            config = tsa.config()
            digests = [hashlib.sha256(str(i).encode()).digest() for i in range(40)]
            started = time.perf_counter()
            for d in digests:
                request_timestamp(d, config)
            sequential = len(digests) / (time.perf_counter() - started)
            started = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda d: request_timestamp(d, config), digests))
            threaded = len(digests) / (time.perf_counter() - started)
            print(
                f"TSA requests/s (local openssl TSA, verified on receipt): sequential "
                f"{sequential:.1f}, 4 threads {threaded:.1f} (x{threaded / sequential:.2f})"
            )


if __name__ == "__main__":
    main()
