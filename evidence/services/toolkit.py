"""The public facade: one object a case system or the CLI drives.

It composes the stages in their one direction — capture, seal, timestamp,
anchor, report/bundle, verify — and owns the database and the artifact store.
A stage that depends on an outside service (the TSA, the chain) never undoes
an earlier stage: a sealed item whose TSA or chain is down stays sealed and
is completed later with :meth:`Toolkit.complete`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
import urllib.parse
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import capture
from anchoring.anvil import LocalChain, NodeRecord
from anchoring.chain import (
    AlreadyAnchoredError,
    ChainClient,
    ChainUnreachableError,
    NodeAccount,
    Signer,
    chain_head,
    check_anchor,
    load_keystore,
    recorded_registry,
)
from anchoring.devtsa import DevelopmentTSA
from anchoring.tsa import RetryPolicy, TSAConfig, request_timestamps
from anchoring.tsa_presets import preset_config
from evidence.model import custody as custody_log
from evidence.model import officer_keys
from evidence.model.config import Settings
from evidence.model.custody import LogVerification
from evidence.model.db import as_utc, open_engine
from evidence.model.errors import (
    AnchorError,
    CertificateError,
    ConfigurationError,
    EvidenceError,
    LifecycleError,
    NotFoundError,
    TimestampError,
)
from evidence.model.manifest import (
    ARTIFACT_DIR,
    Manifest,
    ManifestEntry,
    canonical_json,
    capture_from_json,
    capture_to_json,
)
from evidence.model.merkle import MerkleTree
from evidence.model.records import (
    AnchorCheck,
    AnchorReceipt,
    CaptureOptions,
    CaptureRecord,
    CaptureStep,
    Clock,
    CustodyLine,
    ExhibitRow,
    IdFactory,
    OfficerInfo,
    ReportInput,
    ReportSigner,
    SignatureInfo,
    SignerInfo,
    TimestampToken,
    isoformat,
    random_id,
    system_clock,
)
from evidence.model.signatures import sign_manifest, verify_manifest_signature
from evidence.model.store import ArtifactStore
from evidence.model.tables import (
    Agency,
    AnchorBatch,
    AnchorRecord,
    Artifact,
    Case,
    CaseOfficer,
    ChainCheckpoint,
    CustodyEvent,
    EvidenceItem,
    ItemStatus,
    ManifestSignature,
    Officer,
    TimestampRecord,
)
from evidence.model.version import __version__, dependency_versions
from evidence.services import maintenance as _maintenance
from evidence.services.maintenance import DoctorReport
from evidence.verification.verifier import VerificationReport, VerifyOptions, run_verification
from reports.bundle import layout as bf
from reports.bundle.wacz import WaczInput, WaczPage, write_wacz
from reports.bundle.writer import CaseBundleInput, write_bundle, write_case_bundle
from reports.case_report import CaseReportInput, CaseReportItem, render_case_report
from reports.pdf import render_report
from reports.signing import sign_pdf

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class CaseInfo:
    id: str
    number: str
    title: str
    cause: str
    agency: str
    officers: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ItemInfo:
    id: str
    case_number: str
    status: ItemStatus
    requested_url: str
    final_url: str
    page_title: str
    created_at: datetime
    sealed_at: datetime | None
    manifest_sha256: str | None
    manifest_sm3: str | None
    timestamp: TimestampToken | None
    anchor: AnchorReceipt | None
    error: str


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """One anchoring transaction and the items whose digests it carries."""

    id: str
    root: str
    item_ids: tuple[str, ...]
    transaction_hash: str
    block_number: int
    chain_id: int


@dataclass(frozen=True, slots=True)
class CompletionResult:
    """What :meth:`Toolkit.complete` achieved for one item, and what is still owed."""

    item: ItemInfo
    pending: tuple[str, ...]
    """One line per stage that could not be done now (e.g. the TSA was unreachable)."""


@dataclass(frozen=True, slots=True)
class BatchCaptureResult:
    """The outcome for one URL of :meth:`Toolkit.capture_many`."""

    url: str
    item: ItemInfo | None
    error: str | None = None
    skipped: bool = False
    """True when an earlier run already sealed this URL (resumed batch)."""


class Toolkit:
    """Cases, captures and their evidence, on one data directory and database.

    ``clock`` and ``new_id`` are injected so tests can reproduce manifests,
    reports and bundles byte for byte. Use it as a context manager, or call
    :meth:`close`, to stop the development TSA it may have started.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock = system_clock,
        new_id: IdFactory = random_id,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.clock = clock
        self.new_id = new_id
        self.engine: Engine = open_engine(self.settings.database_url)
        self.store = ArtifactStore(self.settings.store_dir)
        self._devtsa: DevelopmentTSA | None = None
        self._local_chain: LocalChain | None = None

    def __enter__(self) -> Toolkit:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._devtsa is not None:
            self._devtsa.stop()
            self._devtsa = None
        self.engine.dispose()

    # -- cases --------------------------------------------------------------

    def create_case(
        self,
        number: str,
        title: str,
        *,
        cause: str = "",
        agency: str = "",
        officers: Sequence[str] = (),
        exist_ok: bool = False,
    ) -> CaseInfo:
        number = number.strip()
        if not number:
            raise ValueError("a case needs a case number")
        with Session(self.engine) as session:
            existing = session.exec(select(Case).where(Case.number == number)).first()
            if existing is not None:
                if exist_ok:
                    return _case_info(existing)
                raise EvidenceError(f"case {number} already exists")
            case = Case(
                id=self.new_id(),
                number=number,
                title=title,
                cause=cause,
                agency=agency,
                officers="\n".join(o.strip() for o in officers if o.strip()),
                created_at=self.clock(),
            )
            session.add(case)
            session.flush()
            self._custody(session, "case.create", case_id=case.id,
                          details={"number": number, "title": title, "cause": cause})
            session.commit()
            session.refresh(case)
            return _case_info(case)

    def get_case(self, number: str) -> CaseInfo:
        with Session(self.engine) as session:
            return _case_info(self._case(session, number))

    def list_cases(self) -> list[CaseInfo]:
        with Session(self.engine) as session:
            cases = session.exec(select(Case).order_by(col(Case.created_at))).all()
            return [_case_info(c) for c in cases]

    # -- items --------------------------------------------------------------

    def get_item(self, item_id: str) -> ItemInfo:
        with Session(self.engine) as session:
            return self._item_info(session, self._item(session, item_id))

    def list_items(self, case_number: str | None = None) -> list[ItemInfo]:
        with Session(self.engine) as session:
            query = select(EvidenceItem).order_by(col(EvidenceItem.created_at))
            if case_number is not None:
                query = query.where(EvidenceItem.case_id == self._case(session, case_number).id)
            return [self._item_info(session, item) for item in session.exec(query).all()]

    def pending_items(self) -> list[ItemInfo]:
        """Sealed items still owed a timestamp or an anchor."""
        return [
            item
            for item in self.list_items()
            if item.status in (ItemStatus.SEALED, ItemStatus.TIMESTAMPED)
        ]

    # -- capture and seal ----------------------------------------------------

    def capture(
        self, case_number: str, url: str, options: CaptureOptions | None = None
    ) -> ItemInfo:
        """Capture ``url`` in a real browser and seal the result into the store.

        The item is recorded as ``capturing`` before the browser starts; if the
        capture fails it becomes ``failed`` with its working files kept.
        """
        url = capture.validate_url(url)
        options = options or CaptureOptions()
        options = replace(
            options,
            chromium_path=options.chromium_path or self.settings.chromium_path,
            operator=options.operator or self.settings.operator,
            software_version=__version__,
            allow_private_targets=(
                options.allow_private_targets or self.settings.allow_private_targets
            ),
            allowed_private_hosts=(
                *options.allowed_private_hosts,
                *self.settings.allowed_private_hosts,
            ),
        )
        # Refused before an item exists: a refused URL is bad input, not a failed capture.
        capture.check_target(
            url,
            allow_private=options.allow_private_targets,
            allowed_hosts=options.allowed_private_hosts,
        )
        with Session(self.engine) as session:
            case = self._case(session, case_number)
            item = EvidenceItem(
                id=self.new_id(),
                case_id=case.id,
                requested_url=url,
                created_at=self.clock(),
            )
            session.add(item)
            session.flush()
            self._custody(session, "capture.start", item_id=item.id, case_id=case.id,
                          details={"url": url, "device": options.device or "desktop"})
            session.commit()
            item_id = item.id
        workdir = self.settings.work_dir / item_id
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            record = capture.capture_page(
                url, workdir, options, clock=self.clock, id_factory=self.new_id
            )
        except EvidenceError as exc:
            self._mark_failed(item_id, exc.message)
            raise
        except Exception as exc:
            self._mark_failed(item_id, f"{exc.__class__.__name__}: {exc}")
            raise
        return self._seal(item_id, case_number, record)

    @staticmethod
    def load_steps(path: Path) -> tuple[CaptureStep, ...]:
        """Read a navigation steps file (JSON or TOML); :class:`StepsFileError` if malformed."""
        return capture.load_steps(path)

    def capture_many(
        self,
        case_number: str,
        urls: Sequence[str],
        options: CaptureOptions | None = None,
        *,
        jobs: int = 2,
        on_result: Callable[[BatchCaptureResult], None] | None = None,
        state_path: Path | None = None,
    ) -> list[BatchCaptureResult]:
        """Capture each URL as its own evidence item, ``jobs`` browsers at a time.

        A failing URL is reported in its result and does not stop the batch.
        With ``state_path`` (a JSON-lines file) every sealed URL is written
        there as soon as it is sealed, and a re-run skips the URLs listed there
        whose item is still sealed (or further along), so an interrupted batch
        resumes where it stopped. Results come back in the order of ``urls``;
        ``on_result`` is called as each one finishes.
        """
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.get_case(case_number)  # an unknown case fails before any browser starts
        done = _read_batch_state(state_path)
        lock = threading.Lock()

        def one(url: str) -> BatchCaptureResult:
            key = url.strip()
            earlier = done.get(key)
            if earlier is not None:
                try:
                    info = self.get_item(earlier)
                except NotFoundError:
                    info = None
                if info is not None and info.status not in (
                    ItemStatus.CAPTURING,
                    ItemStatus.FAILED,
                ):
                    return BatchCaptureResult(key, info, skipped=True)
            try:
                info = self.capture(case_number, key, options)
            except EvidenceError as exc:
                return BatchCaptureResult(key, None, exc.message)
            except Exception as exc:  # one URL's bug must not end the batch
                logger.exception("capture of %s failed unexpectedly", key)
                return BatchCaptureResult(key, None, f"{exc.__class__.__name__}: {exc}")
            if state_path is not None:
                with lock:
                    _append_batch_state(state_path, key, info.id)
            return BatchCaptureResult(key, info)

        todo: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        for n, url in enumerate(urls):
            todo.put((n, url))
        finished: queue.SimpleQueue[tuple[int, BatchCaptureResult | BaseException]] = (
            queue.SimpleQueue()
        )
        stop = threading.Event()

        def worker() -> None:
            # One Playwright driver per worker thread; each URL still gets its
            # own fresh browser.
            with capture.shared_driver():
                while not stop.is_set():
                    try:
                        n, url = todo.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        finished.put((n, one(url)))
                    except BaseException as exc:  # handed to the caller's thread
                        finished.put((n, exc))

        workers = [
            threading.Thread(target=worker, name=f"capture-{i}", daemon=True)
            for i in range(min(jobs, len(urls)))
        ]
        results: list[BatchCaptureResult | None] = [None] * len(urls)
        try:
            for thread in workers:
                thread.start()
            for _ in urls:
                while True:
                    try:  # a timeout, so Ctrl-C is seen while captures run
                        n, outcome = finished.get(timeout=0.5)
                        break
                    except queue.Empty:
                        continue
                if isinstance(outcome, BaseException):
                    raise outcome
                results[n] = outcome
                if on_result is not None:
                    on_result(outcome)
        except BaseException:
            # Interrupted: finish the captures in progress (bounded by their
            # total timeout), start no new ones; the state file has the rest.
            stop.set()
            for thread in workers:
                thread.join()
            raise
        for thread in workers:
            thread.join()
        return [r for r in results if r is not None]

    def _seal(self, item_id: str, case_number: str, record: CaptureRecord) -> ItemInfo:
        entries: list[ManifestEntry] = []
        for file in record.files:
            digests = self.store.put_file(file.path)
            entries.append(
                ManifestEntry(
                    path=f"{ARTIFACT_DIR}/{file.name}",
                    role=file.role,
                    media_type=file.media_type,
                    size=digests.size,
                    sha256=digests.sha256,
                    sm3=digests.sm3,
                )
            )
        sealed_at = self.clock()
        with Session(self.engine) as session:
            case = self._case(session, case_number)
            capture_json = capture_to_json(record)
            manifest = Manifest(
                item_id=item_id,
                case_number=case.number,
                case_title=case.title,
                sealed_at=isoformat(sealed_at),
                capture=capture_json,
                artifacts=tuple(entries),
                tool={
                    "name": "evidence-toolkit",
                    "version": __version__,
                    "dependencies": dependency_versions(),
                },
                case_cause=case.cause,
                agency=case.agency,
                officers=tuple(o for o in case.officers.splitlines() if o),
            )
            manifest_bytes = manifest.to_bytes()
            digests = self.store.put_bytes(manifest_bytes)
            item = self._item(session, item_id)
            for entry in entries:
                session.add(
                    Artifact(
                        id=self.new_id(),
                        item_id=item_id,
                        name=entry.path,
                        role=entry.role,
                        media_type=entry.media_type,
                        size=entry.size,
                        sha256=entry.sha256,
                        sm3=entry.sm3,
                    )
                )
            item.status = ItemStatus.SEALED
            item.final_url = record.final_url
            item.page_title = record.page_title
            item.sealed_at = sealed_at
            item.manifest_sha256 = digests.sha256
            item.manifest_sm3 = digests.sm3
            item.capture_json = canonical_json(capture_json).decode("utf-8")
            session.add(item)
            self._custody(
                session, "seal", item_id=item_id, case_id=item.case_id,
                hash_after=digests.sha256,
                details={"artifacts": len(entries), "manifest_sm3": digests.sm3,
                         "final_url": record.final_url},
            )
            # Artifacts, manifest, status and its custody event land in one transaction, after the
            # bytes are durable in the store: "sealed" is never half true.
            session.commit()
            info = self._item_info(session, item)
        shutil.rmtree(self.settings.work_dir / item_id, ignore_errors=True)
        logger.info("sealed item %s, manifest %s", item_id, digests.sha256)
        return info

    def _mark_failed(self, item_id: str, reason: str) -> None:
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            item.status = ItemStatus.FAILED
            item.error = reason
            session.add(item)
            self._custody(session, "capture.fail", item_id=item.id, case_id=item.case_id,
                          reason=reason)
            session.commit()

    # -- timestamp ---------------------------------------------------------

    tsa_retry: RetryPolicy = RetryPolicy()
    """Tries per TSA and back-off (tests and callers may replace it)."""

    def timestamp(self, item_id: str) -> ItemInfo:
        """Obtain and verify RFC 3161 token(s) over the item's manifest digest.

        The configured TSAs are tried in order, each with retries and back-off
        (failover). With ``settings.tsa_dual`` the item needs tokens from two
        independent TSAs. Every token obtained is stored at once, so a partial
        success is kept and a later call only asks for what is still missing;
        the item becomes ``timestamped`` when it holds enough tokens.
        """
        needed = 2 if self.settings.tsa_dual else 1
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            if item.status is ItemStatus.TIMESTAMPED or item.status is ItemStatus.ANCHORED:
                return self._item_info(session, item)
            if item.status is not ItemStatus.SEALED or item.manifest_sha256 is None:
                raise LifecycleError(f"item {item.id} is {item.status.value}, not sealed")
            digest = bytes.fromhex(item.manifest_sha256)
            item_id = item.id
            held = [
                row.tsa_certificate_pem
                for row in session.exec(
                    select(TimestampRecord).where(TimestampRecord.item_id == item_id)
                ).all()
            ]
        failures: tuple[str, ...] = ()
        tokens: tuple[TimestampToken, ...] = ()
        if len(held) < needed:
            attempts = request_timestamps(
                digest,
                self._tsa_configs(),
                needed=needed - len(held),
                retry=self.tsa_retry,
                exclude_signers={_first_certificate_der(pem) for pem in held},
            )
            tokens, failures = attempts.tokens, attempts.failures
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            for token in tokens:
                session.add(_timestamp_row(self.new_id(), item_id, token))
                self._custody(
                    session, "timestamp", item_id=item_id, case_id=item.case_id,
                    hash_before=item.manifest_sha256 or "",
                    hash_after=hashlib.sha256(token.token_der).hexdigest(),
                    details={"tsa": token.tsa_url, "gen_time": isoformat(token.gen_time),
                             "serial": str(token.serial_number),
                             "development": token.development},
                )
            total = len(held) + len(tokens)
            if total >= needed:
                item.status = ItemStatus.TIMESTAMPED
                session.add(item)
            session.commit()
            info = self._item_info(session, item)
        if total < needed:
            got = f"{total} of {needed} tokens; " if needed > 1 else ""
            raise TimestampError(f"no timestamp: {got}{'; '.join(failures)}")
        return info

    def timestamps(self, item_id: str) -> list[TimestampToken]:
        """Every token held for the item (two with ``tsa_dual``), oldest first."""
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            rows = session.exec(
                select(TimestampRecord)
                .where(TimestampRecord.item_id == item.id)
                .order_by(col(TimestampRecord.gen_time))
            ).all()
            return [_token(row) for row in rows]

    def _tsa_config(self) -> TSAConfig:
        """The first configured TSA (the development TSA when none is configured)."""
        return self._tsa_configs()[0]

    def _tsa_configs(self) -> list[TSAConfig]:
        """The configured TSAs in failover order, else the development TSA."""
        entries: list[tuple[str, Path | None]] = []
        if self.settings.tsa_url:
            entries.append((self.settings.tsa_url, self.settings.tsa_roots_path))
        entries += list(zip(self.settings.tsa_urls, self.settings.tsa_roots_paths, strict=False))
        if entries:
            return [_tsa_entry(url, roots) for url, roots in entries]
        if self._devtsa is None:
            devtsa = DevelopmentTSA(self.settings.home)
            devtsa.start()
            self._devtsa = devtsa
        return [self._devtsa.config()]

    # -- anchor ------------------------------------------------------------

    def anchor(self, item_id: str) -> ItemInfo:
        """Anchor one timestamped item now (in a batch of its own)."""
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            if item.status is ItemStatus.ANCHORED:
                return self._item_info(session, item)
            if item.status is not ItemStatus.TIMESTAMPED or item.manifest_sha256 is None:
                raise LifecycleError(
                    f"item {item.id} is {item.status.value}; it is anchored after its timestamp"
                )
            item_id = item.id
        self.anchor_batch([item_id])
        return self.get_item(item_id)

    def anchor_pending(self, *, max_items: int | None = None) -> list[BatchInfo]:
        """Anchor the timestamped items still waiting, ``settings.batch_size`` per transaction.

        Oldest first, at most ``max_items`` in all (None: every waiting item). Stops
        at the first failed batch (the chain is down: the rest would fail too) and
        raises its error; batches already anchored stay anchored.
        """
        limit = max_items
        done: list[BatchInfo] = []
        while limit is None or limit > 0:
            size = self.settings.batch_size
            if limit is not None:
                size = min(size, limit)
            with Session(self.engine) as session:
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
            done.append(self.anchor_batch(waiting))
            if limit is not None:
                limit -= len(waiting)
        return done

    def anchor_batch(
        self, item_ids: Sequence[str], *, extra_leaves: Sequence[bytes] = ()
    ) -> BatchInfo:
        """Put the items' manifest digests under one Merkle root and anchor that root.

        The batch is recorded ``pending`` before anything is sent, ``submitted``
        with its transaction hash once sent, and ``confirmed`` only together with
        every item's proof, after the receipt was cross-checked against the chain.
        Any failure marks it ``failed`` and leaves the items ``timestamped``: they
        are batched again, and a root that did reach the chain is adopted then
        (``AlreadyAnchored`` → :meth:`ChainClient.find_anchor`), never anchored twice.

        ``extra_leaves``: HOOK for the custody log (issue 5 §5). Leaf data placed
        after the items' digests (e.g. the custody-log head), so item ``i`` keeps
        leaf index ``i``. The caller records what they are (``AnchorBatch.custody_head``).
        """
        with Session(self.engine) as session:
            # One query for full ids (batches of thousands); prefixes resolve one by one.
            exact = {
                row.id: row
                for chunk in _chunks(list(item_ids), 500)
                for row in session.exec(
                    select(EvidenceItem).where(col(EvidenceItem.id).in_(chunk))
                ).all()
            }
            items = [exact.get(i) or self._item(session, i) for i in item_ids]
            for item in items:
                if item.status is not ItemStatus.TIMESTAMPED or item.manifest_sha256 is None:
                    raise LifecycleError(f"item {item.id} is {item.status.value}, not timestamped")
            ids = [item.id for item in items]
            leaves = [bytes.fromhex(item.manifest_sha256 or "") for item in items]
        if not ids:
            raise ValueError("an anchor batch needs at least one item")
        batch_id = self.new_id()
        with Session(self.engine) as session:
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
                    created_at=self.clock(),
                    status="pending",
                    custody_head=custody_head if log_head else "",
                    custody_seq=log_head.seq if log_head else 0,
                )
            )
            session.commit()
        local: LocalChain | None = None
        try:
            client, local = self._chain_client()
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
        with Session(self.engine) as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
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
            session.add(batch)
            # Core inserts, not ORM objects: a batch may hold 10,000 items.
            rows = [
                {
                    "id": self.new_id(),
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
            for row_chunk in _chunks(rows, 1000):
                session.execute(insert(AnchorRecord), row_chunk)
            for id_chunk in _chunks(ids, 500):
                session.execute(
                    update(EvidenceItem)
                    .where(col(EvidenceItem.id).in_(id_chunk))
                    .values(status=ItemStatus.ANCHORED)
                )
            custody_log.append_many(
                session,
                [
                    custody_log.NewEvent(
                        "anchor", item_id=item_id, hash_before=leaves[index].hex(),
                        hash_after=receipt.root.removeprefix("0x"),
                        details={"batch": batch_id, "leaf_index": index,
                                 "transaction": receipt.transaction_hash,
                                 "chain_id": receipt.chain_id,
                                 "block": receipt.block_number},
                    )
                    for index, item_id in enumerate(ids)
                ],
                at=self.clock(), new_id=self.new_id, actor=self.actor,
            )
            session.commit()
        logger.info(
            "anchored %d item(s) under root %s in %s",
            len(ids),
            receipt.root,
            receipt.transaction_hash,
        )
        if local is not None and self.checkpoint_after_batch:
            try:
                self.timestamp_chain_head(batch_id=batch_id)
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

    checkpoint_after_batch: bool = True
    """Timestamp the local chain's head after each batch anchored there."""

    def _update_batch(self, batch_id: str, **fields: object) -> None:
        with Session(self.engine) as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
            for name, value in fields.items():
                setattr(batch, name, value)
            session.add(batch)
            session.commit()

    def recheck_anchors(self, min_confirmations: int | None = None) -> list[RecheckResult]:
        """Re-read every ``confirmed`` batch from the chain once it should be settled.

        A batch with ``min_confirmations`` (default ``settings.confirmations``)
        blocks on top that still checks out becomes ``final``. One whose
        transaction is gone or whose block was replaced (a reorganisation, a
        dropped transaction, a reset chain) becomes ``failed``; in the same database
        transaction its items' anchor records are removed and the items return to
        ``timestamped`` (the batch row keeps root, transaction and block, and says
        why), and they are anchored again at once. A chain that cannot be reached
        stops the recheck without changing anything.
        """
        needed = min_confirmations or self.settings.confirmations
        with Session(self.engine) as session:
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
        rpc_url = self.settings.rpc_url or self.local_chain_rpc_url()
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
                results.append(RecheckResult(batch.id, "unreachable", exc.message))
                break
            except AnchorError as exc:
                if _NOT_YET.search(exc.message):
                    results.append(RecheckResult(batch.id, "waiting", exc.message))
                    continue
                ids = self._unanchor_batch(batch.id, exc.message)
                logger.warning("batch %s dropped from the chain (%s)", batch.id, exc.message)
                try:
                    again = self.anchor_batch(ids)
                except EvidenceError as retry_exc:
                    results.append(
                        RecheckResult(
                            batch.id,
                            "dropped",
                            f"{exc.message}; re-anchoring failed: {retry_exc.message}",
                            item_ids=tuple(ids),
                        )
                    )
                    continue
                results.append(
                    RecheckResult(
                        batch.id, "reanchored", exc.message, tuple(ids), new_batch_id=again.id
                    )
                )
                continue
            self._update_batch(batch.id, status="final")
            results.append(RecheckResult(batch.id, "final", f"{needed} confirmation(s)"))
        return results

    def _unanchor_batch(self, batch_id: str, reason: str) -> list[str]:
        """Mark a batch failed and return its items to ``timestamped``, atomically."""
        with Session(self.engine) as session:
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
                # Kept as a record of what happened; _item_info ignores superseded rows.
                row.superseded_by = f"batch {batch_id} dropped: {reason}"
                session.add(row)
            for item_id in ids:
                item = self._item(session, item_id)
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

    def timestamp_chain_head(self, *, batch_id: str | None = None) -> CheckpointInfo:
        """Timestamp the chain's latest block hash with the TSA and keep the token.

        Anchors the anchor: a chain witnessed only by its own nodes gets its
        history fixed in time by a third party. The token's imprint is the
        SHA-256 of a canonical JSON statement naming chain id, block number and
        block hash, stored beside the token.
        """
        client, _local = self._chain_client()
        number, block_hash, block_time = client.head()
        statement = canonical_json(
            {
                "type": "evidence-toolkit chain checkpoint",
                "chain_id": client.chain_id,
                "network_name": client.network_name,
                "block_number": number,
                "block_hash": block_hash,
            }
        )
        digest = hashlib.sha256(statement).digest()
        attempts = request_timestamps(digest, self._tsa_configs(), retry=self.tsa_retry)
        if not attempts.tokens:
            raise TimestampError(f"no checkpoint token: {'; '.join(attempts.failures)}")
        token = attempts.tokens[0]
        checkpoint_id = self.new_id()
        with Session(self.engine) as session:
            session.add(
                ChainCheckpoint(
                    id=checkpoint_id,
                    created_at=self.clock(),
                    chain_id=client.chain_id,
                    network_name=client.network_name,
                    rpc_url=client.rpc_url,
                    block_number=number,
                    block_hash=block_hash,
                    block_time=block_time,
                    statement=statement.decode("utf-8"),
                    batch_id=batch_id,
                    **_token_columns(token, with_hash_algorithm=False),
                )
            )
            session.commit()
        logger.info("chain %d block %d (%s) timestamped", client.chain_id, number, block_hash)
        return CheckpointInfo(
            id=checkpoint_id,
            chain_id=client.chain_id,
            block_number=number,
            block_hash=block_hash,
            statement=statement.decode("utf-8"),
            token=token,
        )

    def _chain_signer(self) -> Signer:
        settings = self.settings
        if settings.chain_from:
            return NodeAccount(settings.chain_from)
        if settings.chain_keystore_path is not None:
            if settings.chain_keystore_password is None:
                raise ConfigurationError(
                    "a chain keystore is configured without its passphrase "
                    "(set EVIDENCE_CHAIN_KEYSTORE_PASSWORD)"
                )
            return load_keystore(settings.chain_keystore_path, settings.chain_keystore_password)
        if settings.chain_private_key:
            return settings.chain_private_key
        raise ConfigurationError(
            "an RPC URL is configured without a submitter: set EVIDENCE_CHAIN_KEYSTORE "
            "(+ _PASSWORD), EVIDENCE_CHAIN_FROM or EVIDENCE_CHAIN_PRIVATE_KEY"
        )

    def _chain_client(self, *, deploy: bool = False) -> tuple[ChainClient, LocalChain | None]:
        settings = self.settings
        if settings.rpc_url:
            client = ChainClient.connect(
                settings.rpc_url, self._chain_signer(), expected_chain_id=settings.chain_id
            )
            if settings.registry_address:
                client.use_registry(settings.registry_address)
            elif deploy:
                client.ensure_registry(settings.home)
            else:
                # Never deploy on a real network unasked: only a recorded registry is used.
                client.ensure_registry(settings.home, deploy=False)
            return client, None
        if self._local_chain is None:
            self._local_chain = LocalChain(settings.home)
        local = self._local_chain
        rpc_url = local.ensure_running()
        client = ChainClient.connect(
            rpc_url, local.private_key, development=True, network_name=local.network_name
        )
        if settings.registry_address:
            client.use_registry(settings.registry_address)
        else:
            client.ensure_registry(settings.home)
        return client, local

    def deploy_registry(self) -> str:
        """Deploy (or find the recorded) EvidenceRegistry on the configured chain."""
        client, _local = self._chain_client(deploy=True)
        assert client.contract_address is not None
        return client.contract_address

    def authorize_submitter(self, address: str) -> str:
        """Let ``address`` anchor into the registry (the owner's key must be configured)."""
        client, _local = self._chain_client()
        return client.authorize(address)

    def chain_status(self) -> ChainStatus:
        """The configured chain: reachable?, RPC URL, chain id, head, registry, local state."""
        settings = self.settings
        local = None if settings.rpc_url else LocalChain(settings.home)
        rpc_url = settings.rpc_url
        pid: int | None = None
        state_size: int | None = None
        if local is not None:
            pid = local.pid
            record = NodeRecord.load(local.record_path)
            rpc_url = record.rpc_url if record is not None and pid is not None else None
            with contextlib.suppress(OSError):
                state_size = local.state_path.stat().st_size
        chain_id = block = None
        registry = settings.registry_address
        running = False
        if rpc_url:
            try:
                chain_id, block, genesis = chain_head(rpc_url)
                running = True
                registry = registry or recorded_registry(settings.home, chain_id, genesis)
            except ChainUnreachableError:
                running = False
        return ChainStatus(
            local=local is not None,
            running=running,
            rpc_url=rpc_url,
            chain_id=chain_id,
            block_number=block,
            registry_address=registry,
            pid=pid,
            state_file_bytes=state_size,
        )

    def local_chain_rpc_url(self) -> str:
        """Start (if needed) the embedded anvil node and return its RPC URL."""
        if self._local_chain is None:
            self._local_chain = LocalChain(self.settings.home)
        return self._local_chain.ensure_running()

    def stop_local_chain(self) -> None:
        LocalChain(self.settings.home).stop()

    # -- completing --------------------------------------------------------

    def complete(self, item_id: str) -> CompletionResult:
        """Do whatever the item still owes (timestamp, anchor), tolerating outages."""
        pending: list[str] = []
        info = self.get_item(item_id)
        if info.status is ItemStatus.SEALED:
            try:
                info = self.timestamp(item_id)
            except EvidenceError as exc:
                pending.append(f"timestamp: {exc.message}")
        if info.status is ItemStatus.TIMESTAMPED:
            try:
                info = self.anchor(item_id)
            except EvidenceError as exc:
                pending.append(f"anchor: {exc.message}")
        elif info.status is ItemStatus.SEALED:
            pending.append("anchor: waits for the timestamp")
        return CompletionResult(item=self.get_item(item_id), pending=tuple(pending))

    def complete_pending(self) -> list[CompletionResult]:
        """Timestamp every sealed item, then anchor everything waiting in batches."""
        owed: dict[str, list[str]] = {}
        for item in self.pending_items():
            owed[item.id] = []
            if item.status is ItemStatus.SEALED:
                try:
                    self.timestamp(item.id)
                except EvidenceError as exc:
                    owed[item.id].append(f"timestamp: {exc.message}")
        anchor_error = ""
        try:
            self.anchor_pending()
        except EvidenceError as exc:
            anchor_error = exc.message
        results: list[CompletionResult] = []
        for item_id, pending in owed.items():
            info = self.get_item(item_id)
            if info.status is ItemStatus.TIMESTAMPED:
                pending.append(f"anchor: {anchor_error or 'not anchored yet'}")
            elif info.status is ItemStatus.SEALED:
                pending.append("anchor: waits for the timestamp")
            results.append(CompletionResult(item=info, pending=tuple(pending)))
        return results

    # -- report and bundle -------------------------------------------------

    def report(
        self,
        item_id: str,
        out_path: Path,
        *,
        language: str = "zh",
        sign_with: ReportSigner | Sequence[ReportSigner] | None = None,
        custody: Sequence[CustodyLine] = (),
        query_chain: bool = True,
    ) -> Path:
        """Write the evidence report PDF (PDF/A-2b) for a sealed item.

        ``sign_with`` adds one PAdES signature per officer, in order (the second
        is a co-signature in an incremental update), each with an RFC 3161
        timestamp from the configured TSA. ``query_chain`` asks the chain for
        the anchor's current confirmations; when it cannot be reached the
        report says "not queried" instead.
        """
        data = self._report_input(item_id, language, custody=custody, query_chain=query_chain)
        signers = (
            [] if sign_with is None
            else [sign_with] if isinstance(sign_with, ReportSigner)
            else list(sign_with)
        )
        if not signers:
            rendered = render_report(data, out_path)
            self._log_output("report", data.item_id, rendered, {"language": language})
            return rendered
        tsa = self._tsa_config()
        with tempfile.TemporaryDirectory(prefix="evidence-report-") as tmp:
            current = render_report(data, Path(tmp) / "unsigned.pdf")
            for number, signer in enumerate(signers, start=1):
                current = sign_pdf(
                    current,
                    Path(tmp) / f"signed-{number}.pdf",
                    key=signer.key,
                    certificate=signer.certificate,
                    chain=signer.chain,
                    field_name=f"Officer{number}",
                    signer_label=signer.label,
                    tsa_url=tsa.url,
                    tsa_roots=tsa.trust_roots_pem,
                )
            out_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(current, out_path)
        self._log_output(
            "report", data.item_id, out_path,
            {"language": language, "signed_by": [s.label for s in signers]},
        )
        return out_path

    def _log_output(
        self, action: str, item_id: str, path: Path, details: dict[str, Any]
    ) -> None:
        """Custody event for a file made from an item, naming the file's SHA-256."""
        digest = _file_sha256(path)
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            self._custody(session, action, item_id=item.id, case_id=item.case_id,
                          hash_before=item.manifest_sha256 or "", hash_after=digest,
                          details={**details, "file": path.name})
            session.commit()

    def _report_input(
        self,
        item_id: str,
        language: str,
        *,
        custody: Sequence[CustodyLine] = (),
        query_chain: bool = True,
    ) -> ReportInput:
        if language not in ("zh", "en"):
            raise ValueError(f"language must be 'zh' or 'en', not {language!r}")
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            if item.manifest_sha256 is None or item.manifest_sm3 is None:
                raise LifecycleError(f"item {item.id} is {item.status.value}, not sealed")
            case = session.get(Case, item.case_id)
            assert case is not None
            info = self._item_info(session, item)
            artifacts = self._artifacts(session, item.id)
            record = capture_from_json(json.loads(item.capture_json))
            screenshot = next((a for a in artifacts if a.role == "screenshot"), None)
            tile_artifacts = {a.name: a for a in artifacts if a.role == "screenshot-tile"}
            # A page too tall to stitch is reported from its tiles: a screenshot.png
            # kept beside them shows only the top of the page.
            tiles: tuple[Path, ...] = ()
            if tile_artifacts and (screenshot is None or not record.screenshot_stitched):
                # Page order is the capture record's; artifacts come sorted by name.
                order = [t.name for t in record.screenshot_tiles]
                if sorted(order) != sorted(tile_artifacts):
                    order = list(tile_artifacts)
                tiles = tuple(self.store.path_for(tile_artifacts[n].sha256) for n in order)
            if screenshot is None and not tiles:
                raise LifecycleError(f"item {item.id} has no screenshot")
            viewport = next((a for a in artifacts if a.role == "viewport-screenshot"), None)
            data = ReportInput(
                report_number=f"{case.number}-{item.id[:8]}",
                generated_at=self.clock(),
                case_number=case.number,
                case_title=case.title,
                case_cause=case.cause,
                agency=case.agency,
                officers=tuple(o for o in case.officers.splitlines() if o),
                item_id=item.id,
                capture=record,
                screenshot_path=(
                    self.store.path_for(screenshot.sha256) if screenshot is not None else None
                ),
                exhibits=tuple(
                    ExhibitRow(
                        number=i,
                        path=a.name,
                        role=a.role,
                        media_type=a.media_type,
                        size=a.size,
                        sha256=a.sha256,
                        sm3=a.sm3,
                    )
                    for i, a in enumerate(artifacts, start=1)
                ),
                manifest_sha256=item.manifest_sha256,
                manifest_sm3=item.manifest_sm3,
                timestamp=info.timestamp,
                anchor=info.anchor,
                tool_version=__version__,
                language=language,
                custody=tuple(custody),
                viewport_screenshot_path=(
                    self.store.path_for(viewport.sha256) if viewport is not None else None
                ),
                screenshot_tiles=tiles,
            )
        if query_chain and data.anchor is not None:
            data = replace(data, anchor_check=self._current_anchor_check(data.anchor))
        return data

    def _current_anchor_check(self, anchor: AnchorReceipt) -> AnchorCheck | None:
        """The chain's view of an anchor now, or None when it cannot be asked."""
        try:
            rpc = self.settings.rpc_url or (
                self.local_chain_rpc_url() if anchor.development else anchor.rpc_url
            )
            return check_anchor(
                rpc,
                chain_id=anchor.chain_id,
                contract_address=anchor.contract_address,
                transaction_hash=anchor.transaction_hash,
                root=bytes.fromhex(anchor.root.removeprefix("0x")),
                timeout_s=5.0,
            )
        except (EvidenceError, ValueError) as exc:
            logger.warning("confirmations of %s not queried: %s", anchor.transaction_hash, exc)
            return None

    def export(
        self,
        item_id: str,
        out_path: Path,
        *,
        language: str = "zh",
        sign_with: ReportSigner | Sequence[ReportSigner] | None = None,
        custody: Sequence[CustodyLine] = (),
        custody_jsonl: bytes | None = None,
    ) -> Path:
        """Write the self-contained bundle zip (artifacts, manifest, token, anchor, report)."""
        with tempfile.TemporaryDirectory(prefix="evidence-export-") as tmp:
            data = self._bundle_input(
                item_id,
                Path(tmp),
                language=language,
                sign_with=sign_with,
                custody=custody,
                custody_jsonl=custody_jsonl,
            )
            written = write_bundle(data, out_path)
        self._log_output("export", data.item_id, written, {"language": language})
        return written

    def _bundle_input(
        self,
        item_id: str,
        tmp: Path,
        *,
        language: str,
        sign_with: ReportSigner | Sequence[ReportSigner] | None = None,
        custody: Sequence[CustodyLine] = (),
        custody_jsonl: bytes | None = None,
    ) -> bf.BundleInput:
        if not custody:
            custody = self.custody_lines(item_id)
        if custody_jsonl is None:
            custody_jsonl = self.custody_extract(item_id) or None
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            if item.manifest_sha256 is None:
                raise LifecycleError(f"item {item.id} is {item.status.value}, not sealed")
            case = session.get(Case, item.case_id)
            assert case is not None
            info = self._item_info(session, item)
            artifacts = self._artifacts(session, item.id)
            # A damaged store must not produce a bundle: the writer checks every
            # artifact against the manifest as it copies it.
            manifest_bytes = self.store.read_bytes(item.manifest_sha256)
            sources = tuple((a.name, self.store.path_for(a.sha256)) for a in artifacts)
        report_path = self.report(
            info.id,
            tmp / f"report-{info.id}.pdf",
            language=language,
            sign_with=sign_with,
            custody=custody,
        )
        return bf.BundleInput(
            item_id=info.id,
            case_number=case.number,
            created_at=self.clock(),
            manifest_bytes=manifest_bytes,
            artifacts=sources,
            timestamp=info.timestamp,
            anchor=info.anchor,
            report_pdf=report_path,
            tool_version=__version__,
            custody_jsonl=custody_jsonl,
            signatures=bf.bundle_signatures(self.item_signatures(info.id)),
        )

    def export_case(self, case_number: str, out_path: Path, *, language: str = "zh") -> Path:
        """One zip for a whole case: ``items/<item-id>/`` per sealed item, plus case sums.

        Items that are not sealed (still capturing, or failed) have no
        evidence to bundle and are left out; the case report lists them.
        """
        case = self.get_case(case_number)
        items = [i for i in self.list_items(case.number) if i.manifest_sha256 is not None]
        if not items:
            raise LifecycleError(f"case {case.number} has no sealed items to export")
        with tempfile.TemporaryDirectory(prefix="evidence-case-") as tmp:
            inputs = tuple(
                self._bundle_input(item.id, Path(tmp), language=language) for item in items
            )
            return write_case_bundle(
                CaseBundleInput(
                    case_number=case.number,
                    case_title=case.title,
                    created_at=self.clock(),
                    tool_version=__version__,
                    items=inputs,
                ),
                out_path,
            )

    def export_wacz(
        self,
        item_id: str,
        out_path: Path,
        *,
        language: str = "zh",
        sign_with: ReportSigner | Sequence[ReportSigner] | None = None,
        with_evidence: bool = True,
    ) -> Path:
        """Write the item's WARC(s) as a WACZ for pywb / ReplayWeb.page.

        With ``with_evidence`` (the default) the item's evidence bundle, exactly
        as :meth:`export` writes it, travels inside as ``evidence/bundle.zip``,
        so ``evidence verify item.wacz`` can check the WACZ against the sealed
        manifest, its token, signatures and anchor.
        """
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            if item.manifest_sha256 is None:
                raise LifecycleError(f"item {item.id} is {item.status.value}, not sealed")
            case = session.get(Case, item.case_id)
            assert case is not None
            record = capture_from_json(json.loads(item.capture_json))
            warcs = [a for a in self._artifacts(session, item.id) if a.role == "warc"]
            for warc in warcs:
                self.store.verify(warc.sha256)
            sources = tuple(
                (a.name.rsplit("/", 1)[-1], self.store.path_for(a.sha256)) for a in warcs
            )
            manifest_sha256 = item.manifest_sha256
            item_key = item.id
            title = f"{case.number} {record.page_title}".strip()
        with tempfile.TemporaryDirectory(prefix="evidence-wacz-") as tmp:
            bundle = (
                self.export(
                    item_key, Path(tmp) / "bundle.zip", language=language, sign_with=sign_with
                )
                if with_evidence
                else None
            )
            written = write_wacz(
                WaczInput(
                    title=title,
                    description=f"evidence item {item_key}, manifest sha256 {manifest_sha256}",
                    created_at=self.clock(),
                    software=f"evidence-toolkit {__version__}",
                    warcs=sources,
                    pages=(
                        WaczPage(
                            url=record.final_url or record.requested_url,
                            title=record.page_title,
                            captured_at=record.started_at,
                            id=item_key,
                        ),
                    ),
                    extras=(
                        ("evidenceItem", item_key),
                        ("evidenceManifestSha256", manifest_sha256),
                    ),
                    evidence_bundle=bundle,
                ),
                out_path,
            )
        self._log_output("export.wacz", item_key, written, {"evidence": with_evidence})
        return written

    def case_report(self, case_number: str, out_path: Path, *, language: str = "zh") -> Path:
        """Write one PDF listing every item of the case with its hashes, times and anchors."""
        if language not in ("zh", "en"):
            raise ValueError(f"language must be 'zh' or 'en', not {language!r}")
        case = self.get_case(case_number)
        items = self.list_items(case.number)
        return render_case_report(
            CaseReportInput(
                case_number=case.number,
                case_title=case.title,
                case_cause=case.cause,
                agency=case.agency,
                officers=case.officers,
                generated_at=self.clock(),
                tool_version=__version__,
                items=tuple(
                    CaseReportItem(
                        item_id=i.id,
                        status=i.status.value,
                        requested_url=i.requested_url,
                        page_title=i.page_title,
                        sealed_at=i.sealed_at,
                        manifest_sha256=i.manifest_sha256,
                        manifest_sm3=i.manifest_sm3,
                        timestamp=i.timestamp,
                        anchor=i.anchor,
                    )
                    for i in items
                ),
                language=language,
            ),
            out_path,
        )

    def verify(
        self,
        bundle: Path,
        *,
        rpc_url: str | None = None,
        trust_roots_pem: bytes | None = None,
        offline: bool = False,
        options: VerifyOptions | None = None,
        report_path: Path | None = None,
        report_language: str = "zh",
        verifier_name: str = "",
        report_signer: ReportSigner | None = None,
        report_tsa_url: str | None = None,
        report_tsa_roots_pem: bytes | None = None,
    ) -> VerificationReport:
        """Verify a bundle or a WACZ; the embedded local chain is started if the bundle names it.

        ``options`` (when given) replaces ``rpc_url``/``trust_roots_pem``/``offline``.
        With ``report_path`` the verification report PDF is written there too;
        with ``report_signer`` (see :meth:`expert_signer`) it is PAdES-signed as
        the expert, timestamped by ``report_tsa_url`` when given (``"configured"``
        means this toolkit's TSA; the roots of a configured TSA are known, any
        other needs ``report_tsa_roots_pem``).
        """
        if report_signer is not None and report_path is None:
            raise ValueError("report_signer needs a report_path to sign")
        tsa_roots = report_tsa_roots_pem
        if report_signer is not None and report_tsa_url is not None and tsa_roots is None:
            configs = self._tsa_configs()
            if report_tsa_url == "configured":
                report_tsa_url = configs[0].url
            tsa_roots = next(
                (c.trust_roots_pem for c in configs if c.url == report_tsa_url), None
            )
            if tsa_roots is None:
                raise ConfigurationError(
                    f"{report_tsa_url} is not a configured TSA: give its trust roots "
                    "(--tsa-roots) to sign the report with its timestamps"
                )
        if options is None:
            options = VerifyOptions(
                rpc_url=rpc_url, trust_roots_pem=trust_roots_pem, offline=offline
            )
        if options.signer_roots_pem is None:
            # This toolkit knows its own officers' certificates; an outside expert
            # passes the agency CA (or the officers' certificates) instead.
            options = replace(options, signer_roots_pem=self._officer_certificates_pem())
        if not options.offline and options.rpc_url is None:
            local = None if self.settings.rpc_url else self._local_rpc_for(bundle, options)
            options = replace(options, rpc_url=local or self.settings.rpc_url or None)
        run = run_verification(bundle, options)
        if report_path is not None:
            from reports.verification_report import (
                VerificationReportInput,
                render_verification_report,
            )

            render_verification_report(
                VerificationReportInput(
                    result=run.report,
                    setup=run.context,
                    verified_at=self.clock(),
                    tool_version=__version__,
                    library_versions=tuple(sorted(dependency_versions().items())),
                    verifier_name=verifier_name,
                    language=report_language,
                    signed=report_signer is not None,
                ),
                report_path,
            )
            if report_signer is not None:
                from reports.verification_report import sign_verification_report

                sign_verification_report(
                    report_path,
                    report_signer,
                    tsa_url=report_tsa_url,
                    tsa_roots_pem=tsa_roots,
                )
        self._log_verification(run.report)
        return run.report

    @staticmethod
    def expert_signer(
        key_pem: bytes, cert_pem: bytes, passphrase: str | bytes | None = None
    ) -> ReportSigner:
        """The expert's own signing key and certificate, for ``verify(report_signer=...)``."""
        from reports.verification_report import load_expert_signer

        secret = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
        return load_expert_signer(key_pem, cert_pem, secret)

    def _officer_certificates_pem(self) -> bytes | None:
        with Session(self.engine) as session:
            pems = [
                o.certificate_pem
                for o in session.exec(select(Officer)).all()
                if o.certificate_pem is not None
            ]
        return b"".join(pems) or None

    def _log_verification(self, report: VerificationReport) -> None:
        """When the verified bundle is one of ours, its item's custody log says so."""
        if report.manifest_sha256 is None:
            return
        with Session(self.engine) as session:
            item = session.exec(
                select(EvidenceItem).where(EvidenceItem.manifest_sha256 == report.manifest_sha256)
            ).first()
            if item is None:
                return
            self._custody(
                session, "verify", item_id=item.id, case_id=item.case_id,
                hash_before=report.manifest_sha256,
                details={"bundle": Path(report.bundle).name, "exit_code": report.exit_code,
                         "failures": len(report.failures),
                         "not_checked": len(report.not_checked)},
            )
            session.commit()

    def _local_rpc_for(self, bundle: Path, options: VerifyOptions | None = None) -> str | None:
        """When a bundle was anchored on our own local chain, make sure that node runs."""
        try:
            from evidence.verification.verifier import WACZ_EVIDENCE, is_wacz, open_bundle

            source = open_bundle(bundle, options.limits if options else None)
        except EvidenceError:
            return None
        try:
            names = source.names()
            if bf.ANCHOR_JSON in names:
                with source.open(bf.ANCHOR_JSON) as stream:
                    anchor = bf.anchor_from_json(stream.read(1024 * 1024))
            elif is_wacz(names) and WACZ_EVIDENCE in names:
                # Our WACZ carries the item bundle as one nested zip.
                with source.open(WACZ_EVIDENCE) as stream, zipfile.ZipFile(stream) as inner:
                    anchor = bf.anchor_from_json(inner.read(bf.ANCHOR_JSON)[: 1024 * 1024])
            else:
                return None
        except (EvidenceError, OSError, ValueError, KeyError, zipfile.BadZipFile):
            return None
        finally:
            source.close()
        if not anchor.development:
            return None
        return self.local_chain_rpc_url()

    # -- officers and manifest signatures ----------------------------------

    def add_officer(
        self,
        name: str,
        enforcement_id: str,
        *,
        agency: str | None = None,
        passphrase: str | bytes,
        algorithm: str = officer_keys.ECDSA_P256,
        self_signed: bool = True,
        validity_days: int = officer_keys.DEFAULT_VALIDITY_DAYS,
    ) -> OfficerInfo:
        """Create an officer with a new signing key, encrypted under ``passphrase``.

        With ``self_signed`` the officer gets a self-signed certificate now;
        otherwise take :meth:`officer_csr` to the agency CA and load what it
        issues with :meth:`import_officer_certificate` before signing.
        """
        enforcement_id = officer_keys.validate_enforcement_id(enforcement_id)
        subject = officer_keys.officer_subject(name, enforcement_id, agency)
        # Refuse bad input before a key file exists.
        officer_keys.passphrase_bytes(passphrase, enforcement_id)
        if algorithm not in officer_keys.KEY_ALGORITHMS:
            officer_keys.generate_key(algorithm)  # raises the one-line error
        if self_signed and validity_days < 1:
            raise CertificateError(
                f"a certificate must be valid for at least one day, not {validity_days}"
            )
        with Session(self.engine) as session:
            if self._officer_row(session, enforcement_id) is not None:
                raise EvidenceError(f"officer {enforcement_id} already exists")
        keystore = officer_keys.Keystore(self.settings.home)
        key, key_path = keystore.create_key(enforcement_id, algorithm, passphrase)
        now = self.clock()
        certificate_pem: bytes | None = None
        if self_signed:
            certificate = officer_keys.self_signed_certificate(
                key, subject, not_before=now, validity_days=validity_days
            )
            certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
        try:
            with Session(self.engine) as session:
                agency_id = self._agency_id(session, agency, now)
                officer = Officer(
                    id=self.new_id(),
                    agency_id=agency_id,
                    name=name.strip(),
                    enforcement_id=enforcement_id,
                    key_algorithm=algorithm,
                    key_path=key_path,
                    public_key_pem=officer_keys.public_key_pem(key),
                    certificate_pem=certificate_pem,
                    created_at=now,
                )
                session.add(officer)
                session.commit()
        except BaseException:
            # The key was made a moment ago for this officer only: without the
            # row it is unusable, and leaving it would block a retry.
            keystore.remove_new_key(key_path)
            raise
        logger.info("added officer %s (%s key)", enforcement_id, algorithm)
        return self.get_officer(enforcement_id)

    def get_officer(self, enforcement_id: str) -> OfficerInfo:
        with Session(self.engine) as session:
            return self._officer_info(session, self._officer(session, enforcement_id))

    def list_officers(self) -> list[OfficerInfo]:
        with Session(self.engine) as session:
            rows = session.exec(select(Officer).order_by(col(Officer.created_at))).all()
            return [self._officer_info(session, row) for row in rows]

    def officer_csr(self, enforcement_id: str, passphrase: str | bytes) -> bytes:
        """A PEM certificate signing request for the agency CA (unlocks the key)."""
        with Session(self.engine) as session:
            officer = self._officer(session, enforcement_id)
            agency = session.get(Agency, officer.agency_id) if officer.agency_id else None
            subject = officer_keys.officer_subject(
                officer.name, officer.enforcement_id, agency.name if agency else None
            )
            key_path, eid = officer.key_path, officer.enforcement_id
        key = officer_keys.Keystore(self.settings.home).load_key(eid, key_path, passphrase)
        request = officer_keys.certificate_request(key, subject)
        return request.public_bytes(serialization.Encoding.PEM)

    def import_officer_certificate(self, enforcement_id: str, cert_pem: bytes) -> OfficerInfo:
        """Attach the certificate the agency CA issued; it must be for this officer's key.

        A renewed certificate replaces the old one; signatures already made keep
        the certificate they were made with.
        """
        with Session(self.engine) as session:
            officer = self._officer(session, enforcement_id)
            certificate = officer_keys.select_issued_certificate(
                cert_pem, officer.public_key_pem, officer.enforcement_id, self.clock()
            )
            officer.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
            session.add(officer)
            session.commit()
            logger.info(
                "officer %s: imported certificate %s issued by %s",
                officer.enforcement_id,
                officer_keys.fingerprint(certificate),
                certificate.issuer.rfc4514_string(),
            )
            return self._officer_info(session, officer)

    def assign_officer(self, case_number: str, enforcement_id: str) -> CaseInfo:
        """Put an officer on a case (idempotent); the case's officer list names them."""
        with Session(self.engine) as session:
            case = self._case(session, case_number)
            officer = self._officer(session, enforcement_id)
            if session.get(CaseOfficer, (case.id, officer.id)) is None:
                session.add(CaseOfficer(case_id=case.id, officer_id=officer.id))
            lines = [line for line in case.officers.splitlines() if line]
            if not any(officer.enforcement_id in line for line in lines):
                lines.append(f"{officer.name} (执法证号 {officer.enforcement_id})")
                case.officers = "\n".join(lines)
                session.add(case)
            session.commit()
            session.refresh(case)
            return _case_info(case)

    def sign_item(
        self,
        item_id: str,
        enforcement_id: str,
        passphrase: str | bytes,
        *,
        role: str = "capture",
    ) -> SignatureInfo:
        """Sign a sealed item's manifest bytes with an officer's key (detached CMS).

        The capturing officer signs first (``role="capture"``); another officer
        co-signs later (``role="cosign"``). One signature per officer per item.
        """
        if role not in officer_keys.SIGNATURE_ROLES:
            roles = ", ".join(officer_keys.SIGNATURE_ROLES)
            raise ValueError(f"role must be one of {roles}, not {role!r}")
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            signable = (ItemStatus.SEALED, ItemStatus.TIMESTAMPED, ItemStatus.ANCHORED)
            if item.status not in signable or item.manifest_sha256 is None:
                raise LifecycleError(
                    f"item {item.id} is {ItemStatus(item.status).value}; "
                    "only a sealed item's manifest can be signed"
                )
            officer = self._officer(session, enforcement_id)
            if officer.certificate_pem is None:
                raise CertificateError(
                    f"officer {officer.enforcement_id} has no certificate yet; import the one "
                    "the agency CA issued ('evidence officer import-cert')"
                )
            self._check_may_sign(session, item.id, officer, role)
            manifest_bytes = self.store.read_bytes(item.manifest_sha256)
            item_full_id, officer_id = item.id, officer.id
            eid, key_path, certificate_pem = (
                officer.enforcement_id,
                officer.key_path,
                officer.certificate_pem,
            )
        certificate = x509.load_pem_x509_certificate(certificate_pem)
        now = self.clock()
        officer_keys.check_certificate_valid_at(certificate, now, eid)
        officer_keys.check_signing_key_usage(certificate, eid)
        signer_key = officer_keys.load_signer(
            officer_keys.Keystore(self.settings.home), eid, key_path, passphrase, certificate
        )
        signature = sign_manifest(
            manifest_bytes, signer_key.key, signer_key.certificate, signing_time=now
        )
        # Check our own output before it becomes evidence.
        signer = verify_manifest_signature(manifest_bytes, signature)
        with Session(self.engine) as session:
            signing_officer = session.get(Officer, officer_id)
            assert signing_officer is not None
            # Again, inside the writing transaction: another process may have signed meanwhile.
            self._check_may_sign(session, item_full_id, signing_officer, role)
            session.add(
                ManifestSignature(
                    id=self.new_id(),
                    item_id=item_full_id,
                    officer_id=officer_id,
                    role=role,
                    signed_at=signer.signing_time,
                    signature_der=signature,
                    certificate_pem=certificate_pem,
                )
            )
            signed_item = self._item(session, item_full_id)
            self._custody(
                session, "sign", item_id=item_full_id, case_id=signed_item.case_id,
                hash_before=signed_item.manifest_sha256 or "",
                hash_after=hashlib.sha256(signature).hexdigest(),
                details={"officer": eid, "role": role},
            )
            session.commit()
        logger.info("officer %s signed item %s (%s)", eid, item_full_id, role)
        return next(s for s in self.item_signatures(item_full_id) if s.enforcement_id == eid)

    def report_signer(self, enforcement_id: str, passphrase: str | bytes) -> ReportSigner:
        """Unlock an officer's key for signing a report PDF (PAdES)."""
        with Session(self.engine) as session:
            officer = self._officer(session, enforcement_id)
            if officer.certificate_pem is None:
                raise CertificateError(
                    f"officer {officer.enforcement_id} has no certificate yet; import the one "
                    "the agency CA issued ('evidence officer import-cert')"
                )
            eid, key_path, name = officer.enforcement_id, officer.key_path, officer.name
            certificate = x509.load_pem_x509_certificate(officer.certificate_pem)
        officer_keys.check_certificate_valid_at(certificate, self.clock(), eid)
        unlocked = officer_keys.load_signer(
            officer_keys.Keystore(self.settings.home), eid, key_path, passphrase, certificate
        )
        return ReportSigner(
            key=unlocked.key, certificate=unlocked.certificate, label=f"{name}（执法证号 {eid}）"
        )

    def item_signatures(self, item_id: str) -> list[SignatureInfo]:
        """The item's manifest signatures, the capture signature first (bundle order)."""
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            rows = self._signature_rows(session, item.id)
            infos: list[SignatureInfo] = []
            for index, row in enumerate(rows, start=1):
                officer = session.get(Officer, row.officer_id)
                assert officer is not None
                certificate = x509.load_pem_x509_certificate(row.certificate_pem)
                infos.append(
                    SignatureInfo(
                        id=row.id,
                        item_id=item.id,
                        index=index,
                        role=row.role,
                        officer_name=officer.name,
                        enforcement_id=officer.enforcement_id,
                        signed_at=as_utc(row.signed_at),
                        key_algorithm=officer_keys.key_algorithm_of(certificate.public_key()),
                        certificate_sha256=officer_keys.fingerprint(certificate),
                        certificate_subject=certificate.subject.rfc4514_string(),
                        signature_der=row.signature_der,
                        certificate_pem=row.certificate_pem,
                    )
                )
            return infos

    def verify_item_signatures(
        self, item_id: str, trust_roots: Sequence[x509.Certificate] | None = None
    ) -> list[SignerInfo]:
        """Re-verify every stored signature against the stored manifest; names each signer."""
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            if item.manifest_sha256 is None:
                raise LifecycleError(
                    f"item {item.id} is {ItemStatus(item.status).value}, not sealed"
                )
            manifest_bytes = self.store.read_bytes(item.manifest_sha256)
            rows = self._signature_rows(session, item.id)
            return [
                verify_manifest_signature(manifest_bytes, row.signature_der, trust_roots)
                for row in rows
            ]

    def _officer_row(self, session: Session, enforcement_id: str) -> Officer | None:
        return session.exec(
            select(Officer).where(Officer.enforcement_id == enforcement_id.strip())
        ).first()

    def _officer(self, session: Session, enforcement_id: str) -> Officer:
        officer = self._officer_row(session, enforcement_id)
        if officer is None:
            raise NotFoundError(
                f"no officer with enforcement ID {enforcement_id!r}; add one with "
                "'evidence officer add'"
            )
        return officer

    def _agency_id(self, session: Session, agency: str | None, now: datetime) -> str | None:
        if not agency or not agency.strip():
            return None
        name = agency.strip()
        row = session.exec(select(Agency).where(Agency.name == name)).first()
        if row is None:
            row = Agency(id=self.new_id(), name=name, created_at=now)
            session.add(row)
            session.flush()
        return row.id

    def _officer_info(self, session: Session, officer: Officer) -> OfficerInfo:
        agency = session.get(Agency, officer.agency_id) if officer.agency_id else None
        certificate = (
            x509.load_pem_x509_certificate(officer.certificate_pem)
            if officer.certificate_pem
            else None
        )
        return OfficerInfo(
            id=officer.id,
            name=officer.name,
            enforcement_id=officer.enforcement_id,
            agency=agency.name if agency else "",
            key_algorithm=officer.key_algorithm,
            key_path=officer.key_path,
            created_at=as_utc(officer.created_at),
            certificate_sha256=officer_keys.fingerprint(certificate) if certificate else None,
            certificate_subject=certificate.subject.rfc4514_string() if certificate else "",
            certificate_issuer=certificate.issuer.rfc4514_string() if certificate else "",
            self_signed=officer_keys.is_self_signed(certificate) if certificate else False,
            not_valid_before=certificate.not_valid_before_utc if certificate else None,
            not_valid_after=certificate.not_valid_after_utc if certificate else None,
        )

    def _signature_rows(self, session: Session, item_id: str) -> list[ManifestSignature]:
        rows = session.exec(
            select(ManifestSignature).where(ManifestSignature.item_id == item_id)
        ).all()
        # The capture signature is always number 1; co-signatures follow in time order.
        return sorted(rows, key=lambda r: (r.role != "capture", as_utc(r.signed_at), r.id))

    def _check_may_sign(self, session: Session, item_id: str, officer: Officer, role: str) -> None:
        rows = self._signature_rows(session, item_id)
        mine = next((r for r in rows if r.officer_id == officer.id), None)
        if mine is not None:
            raise LifecycleError(
                f"officer {officer.enforcement_id} has already signed item {item_id} "
                f"(as {mine.role}); a second signature by the same officer is refused"
            )
        capture_row = next((r for r in rows if r.role == "capture"), None)
        if role == "capture" and capture_row is not None:
            other = session.get(Officer, capture_row.officer_id)
            who = f"{other.name} ({other.enforcement_id})" if other else capture_row.officer_id
            raise LifecycleError(
                f"item {item_id} already carries the capture signature of {who}; "
                "a further officer co-signs (--cosign)"
            )
        if role == "cosign" and capture_row is None:
            raise LifecycleError(
                f"item {item_id} has no capture signature yet; the capturing officer signs first"
            )

    # -- custody ---------------------------------------------------------------

    @property
    def actor(self) -> str:
        """Who the custody log names for actions of this toolkit instance."""
        return self.settings.operator or custody_log.default_actor()

    def _custody(
        self,
        session: Session,
        action: str,
        *,
        item_id: str | None = None,
        case_id: str | None = None,
        reason: str = "",
        hash_before: str = "",
        hash_after: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append a custody event inside ``session``: it commits with the change it records."""
        custody_log.append(
            session,
            at=self.clock(),
            new_id=self.new_id,
            actor=self.actor,
            action=action,
            item_id=item_id,
            case_id=case_id,
            reason=reason,
            hash_before=hash_before,
            hash_after=hash_after,
            details=details,
        )

    def record_custody(
        self, action: str, *, item_id: str | None = None, reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        """Log an action done outside the toolkit (e.g. an expert viewing an item)."""
        with Session(self.engine) as session:
            case_id = None
            if item_id is not None:
                item = self._item(session, item_id)
                item_id, case_id = item.id, item.case_id
            self._custody(session, action, item_id=item_id, case_id=case_id, reason=reason,
                          details=details)
            session.commit()

    def custody_lines(self, item_id: str) -> tuple[CustodyLine, ...]:
        """The item's own custody events, for the report."""
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            rows = session.exec(
                select(CustodyEvent)
                .where(CustodyEvent.item_id == item.id)
                .order_by(col(CustodyEvent.seq))
            ).all()
            return tuple(
                CustodyLine(
                    seq=r.seq, at=as_utc(r.at), actor=r.actor, action=r.action,
                    reason=r.reason, hash_after=r.hash_after,
                )
                for r in rows
            )

    def custody_extract(self, item_id: str) -> bytes:
        """The bundle's custody extract: from the item's first event to the head."""
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            first = session.exec(
                select(CustodyEvent.seq)
                .where(CustodyEvent.item_id == item.id)
                .order_by(col(CustodyEvent.seq))
            ).first()
            if first is None:
                return b""
            events = session.exec(
                select(CustodyEvent)
                .where(col(CustodyEvent.seq) >= first)
                .order_by(col(CustodyEvent.seq))
            ).all()
            lines = custody_log.extract_lines(events, item_id=item.id, case_id=item.case_id)
        return b"\n".join(lines) + b"\n"

    # -- maintenance and queries -------------------------------------------

    def doctor(self, *, deep: bool = False) -> DoctorReport:
        """Find and settle what a crash left behind; never deletes evidence."""
        return _maintenance.doctor(self, deep=deep)

    def verify_custody_log(self) -> LogVerification:
        """Re-check the whole hash-chained custody log; names the first bad event."""
        return _maintenance.verify_log(self)

    def find_items(
        self,
        *,
        case_number: str | None = None,
        sha256: str | None = None,
        url: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ItemInfo]:
        """Items by case, by any digest (manifest or artifact), by URL and by time range."""
        return _maintenance.find_items(
            self, case_number=case_number, sha256=sha256, url=url, since=since, until=until
        )

    # -- helpers -----------------------------------------------------------

    def _case(self, session: Session, number: str) -> Case:
        case = session.exec(select(Case).where(Case.number == number)).first()
        if case is None:
            raise NotFoundError(
                f"no case numbered {number!r}; create it with 'evidence case create'"
            )
        return case

    def _item(self, session: Session, item_id: str) -> EvidenceItem:
        item_id = item_id.strip()
        if len(item_id) < 4:
            raise NotFoundError(f"item id {item_id!r} is too short; give at least 4 characters")
        matches = session.exec(
            select(EvidenceItem).where(col(EvidenceItem.id).startswith(item_id))
        ).all()
        if not matches:
            raise NotFoundError(f"no evidence item {item_id!r}")
        if len(matches) > 1:
            raise NotFoundError(f"item id {item_id!r} is ambiguous; give more characters")
        return matches[0]

    def _artifacts(self, session: Session, item_id: str) -> list[Artifact]:
        return list(
            session.exec(
                select(Artifact).where(Artifact.item_id == item_id).order_by(col(Artifact.name))
            ).all()
        )

    def _item_info(self, session: Session, item: EvidenceItem) -> ItemInfo:
        case = session.get(Case, item.case_id)
        assert case is not None
        ts = session.exec(select(TimestampRecord).where(TimestampRecord.item_id == item.id)).first()
        an = session.exec(
            select(AnchorRecord).where(
                AnchorRecord.item_id == item.id, AnchorRecord.superseded_by == ""
            )
        ).first()
        return ItemInfo(
            id=item.id,
            case_number=case.number,
            status=ItemStatus(item.status),
            requested_url=item.requested_url,
            final_url=item.final_url,
            page_title=item.page_title,
            created_at=as_utc(item.created_at),
            sealed_at=as_utc(item.sealed_at) if item.sealed_at else None,
            manifest_sha256=item.manifest_sha256,
            manifest_sm3=item.manifest_sm3,
            timestamp=_token(ts) if ts else None,
            anchor=_receipt(an, item.manifest_sha256 or "") if an else None,
            error=item.error,
        )


def _file_sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _case_info(case: Case) -> CaseInfo:
    return CaseInfo(
        id=case.id,
        number=case.number,
        title=case.title,
        cause=case.cause,
        agency=case.agency,
        officers=tuple(o for o in case.officers.splitlines() if o),
        created_at=as_utc(case.created_at),
    )


def _token(row: TimestampRecord) -> TimestampToken:
    return TimestampToken(
        tsa_url=row.tsa_url,
        response_der=row.response_der,
        token_der=row.token_der,
        gen_time=as_utc(row.gen_time),
        serial_number=int(row.serial_number),
        policy_oid=row.policy_oid,
        hash_algorithm=row.hash_algorithm,
        message_imprint=row.message_imprint,
        nonce=None if row.nonce is None else int(row.nonce),
        tsa_subject=row.tsa_subject,
        tsa_certificate_pem=row.tsa_certificate_pem,
        trust_root_pem=row.trust_root_pem,
        development=row.development,
    )


def _receipt(row: AnchorRecord, item_digest: str) -> AnchorReceipt:
    return AnchorReceipt(
        chain_id=row.chain_id,
        network_name=row.network_name,
        rpc_url=row.rpc_url,
        contract_address=row.contract_address,
        transaction_hash=row.transaction_hash,
        block_number=row.block_number,
        block_hash=row.block_hash,
        block_time=as_utc(row.block_time),
        root=row.root,
        submitter=row.submitter,
        reference=row.reference,
        development=row.development,
        leaf=item_digest,
        leaf_index=row.leaf_index,
        tree_size=row.tree_size,
        proof=tuple(json.loads(row.proof)),
    )


# --- anchoring results and helpers (issue 5) ----------------------------------

_NOT_YET = re.compile(r"confirmations of 0x[0-9a-f]+, \d+ required|is not mined yet")


@dataclass(frozen=True, slots=True)
class RecheckResult:
    """What :meth:`Toolkit.recheck_anchors` found for one batch."""

    batch_id: str
    outcome: str
    """``final``, ``waiting`` (not enough confirmations), ``unreachable``,
    ``reanchored`` (dropped, then anchored again) or ``dropped`` (re-anchoring failed;
    the items are ``timestamped`` and wait for ``anchor --pending``)."""
    detail: str
    item_ids: tuple[str, ...] = ()
    new_batch_id: str | None = None


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    """A TSA token over a chain's head block (see :meth:`Toolkit.timestamp_chain_head`)."""

    id: str
    chain_id: int
    block_number: int
    block_hash: str
    statement: str
    token: TimestampToken


@dataclass(frozen=True, slots=True)
class ChainStatus:
    local: bool
    """True for the embedded anvil node, False for a configured RPC endpoint."""
    running: bool
    rpc_url: str | None
    chain_id: int | None
    block_number: int | None
    registry_address: str | None
    pid: int | None
    state_file_bytes: int | None


def _chunks(values: list[_T], size: int) -> list[list[_T]]:
    # SQLite caps bound parameters per statement.
    return [values[i : i + size] for i in range(0, len(values), size)]


def _first_certificate_der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificates(pem)[0].public_bytes(serialization.Encoding.DER)


def _token_columns(token: TimestampToken, *, with_hash_algorithm: bool = True) -> dict[str, Any]:
    """The columns a stored token has, in TimestampRecord and ChainCheckpoint alike."""
    columns: dict[str, Any] = {
        "tsa_url": token.tsa_url,
        "gen_time": token.gen_time,
        # Serials and nonces reach 160 bits: stored as decimal strings.
        "serial_number": str(token.serial_number),
        "policy_oid": token.policy_oid,
        "message_imprint": token.message_imprint,
        "nonce": None if token.nonce is None else str(token.nonce),
        "tsa_subject": token.tsa_subject,
        "development": token.development,
        "response_der": token.response_der,
        "token_der": token.token_der,
        "tsa_certificate_pem": token.tsa_certificate_pem,
        "trust_root_pem": token.trust_root_pem,
    }
    if with_hash_algorithm:
        columns["hash_algorithm"] = token.hash_algorithm
    return columns


def _timestamp_row(row_id: str, item_id: str, token: TimestampToken) -> TimestampRecord:
    return TimestampRecord(id=row_id, item_id=item_id, **_token_columns(token))


def _tsa_entry(url: str, roots_path: Path | None) -> TSAConfig:
    """One configured TSA: a URL (credentials as ``https://user:pass@host/``) or a preset."""
    if roots_path is None:
        raise ConfigurationError(f"TSA {url.split('@')[-1]} is configured without trust roots")
    try:
        roots = roots_path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the TSA trust roots {roots_path}: {exc.strerror}"
        ) from exc
    if "://" not in url:
        return preset_config(url, roots)
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return TSAConfig(url=url, trust_roots_pem=roots)
    # Credentials never stay in the URL: it is stored with every token.
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc += f":{parts.port}"
    return TSAConfig(
        url=urllib.parse.urlunsplit(parts._replace(netloc=netloc)),
        trust_roots_pem=roots,
        username=urllib.parse.unquote(parts.username),
        password=urllib.parse.unquote(parts.password or ""),
    )


def _read_batch_state(path: Path | None) -> dict[str, str]:
    """URL -> item id of every URL an earlier run of the batch sealed."""
    if path is None or not path.is_file():
        return {}
    done: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            done[str(entry["url"])] = str(entry["item_id"])
        except (json.JSONDecodeError, KeyError, TypeError):
            # A line cut short by the interruption: that URL is simply captured again.
            continue
    return done


def _append_batch_state(path: Path, url: str, item_id: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"url": url, "item_id": item_id, "status": "sealed"}, ensure_ascii=False)
    with path.open("a", encoding="utf-8") as stream:
        stream.write(line + "\n")
        stream.flush()
        os.fsync(stream.fileno())
