"""Batched anchoring through the facade, on a real anvil and the real dev TSA."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import Session, select

from anchoring.anvil import LocalChain, find_anvil
from anchoring.chain import check_anchor
from anchoring.devtsa import DevelopmentTSA
from anchoring.tsa import RetryPolicy, verify_timestamp
from evidence.model.config import Settings
from evidence.model.errors import ConfigurationError, TimestampError
from evidence.model.merkle import InclusionProof, verify_inclusion
from evidence.model.tables import AnchorBatch, AnchorRecord, ChainCheckpoint, ItemStatus
from evidence.services.toolkit import Toolkit
from tests.anchoring_support import rpc, seal_synthetic
from tests.conftest import require, require_tool

FAST = RetryPolicy(attempts=2, backoff_s=0.01)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_tool("openssl")
    try:
        find_anvil()
    except ConfigurationError as exc:
        require(False, exc.message)
    path = tmp_path_factory.mktemp("anchoring-home")
    yield path
    LocalChain(path).stop()


def _kit(home: Path, tmp_path: Path, **changes: object) -> Toolkit:
    settings = Settings(home=home, database_url=f"sqlite:///{tmp_path / 'evidence.db'}")
    kit = Toolkit(replace(settings, **changes))  # type: ignore[arg-type]
    kit.tsa_retry = FAST
    return kit


def test_pending_items_are_anchored_in_batches_with_proofs(home: Path, tmp_path: Path) -> None:
    with _kit(home, tmp_path, batch_size=4) as kit:
        ids = seal_synthetic(kit, "C-batch", 10, tmp_path)
        for item_id in ids:
            kit.timestamp(item_id)
        batches = kit.anchor_pending()
        assert [len(b.item_ids) for b in batches] == [4, 4, 2]
        assert len({b.transaction_hash for b in batches}) == 3  # one transaction per batch
        rpc_url = kit.local_chain_rpc_url()
        for batch in batches:
            check_anchor(
                rpc_url,
                chain_id=31337,
                contract_address=kit.get_item(batch.item_ids[0]).anchor.contract_address,  # type: ignore[union-attr]
                transaction_hash=batch.transaction_hash,
                root=bytes.fromhex(batch.root[2:]),
            )
        for item_id in ids:
            info = kit.get_item(item_id)
            assert info.status is ItemStatus.ANCHORED and info.anchor is not None
            proof = InclusionProof(
                info.anchor.leaf_index,
                info.anchor.tree_size,
                tuple(bytes.fromhex(h) for h in info.anchor.proof),
            )
            leaf = bytes.fromhex(info.manifest_sha256 or "")
            assert verify_inclusion(leaf, proof, bytes.fromhex(info.anchor.root[2:]))
        assert kit.anchor_pending() == []
        with Session(kit.engine) as session:
            checkpoints = session.exec(select(ChainCheckpoint)).all()
        # Anchor the anchor: each local batch got the chain head timestamped.
        assert len(checkpoints) == 3
        for cp in checkpoints:
            digest = hashlib.sha256(cp.statement.encode()).digest()
            verify_timestamp(cp.response_der, digest, cp.trust_root_pem)
            assert cp.block_hash in cp.statement


def test_extra_leaves_hook_keeps_item_indexes(home: Path, tmp_path: Path) -> None:
    with _kit(home, tmp_path, batch_size=10) as kit:
        ids = seal_synthetic(kit, "C-extra", 2, tmp_path)
        for item_id in ids:
            kit.timestamp(item_id)
        head = hashlib.sha256(b"custody head").digest()
        batch = kit.anchor_batch(ids, extra_leaves=[head])
        assert kit.get_item(ids[1]).anchor.leaf_index == 1  # type: ignore[union-attr]
        assert kit.get_item(ids[0]).anchor.tree_size == 3  # type: ignore[union-attr]
        assert batch.item_ids == tuple(ids)


def test_reorganised_batch_is_reanchored_never_lost(home: Path, tmp_path: Path) -> None:
    with _kit(home, tmp_path) as kit:
        ids = seal_synthetic(kit, "C-reorg", 3, tmp_path)
        for item_id in ids:
            kit.timestamp(item_id)
        kit.deploy_registry()
        rpc_url = kit.local_chain_rpc_url()
        snapshot = rpc(rpc_url, "evm_snapshot")
        first = kit.anchor_batch(ids)
        # Not enough blocks on top yet: the recheck waits.
        assert [r.outcome for r in kit.recheck_anchors(5)] == ["waiting"]
        # The anchor's block is replaced by a different history of the same length.
        assert rpc(rpc_url, "evm_revert", snapshot) is True
        for _ in range(4):
            rpc(rpc_url, "evm_mine")
        results = kit.recheck_anchors(1)
        assert [r.outcome for r in results] == ["reanchored"], results
        assert "not found" in results[0].detail
        with Session(kit.engine) as session:
            old = session.get(AnchorBatch, first.id)
            assert old is not None and old.status == "failed" and "dropped" in old.error
            assert old.transaction_hash == first.transaction_hash  # history kept
            for item_id in ids:
                rows = session.exec(
                    select(AnchorRecord).where(AnchorRecord.item_id == item_id)
                ).all()
                standing = [r for r in rows if not r.superseded_by]
                superseded = [r for r in rows if r.superseded_by]
                assert len(standing) == 1 and standing[0].batch_id == results[0].new_batch_id
                # The dropped anchor is kept as history, marked, never deleted.
                assert len(superseded) == 1 and superseded[0].batch_id == first.id
                assert "dropped" in superseded[0].superseded_by
        for item_id in ids:
            assert kit.get_item(item_id).status is ItemStatus.ANCHORED
        # The new anchor is on the canonical chain and becomes final.
        assert [r.outcome for r in kit.recheck_anchors(1)] == ["final"]


def test_failover_and_dual_tokens(
    home: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = DevelopmentTSA(tmp_path_factory.mktemp("tsa-a"))
    second = DevelopmentTSA(tmp_path_factory.mktemp("tsa-b"))
    roots_a, roots_b = tmp_path / "a.pem", tmp_path / "b.pem"
    roots_a.write_bytes(first.ca_certificate_pem)
    roots_b.write_bytes(second.ca_certificate_pem)
    dead = "http://127.0.0.1:9/tsr"
    with first, second:
        # Failover: the first TSA is down, the second answers.
        with _kit(
            home,
            tmp_path,
            tsa_url=dead,
            tsa_roots_path=roots_a,
            tsa_urls=(second.url,),
            tsa_roots_paths=(roots_b,),
        ) as kit:
            (item_id,) = seal_synthetic(kit, "C-failover", 1, tmp_path)
            info = kit.timestamp(item_id)
            assert info.status is ItemStatus.TIMESTAMPED
            assert info.timestamp is not None and info.timestamp.tsa_url == second.url
        # Dual: one TSA down -> one token kept, item still sealed; later the second.
        db = tmp_path / "dual"
        db.mkdir()
        with _kit(
            home,
            db,
            tsa_url=first.url,
            tsa_roots_path=roots_a,
            tsa_urls=(dead,),
            tsa_roots_paths=(roots_b,),
            tsa_dual=True,
        ) as kit:
            (item_id,) = seal_synthetic(kit, "C-dual", 1, db)
            with pytest.raises(TimestampError, match=r"1 of 2 tokens; .*127\.0\.0\.1:9"):
                kit.timestamp(item_id)
            assert kit.get_item(item_id).status is ItemStatus.SEALED
            assert len(kit.timestamps(item_id)) == 1
        with _kit(
            home,
            db,
            tsa_url=first.url,
            tsa_roots_path=roots_a,
            tsa_urls=(second.url,),
            tsa_roots_paths=(roots_b,),
            tsa_dual=True,
        ) as kit:
            assert kit.timestamp(item_id).status is ItemStatus.TIMESTAMPED
            tokens = kit.timestamps(item_id)
            assert [t.tsa_url for t in tokens] == [first.url, second.url]
            assert tokens[0].trust_root_pem != tokens[1].trust_root_pem
