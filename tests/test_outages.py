"""Nothing is lost when the TSA, the chain or both are down, or the chain dies mid-batch."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import Session, select

from anchoring.anvil import LocalChain, find_anvil
from anchoring.chain import ChainClient, SentAnchor
from anchoring.tsa import RetryPolicy
from evidence.model.config import Settings
from evidence.model.errors import AnchorError, ConfigurationError
from evidence.model.tables import AnchorBatch, AnchorRecord, ItemStatus
from evidence.services.toolkit import Toolkit
from tests.anchoring_support import seal_synthetic
from tests.conftest import require, require_tool

DEAD_TSA = "http://127.0.0.1:9/tsr"
DEAD_RPC = "http://127.0.0.1:9"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    require_tool("openssl")
    try:
        find_anvil()
    except ConfigurationError as exc:
        require(False, exc.message)
    yield tmp_path
    LocalChain(tmp_path).stop()


def _kit(home: Path, **changes: object) -> Toolkit:
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    kit = Toolkit(replace(settings, **changes))  # type: ignore[arg-type]
    kit.tsa_retry = RetryPolicy(attempts=2, backoff_s=0.01)
    return kit


def _assert_anchored_once(kit: Toolkit, ids: list[str]) -> None:
    with Session(kit.engine) as session:
        for item_id in ids:
            rows = session.exec(select(AnchorRecord).where(AnchorRecord.item_id == item_id)).all()
            assert len(rows) == 1, f"{item_id} has {len(rows)} anchor records"
            batch = session.get(AnchorBatch, rows[0].batch_id)
            assert batch is not None and batch.status == "confirmed" and batch.transaction_hash
        for batch in session.exec(select(AnchorBatch)).all():
            if batch.status == "confirmed":
                assert batch.block_hash and batch.block_number  # never confirmed without receipt
    for item_id in ids:
        assert kit.get_item(item_id).status is ItemStatus.ANCHORED


def _roots(home: Path) -> Path:
    from anchoring.devtsa import DevelopmentTSA

    path = home / "dev-roots.pem"
    path.write_bytes(DevelopmentTSA(home).ca_certificate_pem)
    return path


@pytest.mark.parametrize("down", ["tsa", "chain", "both"])
def test_outage_keeps_items_sealed_and_complete_finishes_them(home: Path, down: str) -> None:
    changes: dict[str, object] = {}
    if down in ("tsa", "both"):
        changes.update(tsa_url=DEAD_TSA, tsa_roots_path=_roots(home))
    if down in ("chain", "both"):
        changes.update(rpc_url=DEAD_RPC, chain_private_key="0x" + "11" * 32)
    with _kit(home, **changes) as kit:
        ids = seal_synthetic(kit, "C-outage", 3, home)
        results = kit.complete_pending()
        assert all(r.pending for r in results)
        expected = ItemStatus.SEALED if down in ("tsa", "both") else ItemStatus.TIMESTAMPED
        assert {kit.get_item(i).status for i in ids} == {expected}
        first = results[0].pending[0]
        assert ("127.0.0.1:9" in first) and "\n" not in first
    with _kit(home) as kit:  # services back
        results = kit.complete_pending()
        assert [r.pending for r in results] == [(), (), ()]
        _assert_anchored_once(kit, ids)


def test_chain_dies_between_send_and_receipt(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _kit(home) as kit:
        kit.checkpoint_after_batch = False
        ids = seal_synthetic(kit, "C-midbatch", 4, home)
        for item_id in ids:
            kit.timestamp(item_id)
        kit.deploy_registry()
        chain = LocalChain(home)
        chain.wait_persisted(1)
        real_send = ChainClient.send_anchor

        def send_then_die(self: ChainClient, root: bytes, reference: str = "") -> SentAnchor:
            sent = real_send(self, root, reference)
            pid = chain.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)  # the node goes away with the tx in flight
            return sent

        monkeypatch.setattr(ChainClient, "send_anchor", send_then_die)
        with pytest.raises(AnchorError, match="could not reach the chain") as caught:
            kit.anchor_pending()
        assert "\n" not in caught.value.message
        with Session(kit.engine) as session:
            (batch,) = session.exec(select(AnchorBatch)).all()
            assert batch.status == "failed" and batch.transaction_hash  # sent, never confirmed
            assert session.exec(select(AnchorRecord)).all() == []
        assert {kit.get_item(i).status for i in ids} == {ItemStatus.TIMESTAMPED}
        monkeypatch.undo()
        # Recovery: the node restarts from its state; whether or not the tx survived,
        # every item ends anchored exactly once.
        kit.chains.forget_local_chain()
        batches = kit.anchor_pending()
        assert len(batches) == 1
        _assert_anchored_once(kit, ids)


def test_lying_receipt_is_not_recorded_as_confirmed(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web3.eth import Eth

    with _kit(home) as kit:
        kit.checkpoint_after_batch = False
        ids = seal_synthetic(kit, "C-liar", 2, home)
        for item_id in ids:
            kit.timestamp(item_id)
        real = Eth.wait_for_transaction_receipt

        def lying(self: Eth, *args: object, **kwargs: object) -> object:
            receipt = dict(real(self, *args, **kwargs))  # type: ignore[arg-type]
            receipt["blockHash"] = bytes(32)  # a block the chain never had
            return receipt

        monkeypatch.setattr(Eth, "wait_for_transaction_receipt", lying)
        with pytest.raises(AnchorError, match="disagrees with the chain"):
            kit.anchor_pending()
        monkeypatch.undo()
        assert {kit.get_item(i).status for i in ids} == {ItemStatus.TIMESTAMPED}
        kit.anchor_pending()  # the root did land: adopted via AlreadyAnchored, not re-sent
        _assert_anchored_once(kit, ids)
