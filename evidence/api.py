"""The public facade: one object a case system or the CLI drives.

It composes the stages in their one direction — capture, seal, timestamp,
anchor, report/bundle, verify — and owns the database and the artifact store.
A stage that depends on an outside service (the TSA, the chain) never undoes
an earlier stage: a sealed item whose TSA or chain is down stays sealed and
is completed later with :meth:`Toolkit.complete`.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import capture
from anchoring.anvil import LocalChain
from anchoring.chain import AlreadyAnchoredError, ChainClient
from anchoring.devtsa import DevelopmentTSA
from anchoring.tsa import TSAConfig, request_timestamp
from evidence import bundle_format as bf
from evidence._version import __version__, dependency_versions
from evidence.config import Settings
from evidence.db import as_utc, open_engine
from evidence.errors import (
    ConfigurationError,
    EvidenceError,
    LifecycleError,
    NotFoundError,
)
from evidence.manifest import (
    ARTIFACT_DIR,
    Manifest,
    ManifestEntry,
    canonical_json,
    capture_from_json,
    capture_to_json,
)
from evidence.merkle import MerkleTree
from evidence.models import (
    AnchorBatch,
    AnchorRecord,
    Artifact,
    Case,
    EvidenceItem,
    ItemStatus,
    TimestampRecord,
)
from evidence.records import (
    AnchorReceipt,
    CaptureOptions,
    CaptureRecord,
    Clock,
    ExhibitRow,
    IdFactory,
    ReportInput,
    TimestampToken,
    isoformat,
    random_id,
    system_clock,
)
from evidence.store import ArtifactStore
from evidence.verify import VerificationReport, verify_bundle
from reports.bundle import write_bundle
from reports.pdf import render_report

logger = logging.getLogger(__name__)


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
            # Artifacts, manifest and status land in one transaction, after the
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
            session.commit()

    # -- timestamp ---------------------------------------------------------

    def timestamp(self, item_id: str) -> ItemInfo:
        """Obtain and verify an RFC 3161 token over the item's manifest digest."""
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            if item.status is ItemStatus.TIMESTAMPED or item.status is ItemStatus.ANCHORED:
                return self._item_info(session, item)
            if item.status is not ItemStatus.SEALED or item.manifest_sha256 is None:
                raise LifecycleError(f"item {item.id} is {item.status.value}, not sealed")
            digest = bytes.fromhex(item.manifest_sha256)
            item_id = item.id
        token = request_timestamp(digest, self._tsa_config())
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            session.add(
                TimestampRecord(
                    id=self.new_id(),
                    item_id=item_id,
                    tsa_url=token.tsa_url,
                    gen_time=token.gen_time,
                    serial_number=str(token.serial_number),
                    policy_oid=token.policy_oid,
                    hash_algorithm=token.hash_algorithm,
                    message_imprint=token.message_imprint,
                    nonce=None if token.nonce is None else str(token.nonce),
                    tsa_subject=token.tsa_subject,
                    development=token.development,
                    response_der=token.response_der,
                    token_der=token.token_der,
                    tsa_certificate_pem=token.tsa_certificate_pem,
                    trust_root_pem=token.trust_root_pem,
                )
            )
            item.status = ItemStatus.TIMESTAMPED
            session.add(item)
            session.commit()
            return self._item_info(session, item)

    def _tsa_config(self) -> TSAConfig:
        if self.settings.tsa_url:
            if self.settings.tsa_roots_path is None:
                raise ConfigurationError("a TSA URL is configured without its trust roots")
            try:
                roots = self.settings.tsa_roots_path.read_bytes()
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot read the TSA trust roots {self.settings.tsa_roots_path}: "
                    f"{exc.strerror}"
                ) from exc
            return TSAConfig(url=self.settings.tsa_url, trust_roots_pem=roots)
        if self._devtsa is None:
            devtsa = DevelopmentTSA(self.settings.home)
            devtsa.start()
            self._devtsa = devtsa
        return TSAConfig(
            url=self._devtsa.url,
            trust_roots_pem=self._devtsa.ca_certificate_pem,
            development=True,
        )

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

    def anchor_pending(self, *, max_items: int = 10_000) -> BatchInfo | None:
        """Anchor every timestamped item still waiting, in one Merkle batch (one transaction)."""
        with Session(self.engine) as session:
            waiting = session.exec(
                select(EvidenceItem.id)
                .where(EvidenceItem.status == ItemStatus.TIMESTAMPED)
                .order_by(col(EvidenceItem.sealed_at))
                .limit(max_items)
            ).all()
        if not waiting:
            return None
        return self.anchor_batch(list(waiting))

    def anchor_batch(self, item_ids: Sequence[str]) -> BatchInfo:
        """Put the items' manifest digests under one Merkle root and anchor that root.

        The batch is recorded as ``pending`` before the transaction is sent and
        the items become ``anchored`` only in the transaction that stores
        their proofs, so an outage or a crash between the two leaves the items
        timestamped and they are simply batched again.
        """
        with Session(self.engine) as session:
            items = [self._item(session, i) for i in item_ids]
            for item in items:
                if item.status is not ItemStatus.TIMESTAMPED or item.manifest_sha256 is None:
                    raise LifecycleError(f"item {item.id} is {item.status.value}, not timestamped")
            ids = [item.id for item in items]
            leaves = [bytes.fromhex(item.manifest_sha256 or "") for item in items]
        if not ids:
            raise ValueError("an anchor batch needs at least one item")
        tree = MerkleTree(leaves)
        batch_id = self.new_id()
        with Session(self.engine) as session:
            session.add(
                AnchorBatch(
                    id=batch_id,
                    root="0x" + tree.root.hex(),
                    tree_size=tree.size,
                    created_at=self.clock(),
                    status="pending",
                )
            )
            session.commit()
        try:
            client, local = self._chain_client()
            try:
                receipt = client.anchor_root(tree.root, reference=f"evidence-batch:{batch_id}")
            except AlreadyAnchoredError:
                # The same leaves were anchored by an earlier run that died before
                # recording it: the chain already holds this root, adopt that anchor.
                found = client.find_anchor(tree.root)
                if found is None:
                    raise
                receipt = found
            if local is not None:
                # Only call it anchored once the local node has the block on disk,
                # so a killed anvil cannot take the anchor with it.
                local.wait_persisted(receipt.block_number)
        except EvidenceError as exc:
            with Session(self.engine) as session:
                batch = session.get(AnchorBatch, batch_id)
                assert batch is not None
                batch.status = "failed"
                batch.error = exc.message
                session.add(batch)
                session.commit()
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
            for index, item_id in enumerate(ids):
                proof = tree.proof(index)
                session.add(
                    AnchorRecord(
                        id=self.new_id(),
                        item_id=item_id,
                        chain_id=receipt.chain_id,
                        network_name=receipt.network_name,
                        rpc_url=receipt.rpc_url,
                        contract_address=receipt.contract_address,
                        transaction_hash=receipt.transaction_hash,
                        block_number=receipt.block_number,
                        block_hash=receipt.block_hash,
                        block_time=receipt.block_time,
                        root=receipt.root,
                        submitter=receipt.submitter,
                        reference=receipt.reference,
                        development=receipt.development,
                        batch_id=batch_id,
                        leaf_index=index,
                        tree_size=tree.size,
                        proof=json.dumps([h.hex() for h in proof.path]),
                    )
                )
                item = self._item(session, item_id)
                item.status = ItemStatus.ANCHORED
                session.add(item)
            session.commit()
        logger.info(
            "anchored %d item(s) under root %s in %s",
            len(ids),
            receipt.root,
            receipt.transaction_hash,
        )
        return BatchInfo(
            id=batch_id,
            root=receipt.root,
            item_ids=tuple(ids),
            transaction_hash=receipt.transaction_hash,
            block_number=receipt.block_number,
            chain_id=receipt.chain_id,
        )

    def _chain_client(self) -> tuple[ChainClient, LocalChain | None]:
        if self.settings.rpc_url:
            if not self.settings.chain_private_key:
                raise ConfigurationError(
                    "an RPC URL is configured without a submitter key "
                    "(set EVIDENCE_CHAIN_PRIVATE_KEY)"
                )
            client = ChainClient.connect(self.settings.rpc_url, self.settings.chain_private_key)
            client.ensure_registry(self.settings.home)
            return client, None
        if self._local_chain is None:
            self._local_chain = LocalChain(self.settings.home)
        local = self._local_chain
        rpc_url = local.ensure_running()
        client = ChainClient.connect(
            rpc_url, local.private_key, development=True, network_name=local.network_name
        )
        client.ensure_registry(self.settings.home)
        return client, local

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
        return [self.complete(item.id) for item in self.pending_items()]

    # -- report and bundle -------------------------------------------------

    def report(self, item_id: str, out_path: Path, *, language: str = "zh") -> Path:
        """Write the evidence report PDF for a sealed item."""
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
            screenshot = next((a for a in artifacts if a.role == "screenshot"), None)
            if screenshot is None:
                raise LifecycleError(f"item {item.id} has no screenshot")
            data = ReportInput(
                report_number=f"{case.number}-{item.id[:8]}",
                generated_at=self.clock(),
                case_number=case.number,
                case_title=case.title,
                case_cause=case.cause,
                agency=case.agency,
                officers=tuple(o for o in case.officers.splitlines() if o),
                item_id=item.id,
                capture=capture_from_json(json.loads(item.capture_json)),
                screenshot_path=self.store.path_for(screenshot.sha256),
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
            )
        return render_report(data, out_path)

    def export(self, item_id: str, out_path: Path, *, language: str = "zh") -> Path:
        """Write the self-contained bundle zip (artifacts, manifest, token, anchor, report)."""
        with Session(self.engine) as session:
            item = self._item(session, item_id)
            if item.manifest_sha256 is None:
                raise LifecycleError(f"item {item.id} is {item.status.value}, not sealed")
            case = session.get(Case, item.case_id)
            assert case is not None
            info = self._item_info(session, item)
            artifacts = self._artifacts(session, item.id)
            for artifact in artifacts:
                # Re-hash before export: a damaged store must not produce a bundle.
                self.store.verify(artifact.sha256)
            manifest_bytes = self.store.read_bytes(item.manifest_sha256)
            sources = tuple((a.name, self.store.path_for(a.sha256)) for a in artifacts)
        with tempfile.TemporaryDirectory(prefix="evidence-export-") as tmp:
            report_path = self.report(item_id, Path(tmp) / "report.pdf", language=language)
            return write_bundle(
                bf.BundleInput(
                    item_id=info.id,
                    case_number=case.number,
                    created_at=self.clock(),
                    manifest_bytes=manifest_bytes,
                    artifacts=sources,
                    timestamp=info.timestamp,
                    anchor=info.anchor,
                    report_pdf=report_path,
                    tool_version=__version__,
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
    ) -> VerificationReport:
        """Verify a bundle; the embedded local chain is started if the bundle names it."""
        if not offline and rpc_url is None and not self.settings.rpc_url:
            rpc_url = self._local_rpc_for(bundle)
        return verify_bundle(
            bundle,
            rpc_url=rpc_url or self.settings.rpc_url,
            trust_roots_pem=trust_roots_pem,
            offline=offline,
        )

    def _local_rpc_for(self, bundle: Path) -> str | None:
        """When a bundle was anchored on our own local chain, make sure that node runs."""
        try:
            from evidence.verify import open_bundle

            source = open_bundle(bundle)
        except EvidenceError:
            return None
        try:
            if bf.ANCHOR_JSON not in source.names():
                return None
            with source.open(bf.ANCHOR_JSON) as stream:
                anchor = bf.anchor_from_json(stream.read(1024 * 1024))
        except (EvidenceError, OSError, ValueError):
            return None
        finally:
            source.close()
        if not anchor.development:
            return None
        return self.local_chain_rpc_url()

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
        an = session.exec(select(AnchorRecord).where(AnchorRecord.item_id == item.id)).first()
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
