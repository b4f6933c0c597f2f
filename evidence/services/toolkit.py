"""The public facade: one object a case system or the CLI drives.

``Toolkit`` owns the database and the artifact store and composes the
capability services, one per concern (``kit.cases``, ``kit.captures``,
``kit.anchors``, ...). Its methods are one-line delegations kept for callers
that think in terms of the whole toolkit. Data flows one way: capture, seal,
timestamp, anchor, report/bundle, verify. A stage that depends on an outside
service (the TSA, the chain) never undoes an earlier one: a sealed item whose
TSA or chain is down stays sealed and is completed later with :meth:`complete`.

Each service is built on first use, and its module imported then: opening a
toolkit to list items must not load web3, pyHanko, Playwright or reportlab.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from evidence.model.capture_options import CaptureOptions, CaptureStep
from evidence.model.config import Settings
from evidence.model.custody import LogVerification
from evidence.model.db import open_engine
from evidence.model.records import (
    Clock,
    CustodyAction,
    CustodyLine,
    IdFactory,
    LocalChainIdentity,
    OfficerInfo,
    ReportSigner,
    SignatureInfo,
    SignerInfo,
    TimestampToken,
    VerificationReport,
    random_id,
    system_clock,
)
from evidence.model.store import ArtifactStore
from evidence.services._context import ServiceContext, store_for
from evidence.services._preload import preload
from evidence.services.results import (
    BatchCaptureResult,
    BatchInfo,
    BatchSummary,
    CaptureCircumstances,
    CaseInfo,
    ChainStatus,
    CheckpointInfo,
    CompletionResult,
    DoctorReport,
    ItemInfo,
    RecheckResult,
)

# What timestamping and anchoring import (web3 and eth_account are the slow part).
COMPLETION_MODULES = (
    "evidence.services.completion",
    "anchoring.chain",
    "anchoring.tsa",
    "anchoring.devtsa",
    "anchoring.anvil",
)

if TYPE_CHECKING:
    from cryptography import x509

    from anchoring.tsa import RetryPolicy
    from evidence.services.anchors import AnchorService
    from evidence.services.artifacts import ArtifactService
    from evidence.services.batches import BatchCaptureService
    from evidence.services.captures import CaptureService
    from evidence.services.cases import CaseService
    from evidence.services.chains import ChainAccess
    from evidence.services.checkpoints import ChainCheckpoints
    from evidence.services.completion import CompletionService
    from evidence.services.custody import CustodyService
    from evidence.services.exports import ExportService
    from evidence.services.identity import IdentityService
    from evidence.services.jobs import JobService
    from evidence.services.maintenance import MaintenanceService
    from evidence.services.officers import OfficerService
    from evidence.services.reporting import ReportService
    from evidence.services.signatures import SignatureService
    from evidence.services.storage import StorageService
    from evidence.services.timestamping import TimestampService
    from evidence.services.trust import TrustService
    from evidence.services.verifying import VerifyService
    from evidence.verification import VerifyOptions

_SigningOfficer = ReportSigner | None
"""One officer signs per command: a co-signer signs in a step of their own."""


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
        self.engine = open_engine(self.settings.database_url)
        self.store: ArtifactStore = store_for(self.settings, clock)
        self.context = ServiceContext(self.settings, self.engine, self.store, clock, new_id)
        self._shares_engine = False

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
        """Stop the development TSA if one was started, and release the database."""
        if "timestamping" in vars(self):
            self.timestamping.close()
        if "jobs" in vars(self):
            self.jobs.close()
        if not self._shares_engine:
            self.engine.dispose()

    # -- the services, each built on first use -------------------------------

    @cached_property
    def cases(self) -> CaseService:
        from evidence.services.cases import CaseService

        return CaseService(self.context)

    @cached_property
    def officers(self) -> OfficerService:
        from evidence.services.officers import OfficerService

        return OfficerService(self.context)

    @cached_property
    def storage(self) -> StorageService:
        """The artifact store's backend: ``migrate`` a local store to S3, ``check`` it."""
        from evidence.services.storage import StorageService

        return StorageService(self.context)

    @cached_property
    def signatures(self) -> SignatureService:
        from evidence.services.signatures import SignatureService

        return SignatureService(self.context)

    @cached_property
    def captures(self) -> CaptureService:
        from evidence.services.captures import CaptureService

        return CaptureService(self.context)

    @cached_property
    def batches(self) -> BatchCaptureService:
        from evidence.services.batches import BatchCaptureService

        return BatchCaptureService(self.settings.home, self.cases, self.captures, self.complete)

    @cached_property
    def timestamping(self) -> TimestampService:
        from evidence.services.timestamping import TimestampService

        return TimestampService(self.context)

    @cached_property
    def chains(self) -> ChainAccess:
        from evidence.services.chains import ChainAccess

        return ChainAccess(self.settings)

    @cached_property
    def checkpoints(self) -> ChainCheckpoints:
        from evidence.services.checkpoints import ChainCheckpoints

        return ChainCheckpoints(self.context, self.chains, self.timestamping)

    @cached_property
    def anchors(self) -> AnchorService:
        from evidence.services.anchors import AnchorService

        return AnchorService(self.context, self.chains, self.checkpoints)

    @cached_property
    def completion(self) -> CompletionService:
        from evidence.services.completion import CompletionService

        return CompletionService(self.context, self.cases, self.timestamping, self.anchors)

    @cached_property
    def jobs(self) -> JobService:
        """Jobs for the workers: ``submit`` (written, then published), ``status``,
        ``list``, ``cancel``, ``sweep``; ``run`` and ``anchor_due`` in a worker."""
        from evidence.services.jobs import JobService

        return JobService(self.context, self)

    @cached_property
    def artifacts(self) -> ArtifactService:
        """An item's sealed files by name and its manifest (the agency service's reads)."""
        from evidence.services.artifacts import ArtifactService

        return ArtifactService(self.context)

    @cached_property
    def identity(self) -> IdentityService:
        """The agency service's users, roles, passwords and bearer tokens."""
        from evidence.services.identity import IdentityService

        return IdentityService(self.context)

    def acting_as(self, actor: str) -> Toolkit:
        """A toolkit on the same database and store whose custody events name ``actor``
        (the agency service's authenticated user); closing it leaves the database open."""
        import dataclasses

        view = Toolkit.__new__(Toolkit)
        view.settings = dataclasses.replace(self.settings, operator=actor)
        view.clock, view.new_id = self.clock, self.new_id
        view.engine, view.store = self.engine, self.store
        view.context = ServiceContext(
            view.settings, self.engine, self.store, self.clock, self.new_id
        )
        view._shares_engine = True
        return view

    @cached_property
    def custody(self) -> CustodyService:
        from evidence.services.custody import CustodyService

        return CustodyService(self.context)

    @cached_property
    def reports(self) -> ReportService:
        from evidence.services.reporting import ReportService

        return ReportService(
            self.context,
            self.cases,
            self.chains,
            self.timestamping,
            self.custody,
            self.signatures,
        )

    @cached_property
    def exports(self) -> ExportService:
        from evidence.services.exports import ExportService

        return ExportService(
            self.context,
            self.cases,
            self.reports,
            self.signatures,
            self.custody,
            self.timestamping,
        )

    @cached_property
    def verification(self) -> VerifyService:
        from evidence.services.verifying import VerifyService

        return VerifyService(self.context, self.chains, self.timestamping, self.trust)

    @cached_property
    def trust(self) -> TrustService:
        """The expert's trust configuration (``evidence trust``)."""
        from evidence.services.trust import TrustService

        return TrustService(self.context, self.chains, self.officers)

    @cached_property
    def maintenance(self) -> MaintenanceService:
        from evidence.services.maintenance import MaintenanceService

        return MaintenanceService(self.context)

    # -- policies callers may change -----------------------------------------

    @property
    def actor(self) -> str:
        """Who the custody log names for actions of this toolkit instance."""
        return self.context.actor

    @property
    def tsa_retry(self) -> RetryPolicy:
        """Tries per TSA and back-off (tests and callers may replace it)."""
        return self.timestamping.retry

    @tsa_retry.setter
    def tsa_retry(self, policy: RetryPolicy) -> None:
        self.timestamping.retry = policy

    @property
    def checkpoint_after_batch(self) -> bool:
        """Timestamp the local chain's head after each batch anchored there."""
        return self.anchors.checkpoint_after_batch

    @checkpoint_after_batch.setter
    def checkpoint_after_batch(self, value: bool) -> None:
        self.anchors.checkpoint_after_batch = value

    # -- cases and items: see CaseService --------------------------------------

    def create_case(
        self,
        number: str,
        title: str,
        *,
        cause: str = "",
        agency: str = "",
        officers: Sequence[str] = (),
        exist_ok: bool = False,
        place: str = "",
        purpose: str = "",
    ) -> CaseInfo:
        return self.cases.create_case(
            number,
            title,
            cause=cause,
            agency=agency,
            officers=officers,
            exist_ok=exist_ok,
            place=place,
            purpose=purpose,
        )

    def get_case(self, number: str) -> CaseInfo:
        return self.cases.get_case(number)

    def list_cases(self) -> list[CaseInfo]:
        return self.cases.list_cases()

    def get_item(self, item_id: str) -> ItemInfo:
        return self.cases.get_item(item_id)

    def list_items(self, case_number: str | None = None) -> list[ItemInfo]:
        return self.cases.list_items(case_number)

    def pending_items(self) -> list[ItemInfo]:
        return self.cases.pending_items()

    def find_items(
        self,
        *,
        case_number: str | None = None,
        sha256: str | None = None,
        url: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ItemInfo]:
        return self.cases.find_items(
            case_number=case_number, sha256=sha256, url=url, since=since, until=until
        )

    # -- capture and seal: see CaptureService, BatchCaptureService -------------

    def capture(
        self,
        case_number: str,
        url: str,
        options: CaptureOptions | None = None,
        *,
        officer: str | None = None,
        place: str | None = None,
        purpose: str | None = None,
    ) -> ItemInfo:
        return self.captures.capture(
            case_number, url, options, officer=officer, place=place, purpose=purpose
        )

    @staticmethod
    def load_steps(path: Path) -> tuple[CaptureStep, ...]:
        from evidence.services.captures import load_steps

        return load_steps(path)

    def capture_many(
        self,
        case_number: str,
        urls: Sequence[str],
        options: CaptureOptions | None = None,
        *,
        jobs: int = 2,
        on_result: Callable[[BatchCaptureResult], None] | None = None,
        state_path: Path | None = None,
        officer: str | None = None,
        place: str | None = None,
        purpose: str | None = None,
    ) -> list[BatchCaptureResult]:
        return self.batches.capture_many(
            case_number,
            urls,
            options,
            jobs=jobs,
            on_result=on_result,
            state_path=state_path,
            circumstances=CaptureCircumstances(officer, place, purpose),
        )

    def capture_list(
        self,
        case_number: str,
        url_list: Path,
        options: CaptureOptions,
        *,
        jobs: int = 1,
        complete: bool = True,
        on_start: Callable[[int, Path], None] | None = None,
        on_result: Callable[[BatchCaptureResult], None] | None = None,
        officer: str | None = None,
        place: str | None = None,
        purpose: str | None = None,
    ) -> BatchSummary:
        return self.batches.capture_list(
            case_number,
            url_list,
            options,
            jobs=jobs,
            complete=complete,
            on_start=on_start,
            on_result=on_result,
            circumstances=CaptureCircumstances(officer, place, purpose),
        )

    # -- timestamps, anchors and the chain ------------------------------------

    def timestamp(self, item_id: str, *, officer: str = "") -> ItemInfo:
        return self.timestamping.timestamp(item_id, officer=officer)

    def timestamps(self, item_id: str) -> list[TimestampToken]:
        return self.timestamping.timestamps(item_id)

    def anchor(self, item_id: str, *, officer: str = "") -> ItemInfo:
        return self.anchors.anchor(item_id, officer=officer)

    def anchor_pending(self, *, max_items: int | None = None, officer: str = "") -> list[BatchInfo]:
        return self.anchors.anchor_pending(max_items=max_items, officer=officer)

    def anchor_batch(
        self, item_ids: Sequence[str], *, extra_leaves: Sequence[bytes] = ()
    ) -> BatchInfo:
        return self.anchors.anchor_batch(item_ids, extra_leaves=extra_leaves)

    def recheck_anchors(
        self, min_confirmations: int | None = None, *, officer: str = "", reason: str = ""
    ) -> list[RecheckResult]:
        return self.anchors.recheck_anchors(min_confirmations, officer=officer, reason=reason)

    def timestamp_chain_head(self, *, batch_id: str | None = None) -> CheckpointInfo:
        return self.checkpoints.timestamp_chain_head(batch_id=batch_id)

    def deploy_registry(self) -> str:
        return self.chains.deploy_registry()

    def authorize_submitter(self, address: str) -> str:
        return self.chains.authorize_submitter(address)

    def chain_status(self) -> ChainStatus:
        return self.chains.chain_status()

    def local_chain_rpc_url(self) -> str:
        return self.chains.local_chain_rpc_url()

    def local_chain_identity(self) -> LocalChainIdentity:
        """Chain id, RPC URL, registry and own submitter of this data directory's local chain."""
        return self.chains.local_chain_identity()

    def stop_local_chain(self) -> None:
        self.chains.stop_local_chain()

    def complete(self, item_id: str, *, officer: str | None = None) -> CompletionResult:
        """``officer`` None: the capturing officer completes it (as right after a capture)."""
        return self.completion.complete(item_id, officer=officer)

    def capture_and_complete(
        self,
        case_number: str,
        url: str,
        options: CaptureOptions | None = None,
        *,
        officer: str | None = None,
        place: str | None = None,
        purpose: str | None = None,
    ) -> CompletionResult:
        """Capture and seal ``url``, then timestamp and anchor it (see :meth:`complete`).

        The timestamp and chain clients load while the browser works, so the
        whole takes little more than the capture itself.
        """
        loading = preload(COMPLETION_MODULES)
        try:
            item = self.capture(
                case_number, url, options, officer=officer, place=place, purpose=purpose
            )
        finally:
            loading.join()
        return self.complete(item.id)

    def complete_pending(self, *, officer: str | None = None) -> list[CompletionResult]:
        return self.completion.complete_pending(officer=officer)

    # -- reports and exports: see ReportService, ExportService -----------------

    def report(
        self,
        item_id: str,
        out_path: Path,
        *,
        language: str = "zh",
        sign_with: _SigningOfficer = None,
        custody: Sequence[CustodyLine] = (),
        query_chain: bool = True,
        officer: str = "",
        reason: str = "",
    ) -> Path:
        return self.reports.report(
            item_id,
            out_path,
            language=language,
            sign_with=sign_with,
            custody=custody,
            query_chain=query_chain,
            officer=officer,
            reason=reason,
        )

    def cosign_report(
        self, pdf: Path, signer: ReportSigner, *, out_path: Path | None = None, reason: str = ""
    ) -> Path:
        return self.reports.cosign_report(pdf, signer, out_path=out_path, reason=reason)

    def case_report(
        self,
        case_number: str,
        out_path: Path,
        *,
        language: str = "zh",
        officer: str = "",
        reason: str = "",
    ) -> Path:
        return self.reports.case_report(
            case_number, out_path, language=language, officer=officer, reason=reason
        )

    def export(
        self,
        item_id: str,
        out_path: Path,
        *,
        language: str = "zh",
        sign_with: _SigningOfficer = None,
        custody: Sequence[CustodyLine] = (),
        custody_jsonl: bytes | None = None,
        exported_by: ReportSigner | None = None,
        reason: str = "",
    ) -> Path:
        return self.exports.export(
            item_id,
            out_path,
            language=language,
            sign_with=sign_with,
            custody=custody,
            custody_jsonl=custody_jsonl,
            exported_by=exported_by,
            reason=reason,
        )

    def export_case(
        self,
        case_number: str,
        out_path: Path,
        *,
        language: str = "zh",
        sign_with: _SigningOfficer = None,
        exported_by: ReportSigner | None = None,
        reason: str = "",
    ) -> Path:
        return self.exports.export_case(
            case_number,
            out_path,
            language=language,
            sign_with=sign_with,
            exported_by=exported_by,
            reason=reason,
        )

    def export_wacz(
        self,
        item_id: str,
        out_path: Path,
        *,
        language: str = "zh",
        sign_with: _SigningOfficer = None,
        with_evidence: bool = True,
        exported_by: ReportSigner | None = None,
        reason: str = "",
    ) -> Path:
        return self.exports.export_wacz(
            item_id,
            out_path,
            language=language,
            sign_with=sign_with,
            with_evidence=with_evidence,
            exported_by=exported_by,
            reason=reason,
        )

    # -- verification: see VerifyService ----------------------------------------

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
        trust_file: Path | None = None,
    ) -> VerificationReport:
        return self.verification.verify(
            bundle,
            trust_file=trust_file,
            rpc_url=rpc_url,
            trust_roots_pem=trust_roots_pem,
            offline=offline,
            options=options,
            report_path=report_path,
            report_language=report_language,
            verifier_name=verifier_name,
            report_signer=report_signer,
            report_tsa_url=report_tsa_url,
            report_tsa_roots_pem=report_tsa_roots_pem,
        )

    @staticmethod
    def expert_signer(
        key_pem: bytes, cert_pem: bytes, passphrase: str | bytes | None = None
    ) -> ReportSigner:
        from evidence.services.verifying import VerifyService

        return VerifyService.expert_signer(key_pem, cert_pem, passphrase)

    # -- officers and manifest signatures: see OfficerService, SignatureService --

    def add_officer(
        self,
        name: str,
        enforcement_id: str,
        *,
        agency: str | None = None,
        passphrase: str | bytes,
        algorithm: str | None = None,
        self_signed: bool = True,
        validity_days: int | None = None,
    ) -> OfficerInfo:
        return self.officers.add_officer(
            name,
            enforcement_id,
            agency=agency,
            passphrase=passphrase,
            algorithm=algorithm,
            self_signed=self_signed,
            validity_days=validity_days,
        )

    def get_officer(self, enforcement_id: str) -> OfficerInfo:
        return self.officers.get_officer(enforcement_id)

    def list_officers(self) -> list[OfficerInfo]:
        return self.officers.list_officers()

    def officer_csr(self, enforcement_id: str, passphrase: str | bytes) -> bytes:
        return self.officers.officer_csr(enforcement_id, passphrase)

    def import_officer_certificate(self, enforcement_id: str, cert_pem: bytes) -> OfficerInfo:
        return self.officers.import_officer_certificate(enforcement_id, cert_pem)

    def assign_officer(self, case_number: str, enforcement_id: str) -> CaseInfo:
        return self.officers.assign_officer(case_number, enforcement_id)

    def set_default_officer(self, enforcement_id: str) -> OfficerInfo:
        return self.officers.set_default_officer(enforcement_id)

    def default_officer(self) -> OfficerInfo | None:
        return self.officers.default_officer()

    def report_signer(self, enforcement_id: str, passphrase: str | bytes) -> ReportSigner:
        return self.officers.report_signer(enforcement_id, passphrase)

    def sign_item(
        self, item_id: str, enforcement_id: str, passphrase: str | bytes, *, role: str = "capture"
    ) -> SignatureInfo:
        return self.signatures.sign_item(item_id, enforcement_id, passphrase, role=role)

    def item_signatures(self, item_id: str) -> list[SignatureInfo]:
        return self.signatures.item_signatures(item_id)

    def verify_item_signatures(
        self, item_id: str, trust_roots: Sequence[x509.Certificate] | None = None
    ) -> list[SignerInfo]:
        return self.signatures.verify_item_signatures(item_id, trust_roots)

    # -- custody and maintenance: see CustodyService, MaintenanceService --------

    def record_custody(
        self,
        action: CustodyAction,
        *,
        item_id: str | None = None,
        reason: str = "",
        details: dict[str, Any] | None = None,
        officer: str = "",
    ) -> None:
        self.custody.record_custody(
            action, item_id=item_id, reason=reason, details=details, officer=officer
        )

    def custody_lines(self, item_id: str) -> tuple[CustodyLine, ...]:
        return self.custody.custody_lines(item_id)

    def custody_extract(self, item_id: str) -> bytes:
        return self.custody.custody_extract(item_id)

    def verify_custody_log(self) -> LogVerification:
        return self.custody.verify_custody_log()

    def doctor(
        self,
        *,
        deep: bool = False,
        officer: str | None = None,
        reason: str = "",
        attribution_required: bool = False,
    ) -> DoctorReport:
        return self.maintenance.doctor(
            deep=deep, officer=officer, reason=reason, attribution_required=attribution_required
        )

    def acting_officer(self, enforcement_id: str | None, *, item_id: str | None = None) -> str:
        """The enforcement ID a command acts as: the one named, else the account's default."""
        from evidence.services.acting import acting_officer

        return acting_officer(self.context, enforcement_id, item_id=item_id)
