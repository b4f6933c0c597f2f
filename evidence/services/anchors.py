"""Anchoring: timestamped items' manifest digests under one Merkle root, on the chain.

A batch is recorded ``pending`` before anything is sent, ``submitted`` with
its transaction hash once sent, and ``confirmed`` only together with every
item's proof, after the receipt was cross-checked against the chain. Any
failure marks it ``failed`` and leaves the items ``timestamped``: they are
batched again, and a root that did reach the chain is adopted then, never
anchored twice. :meth:`AnchorService.recheck_anchors` later settles
confirmed batches as ``final`` or re-anchors those the chain dropped.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from anchoring.anvil import LocalChain
from anchoring.chain import AlreadyAnchoredError, ChainUnreachableError, check_anchor
from evidence.model import custody as custody_log
from evidence.model.errors import AnchorError, EvidenceError, LifecycleError
from evidence.model.merkle import MerkleTree
from evidence.model.records import AnchorReceipt, CustodyAction
from evidence.model.tables import AnchorBatch, AnchorRecord, EvidenceItem, ItemStatus
from evidence.services._context import ServiceContext, acting
from evidence.services._rows import chunks
from evidence.services.acting import AnchorActor
from evidence.services.cases import item_info, item_row
from evidence.services.chains import ChainAccess
from evidence.services.checkpoints import ChainCheckpoints
from evidence.services.results import BatchInfo, ItemInfo, RecheckOutcome, RecheckResult
from reports.bundle.layout import CustodyAnchor

logger = logging.getLogger(__name__)

# The chain answered, but the anchor is not settled yet: ask again later.
_NOT_YET = re.compile(r"confirmations of 0x[0-9a-f]+, \d+ required|is not mined yet")


class AnchorService:
    checkpoint_after_batch: bool
    """Timestamp the local chain's head after each batch anchored there."""

    def __init__(
        self, context: ServiceContext, chains: ChainAccess, checkpoints: ChainCheckpoints
    ) -> None:
        self._ctx = context
        self._chains = chains
        self._checkpoints = checkpoints
        self.checkpoint_after_batch = True

    def anchor(self, item_id: str, *, officer: str = "") -> ItemInfo:
        """Anchor one timestamped item now (in a batch of its own).

        ``officer`` (an enforcement ID) is who anchors it: the custody actor of
        every anchor event here and below (none: the explicit system actor).
        """
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            if item.status is ItemStatus.ANCHORED:
                return item_info(session, item)
            if item.status is not ItemStatus.TIMESTAMPED or item.manifest_sha256 is None:
                raise LifecycleError(
                    f"item {item.id} is {item.status.value}; it is anchored after its timestamp"
                )
            item_id = item.id
        self.anchor_batch([item_id], actor=AnchorActor(officer))
        with self._ctx.session() as session:
            return item_info(session, item_row(session, item_id))

    def anchor_pending(self, *, max_items: int | None = None, officer: str = "") -> list[BatchInfo]:
        """Anchor the timestamped items still waiting, ``settings.batch_size`` per transaction.

        Oldest first, at most ``max_items`` in all (None: every waiting item). Stops
        at the first failed batch (the chain is down: the rest would fail too) and
        raises its error; batches already anchored stay anchored.
        """
        limit = max_items
        done: list[BatchInfo] = []
        while limit is None or limit > 0:
            size = self._ctx.settings.batch_size
            if limit is not None:
                size = min(size, limit)
            with self._ctx.session() as session:
                waiting = list(
                    session.exec(
                        select(EvidenceItem.id)
                        .where(EvidenceItem.status == ItemStatus.TIMESTAMPED)
                        .order_by(col(EvidenceItem.sealed_at), col(EvidenceItem.id))
                        .limit(size)
                    ).all()
                )
            if not waiting:
                break
            done.append(self.anchor_batch(waiting, actor=AnchorActor(officer)))
            if limit is not None:
                limit -= len(waiting)
        return done

    def anchor_batch(
        self,
        item_ids: Sequence[str],
        *,
        extra_leaves: Sequence[bytes] = (),
        actor: AnchorActor | None = None,
    ) -> BatchInfo:
        """Put the items' manifest digests under one Merkle root and anchor that root.

        ``extra_leaves``: leaf data placed after the items' digests, so item
        ``i`` keeps leaf index ``i``. By default the custody log's head rides
        there, so the log itself is anchored (``AnchorBatch.custody_head``).
        """
        ids, leaves = self._timestamped_leaves(item_ids)
        if not ids:
            raise ValueError("an anchor batch needs at least one item")
        batch_id = self._ctx.new_id()
        tree = self._record_pending(batch_id, leaves, extra_leaves)
        receipt, local = self._send(batch_id, tree)
        self._record_confirmed(batch_id, ids, leaves, tree, receipt, actor or AnchorActor())
        logger.info(
            "anchored %d item(s) under root %s in %s",
            len(ids),
            receipt.root,
            receipt.transaction_hash,
        )
        if local is not None and self.checkpoint_after_batch:
            try:
                self._checkpoints.timestamp_chain_head(batch_id=batch_id)
            except EvidenceError as exc:
                # The anchor stands without it; the next batch or `chain checkpoint` retries.
                logger.warning("chain checkpoint after batch %s failed: %s", batch_id, exc.message)
        return BatchInfo(
            id=batch_id,
            root=receipt.root,
            item_ids=tuple(ids),
            transaction_hash=receipt.transaction_hash,
            block_number=receipt.block_number,
            chain_id=receipt.chain_id,
        )

    def recheck_anchors(
        self, min_confirmations: int | None = None, *, officer: str = "", reason: str = ""
    ) -> list[RecheckResult]:
        """Re-read every ``confirmed`` batch from the chain once it should be settled.

        A batch with ``min_confirmations`` (default ``settings.confirmations``)
        blocks on top that still checks out becomes ``final``. One whose
        transaction is gone or whose block was replaced (a reorganisation, a
        dropped transaction, a reset chain) becomes ``failed``; in the same database
        transaction its items' anchor records are removed and the items return to
        ``timestamped`` (the batch row keeps root, transaction and block, and says
        why), and they are anchored again at once, by ``officer`` (the custody
        actor) for ``reason`` (recorded on each re-anchor event, with the batch
        dropped and why). A chain that cannot be reached stops the recheck without
        changing anything.
        """
        needed = min_confirmations or self._ctx.settings.confirmations
        with self._ctx.session() as session:
            batches = list(
                session.exec(
                    select(AnchorBatch)
                    .where(AnchorBatch.status == "confirmed")
                    .order_by(col(AnchorBatch.created_at))
                ).all()
            )
            session.expunge_all()
        if not batches:
            return []
        results: list[RecheckResult] = []
        rpc_url = self._chains.recheck_rpc_url()
        for batch in batches:
            try:
                check_anchor(
                    rpc_url,
                    chain_id=batch.chain_id or 0,
                    contract_address=batch.contract_address,
                    transaction_hash=batch.transaction_hash,
                    root=bytes.fromhex(batch.root[2:]),
                    min_confirmations=needed,
                )
            except ChainUnreachableError as exc:
                results.append(RecheckResult(batch.id, RecheckOutcome.UNREACHABLE, exc.message))
                break
            except AnchorError as exc:
                if _NOT_YET.search(exc.message):
                    results.append(RecheckResult(batch.id, RecheckOutcome.WAITING, exc.message))
                else:
                    results.append(self._reanchor_dropped(batch.id, exc.message, officer, reason))
                continue
            self._update_batch(batch.id, status="final")
            results.append(
                RecheckResult(batch.id, RecheckOutcome.FINAL, f"{needed} confirmation(s)")
            )
        return results

    # -- the steps of one batch ------------------------------------------------

    def _timestamped_leaves(self, item_ids: Sequence[str]) -> tuple[list[str], list[bytes]]:
        """The items' full ids and manifest digests; every item must be ``timestamped``."""
        with self._ctx.session() as session:
            # One query for full ids (batches of thousands); prefixes resolve one by one.
            exact = {
                row.id: row
                for chunk in chunks(list(item_ids), 500)
                for row in session.exec(
                    select(EvidenceItem).where(col(EvidenceItem.id).in_(chunk))
                ).all()
            }
            items = [exact.get(i) or item_row(session, i) for i in item_ids]
            for item in items:
                if item.status is not ItemStatus.TIMESTAMPED or item.manifest_sha256 is None:
                    raise LifecycleError(f"item {item.id} is {item.status.value}, not timestamped")
            return (
                [item.id for item in items],
                [bytes.fromhex(item.manifest_sha256 or "") for item in items],
            )

    def _record_pending(
        self, batch_id: str, leaves: list[bytes], extra_leaves: Sequence[bytes]
    ) -> MerkleTree:
        with self._ctx.session() as session:
            log_head = custody_log.head(session)
            custody_head = log_head.event_hash if log_head else ""
            if not extra_leaves and log_head is not None:
                # The custody log's head rides in every batch: the log itself is anchored.
                extra_leaves = (bytes.fromhex(custody_head),)
            tree = MerkleTree([*leaves, *extra_leaves])
            session.add(
                AnchorBatch(
                    id=batch_id,
                    root="0x" + tree.root.hex(),
                    tree_size=tree.size,
                    created_at=self._ctx.clock(),
                    status="pending",
                    custody_head=custody_head if log_head else "",
                    custody_seq=log_head.seq if log_head else 0,
                )
            )
            session.commit()
        return tree

    def _send(self, batch_id: str, tree: MerkleTree) -> tuple[AnchorReceipt, LocalChain | None]:
        """Send the root (or adopt the chain's earlier anchor of it); failures mark the batch."""
        local: LocalChain | None = None
        try:
            client, local = self._chains.client()
            try:
                sent = client.send_anchor(tree.root, reference=f"evidence-batch:{batch_id}")
            except AlreadyAnchoredError:
                # The same leaves were anchored by an earlier run that died before
                # recording it: the chain already holds this root, adopt that anchor.
                found = client.find_anchor(tree.root)
                if found is None:
                    raise
                receipt = found
            else:
                self._update_batch(
                    batch_id, status="submitted", transaction_hash=sent.transaction_hash
                )
                receipt = client.wait_anchor(sent)
            if local is not None:
                # Only call it anchored once the local node has the block on disk,
                # so a killed anvil cannot take the anchor with it.
                local.wait_persisted(receipt.block_number)
        except EvidenceError as exc:
            self._update_batch(batch_id, status="failed", error=exc.message)
            raise
        return receipt, local

    def _record_confirmed(
        self,
        batch_id: str,
        ids: list[str],
        leaves: list[bytes],
        tree: MerkleTree,
        receipt: AnchorReceipt,
        actor: AnchorActor,
    ) -> None:
        """Batch, proofs, item states and custody events, in one transaction."""
        with self._ctx.session() as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
            _confirm(batch, receipt)
            session.add(batch)
            # Core inserts, not ORM objects: a batch may hold 10,000 items.
            rows = self._anchor_rows(batch_id, ids, tree, receipt)
            for row_chunk in chunks(rows, 1000):
                session.execute(insert(AnchorRecord), row_chunk)
            for id_chunk in chunks(ids, 500):
                session.execute(
                    update(EvidenceItem)
                    .where(col(EvidenceItem.id).in_(id_chunk))
                    .values(status=ItemStatus.ANCHORED)
                )
            events = [
                custody_log.NewEvent(
                    CustodyAction.ANCHOR,
                    item_id=item_id,
                    reason=actor.reason,
                    hash_before=leaves[index].hex(),
                    hash_after=receipt.root.removeprefix("0x"),
                    details={
                        **actor.details(),
                        "batch": batch_id,
                        "leaf_index": index,
                        "transaction": receipt.transaction_hash,
                        "chain_id": receipt.chain_id,
                        "block": receipt.block_number,
                    },
                )
                for index, item_id in enumerate(ids)
            ]
            custody_log.append_many(
                session,
                events,
                at=self._ctx.clock(),
                new_id=self._ctx.new_id,
                actor=acting(actor.officer),
            )
            session.commit()

    def _anchor_rows(
        self, batch_id: str, ids: list[str], tree: MerkleTree, receipt: AnchorReceipt
    ) -> list[dict[str, Any]]:
        return [
            {
                "id": self._ctx.new_id(),
                "item_id": item_id,
                "chain_id": receipt.chain_id,
                "network_name": receipt.network_name,
                "rpc_url": receipt.rpc_url,
                "contract_address": receipt.contract_address,
                "transaction_hash": receipt.transaction_hash,
                "block_number": receipt.block_number,
                "block_hash": receipt.block_hash,
                "block_time": receipt.block_time,
                "root": receipt.root,
                "submitter": receipt.submitter,
                "reference": receipt.reference,
                "development": receipt.development,
                "batch_id": batch_id,
                "leaf_index": index,
                "tree_size": tree.size,
                "proof": json.dumps([h.hex() for h in tree.proof(index).path]),
                "superseded_by": "",
            }
            for index, item_id in enumerate(ids)
        ]

    def _update_batch(self, batch_id: str, **fields: object) -> None:
        with self._ctx.session() as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
            for name, value in fields.items():
                setattr(batch, name, value)
            session.add(batch)
            session.commit()

    # -- dropped batches -------------------------------------------------------

    def _reanchor_dropped(
        self, batch_id: str, reason: str, officer: str, why_reanchored: str
    ) -> RecheckResult:
        ids = self._unanchor_batch(batch_id, reason)
        logger.warning("batch %s dropped from the chain (%s)", batch_id, reason)
        actor = AnchorActor(officer, why_reanchored, reanchors=(batch_id, reason))
        try:
            again = self.anchor_batch(ids, actor=actor)
        except EvidenceError as retry_exc:
            return RecheckResult(
                batch_id,
                RecheckOutcome.DROPPED,
                f"{reason}; re-anchoring failed: {retry_exc.message}",
                item_ids=tuple(ids),
            )
        return RecheckResult(
            batch_id, RecheckOutcome.REANCHORED, reason, tuple(ids), new_batch_id=again.id
        )

    def _unanchor_batch(self, batch_id: str, reason: str) -> list[str]:
        """Mark a batch failed and return its items to ``timestamped``, atomically."""
        with self._ctx.session() as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
            rows = list(
                session.exec(
                    select(AnchorRecord)
                    .where(AnchorRecord.batch_id == batch_id)
                    .order_by(col(AnchorRecord.leaf_index))
                ).all()
            )
            ids = [row.item_id for row in rows]
            for row in rows:
                # Kept as a record of what happened; item_info ignores superseded rows.
                row.superseded_by = f"batch {batch_id} dropped: {reason}"
                session.add(row)
            for item_id in ids:
                item = item_row(session, item_id)
                item.status = ItemStatus.TIMESTAMPED
                session.add(item)
            batch.status = "failed"
            batch.error = (
                f"dropped after confirmation ({reason}); {len(ids)} item(s) returned to "
                "timestamped for re-anchoring"
            )
            session.add(batch)
            session.commit()
        return ids


def _confirm(batch: AnchorBatch, receipt: AnchorReceipt) -> None:
    batch.status = "confirmed"
    batch.chain_id = receipt.chain_id
    batch.network_name = receipt.network_name
    batch.rpc_url = receipt.rpc_url
    batch.contract_address = receipt.contract_address
    batch.transaction_hash = receipt.transaction_hash
    batch.block_number = receipt.block_number
    batch.block_hash = receipt.block_hash
    batch.block_time = receipt.block_time
    batch.submitter = receipt.submitter
    batch.development = receipt.development


def custody_anchor(session: Session, item_id: str) -> CustodyAnchor | None:
    """The custody head's inclusion proof in the tree that anchors ``item_id`` now.

    Recomputed from the batch's leaves in leaf order (its items' manifest
    digests, then the custody head) and given only when that tree has the
    batch's recorded root: never a wrong proof. None, with a log line saying
    why, when the item is not anchored in a batch or the tree cannot be
    reproduced (e.g. a batch given other extra leaves than the custody head).
    """
    record = session.exec(
        select(AnchorRecord).where(
            AnchorRecord.item_id == item_id, AnchorRecord.superseded_by == ""
        )
    ).first()
    if record is None or record.batch_id is None:
        return None
    try:
        batch, tree = _anchored_tree(session, record)
    except ValueError as exc:
        logger.warning("no custody proof exported for item %s: %s", item_id, exc)
        return None
    proof = tree.proof(tree.size - 1)
    return CustodyAnchor(
        event_hash=batch.custody_head,
        seq=batch.custody_seq,
        leaf_index=proof.leaf_index,
        proof=tuple(h.hex() for h in proof.path),
    )


def _anchored_tree(session: Session, record: AnchorRecord) -> tuple[AnchorBatch, MerkleTree]:
    """The record's batch and its tree rebuilt; ValueError saying why it cannot be."""
    batch = session.get(AnchorBatch, record.batch_id)
    if batch is None:
        raise ValueError(f"batch {record.batch_id} is not recorded")
    if not batch.custody_head:
        raise ValueError(f"batch {batch.id} was made without a custody head")
    if batch.root.lower() != record.root.lower():
        raise ValueError(f"batch {batch.id} has root {batch.root}, the item's anchor {record.root}")
    rows = session.exec(
        select(AnchorRecord.leaf_index, EvidenceItem.manifest_sha256)
        .join(EvidenceItem, col(EvidenceItem.id) == col(AnchorRecord.item_id))
        .where(AnchorRecord.batch_id == batch.id)
        .order_by(col(AnchorRecord.leaf_index))
    ).all()
    if [index for index, _ in rows] != list(range(len(rows))):
        raise ValueError(f"the leaf indexes of batch {batch.id} are not 0, 1, 2, ...")
    digests = [digest for _, digest in rows if digest is not None]
    if len(digests) != len(rows):
        raise ValueError(f"an item of batch {batch.id} has no manifest digest")
    tree = MerkleTree([*map(bytes.fromhex, digests), bytes.fromhex(batch.custody_head)])
    if tree.size != batch.tree_size or "0x" + tree.root.hex() != batch.root.lower():
        raise ValueError(
            f"the leaves of batch {batch.id} give root 0x{tree.root.hex()} over {tree.size} "
            f"leaves, not the anchored {batch.root} over {batch.tree_size} (other extra leaves)"
        )
    return batch, tree
