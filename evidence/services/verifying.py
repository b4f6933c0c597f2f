"""Verifying a bundle or WACZ with this toolkit's knowledge, and the verification report.

The verifier itself knows nothing of this data directory; this service adds
what the toolkit knows: its officers' certificates as signer roots, its own
local chain (started when a bundle was anchored there), and its TSA client
for timestamping an expert's signature on the verification report. When the
verified bundle is one of ours, the item's custody log records the check.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import select

from anchoring.tsa import TSAConfig
from evidence.model.errors import ConfigurationError, EvidenceError
from evidence.model.records import (
    AnchorReceipt,
    CustodyAction,
    ReportSigner,
    VerificationReport,
)
from evidence.model.tables import EvidenceItem
from evidence.model.version import __version__, dependency_versions
from evidence.services._context import ServiceContext
from evidence.services.chains import ChainAccess
from evidence.services.officers import OfficerService
from evidence.services.timestamping import TimestampService, trust_roots_of
from evidence.verification import VerificationRun, VerifyOptions, run_verification
from reports.bundle import layout as bf
from reports.bundle.reader import open_bundle
from reports.bundle.wacz_reader import EVIDENCE_BUNDLE, is_wacz

if TYPE_CHECKING:
    from reports.signing import PdfTimestamper

CONFIGURED_TSA = "configured"
"""``report_tsa_url`` value meaning this toolkit's own TSAs (failover as for evidence)."""


class VerifyService:
    def __init__(
        self,
        context: ServiceContext,
        chains: ChainAccess,
        timestamping: TimestampService,
        officers: OfficerService,
    ) -> None:
        self._ctx = context
        self._chains = chains
        self._timestamping = timestamping
        self._officers = officers

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
        """Verify a bundle or a WACZ; this machine's own local chain is used if the bundle names it.

        ``options`` (when given) replaces ``rpc_url``/``trust_roots_pem``/``offline``.
        With ``report_path`` the verification report PDF is written there too;
        with ``report_signer`` (see :meth:`expert_signer`) it is PAdES-signed as
        the expert, timestamped by ``report_tsa_url`` when given (``"configured"``
        means this toolkit's TSAs; the roots of a configured TSA are known, any
        other needs ``report_tsa_roots_pem``).
        """
        if report_signer is not None and report_path is None:
            raise ValueError("report_signer needs a report_path to sign")
        stamping: tuple[PdfTimestamper, bytes] | None = None
        if report_signer is not None and report_tsa_url is not None:
            stamping = self._report_timestamping(report_tsa_url, report_tsa_roots_pem)
        if options is None:
            options = VerifyOptions(
                rpc_url=rpc_url, trust_roots_pem=trust_roots_pem, offline=offline
            )
        started_local = False
        try:
            options, started_local = self._with_local_knowledge(bundle, options)
            run = run_verification(bundle, options)
        finally:
            if started_local:
                # A verification leaves no process behind: the node it woke goes back down.
                self._chains.stop_local_chain()
        if report_path is not None:
            self._write_report(run, report_path, report_language, verifier_name, report_signer)
            if report_signer is not None:
                _sign_report(report_path, report_signer, stamping)
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

    def _report_timestamping(
        self, tsa_url: str, roots_pem: bytes | None
    ) -> tuple[PdfTimestamper, bytes]:
        """The expert signature's timestamper: our TSA client, on the TSA(s) asked for."""
        if tsa_url == CONFIGURED_TSA:
            chosen = self._timestamping.tsa_configs()
        elif roots_pem is not None:
            chosen = [TSAConfig(url=tsa_url, trust_roots_pem=roots_pem)]
        else:
            chosen = [c for c in self._timestamping.tsa_configs() if c.url == tsa_url]
            if not chosen:
                raise ConfigurationError(
                    f"{tsa_url} is not a configured TSA: give its trust roots "
                    "(--tsa-roots) to sign the report with its timestamps"
                )
        return self._timestamping.pdf_timestamper(chosen), trust_roots_of(chosen)

    def _with_local_knowledge(
        self, bundle: Path, options: VerifyOptions
    ) -> tuple[VerifyOptions, bool]:
        """The options completed from this machine, and whether its local node was started."""
        started = False
        if options.signer_roots_pem is None:
            # This toolkit knows its own officers' certificates; an outside expert
            # passes the agency CA (or the officers' certificates) instead.
            options = replace(options, signer_roots_pem=self._officers.officer_certificates_pem())
        if not options.offline and options.rpc_url is None:
            settings = self._ctx.settings
            local = None
            if not settings.rpc_url:
                local, started = self._local_rpc_for(bundle, options)
            options = replace(options, rpc_url=local or settings.rpc_url or None)
        return options, started

    def _write_report(
        self,
        run: VerificationRun,
        report_path: Path,
        language: str,
        verifier_name: str,
        signer: ReportSigner | None,
    ) -> None:
        from reports.verification_report import (
            VerificationReportInput,
            render_verification_report,
        )

        render_verification_report(
            VerificationReportInput(
                result=run.report,
                setup=run.context,
                verified_at=self._ctx.clock(),
                tool_version=__version__,
                library_versions=tuple(sorted(dependency_versions().items())),
                verifier_name=verifier_name,
                language=language,
                signed=signer is not None,
            ),
            report_path,
        )

    def _log_verification(self, report: VerificationReport) -> None:
        """When the verified bundle is one of ours, its item's custody log says so."""
        if report.manifest_sha256 is None:
            return
        with self._ctx.session() as session:
            item = session.exec(
                select(EvidenceItem).where(EvidenceItem.manifest_sha256 == report.manifest_sha256)
            ).first()
            if item is None:
                return
            self._ctx.custody(
                session,
                CustodyAction.VERIFY,
                item_id=item.id,
                case_id=item.case_id,
                hash_before=report.manifest_sha256,
                details={
                    "bundle": Path(report.bundle).name,
                    "exit_code": report.exit_code,
                    "failures": len(report.failures),
                    "not_checked": len(report.not_checked),
                },
            )
            session.commit()

    def _local_rpc_for(self, bundle: Path, options: VerifyOptions) -> tuple[str | None, bool]:
        """This machine's local node, when the bundle names a local chain and this
        machine has one with history; and whether it had to be started.

        A machine without a local chain of its own never gets a fresh, empty node
        for the purpose: that node could only make a genuine bundle fail.
        """
        anchor = _recorded_anchor(bundle, options)
        if anchor is None or not anchor.development or not self._chains.local_chain_has_history():
            return None, False
        was_running = self._chains.local_chain_running()
        return self._chains.local_chain_rpc_url(), not was_running


def _recorded_anchor(bundle: Path, options: VerifyOptions) -> AnchorReceipt | None:
    """The anchor a bundle (or our WACZ's inner bundle) records, if it can be read.

    Only decides whether to start the local node: an unreadable bundle or
    anchor is left for the verifier itself to report, with its own findings.
    """
    try:
        source = open_bundle(bundle, options.limits)
    except EvidenceError:
        return None
    try:
        names = source.names()
        if bf.ANCHOR_JSON in names:
            with source.open(bf.ANCHOR_JSON) as stream:
                return bf.anchor_from_json(stream.read(1024 * 1024))
        if is_wacz(names) and EVIDENCE_BUNDLE in names:
            # Our WACZ carries the item bundle as one nested zip.
            with source.open(EVIDENCE_BUNDLE) as stream, zipfile.ZipFile(stream) as inner:
                return bf.anchor_from_json(inner.read(bf.ANCHOR_JSON)[: 1024 * 1024])
        return None
    except (EvidenceError, OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    finally:
        source.close()


def _sign_report(
    report_path: Path, signer: ReportSigner, stamping: tuple[PdfTimestamper, bytes] | None
) -> None:
    from reports.verification_report import sign_verification_report

    timestamper, roots = stamping if stamping is not None else (None, None)
    sign_verification_report(report_path, signer, timestamper=timestamper, tsa_roots_pem=roots)
