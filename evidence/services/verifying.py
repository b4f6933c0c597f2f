"""Verifying a bundle or WACZ against the expert's trust, and the verification report.

The verifier itself knows nothing of this data directory; this service adds
the expert's trust configuration (``evidence trust``: nothing of this
machine is trusted unless it says so), wakes this data directory's local
node when a trusted entry names it, and timestamps an expert's signature on
the verification report with the toolkit's TSA client. When the verified
bundle is one of ours, the item's custody log records the check.
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
    TrustStanding,
    VerificationReport,
)
from evidence.model.redaction import redact_url
from evidence.model.tables import EvidenceItem
from evidence.model.version import __version__, dependency_versions
from evidence.services._context import ServiceContext
from evidence.services._report_trust import bundle_standings
from evidence.services.chains import ChainAccess
from evidence.services.timestamping import TimestampService, trust_roots_of
from evidence.services.trust import TrustService
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
        trust: TrustService,
    ) -> None:
        self._ctx = context
        self._chains = chains
        self._timestamping = timestamping
        self._trust = trust

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
        """Verify a bundle or a WACZ against the expert's trust configuration.

        The configuration is ``trust_file``, else the data directory's (see
        :meth:`TrustService.trust_path`); ``options`` adds the command line's
        roots and chain, and (when given) replaces ``rpc_url``/``trust_roots_pem``/``offline``.
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
            options, started_local = self._with_trust(bundle, options, trust_file)
            run = run_verification(bundle, options)
        finally:
            if started_local:
                # A verification leaves no process behind: the node it woke goes back down.
                self._chains.stop_local_chain()
        if report_path is not None:
            # Titled as the item report titles them: by the trust configuration just used.
            standings = bundle_standings(bundle, options.trust, run.report.manifest_sha256)
            self._write_report(
                run, report_path, report_language, verifier_name, report_signer, standings
            )
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
                    f"{redact_url(tsa_url)} is not a configured TSA: give its trust roots "
                    "(--tsa-roots) to sign the report with its timestamps"
                )
        return self._timestamping.pdf_timestamper(chosen), trust_roots_of(chosen)

    def _with_trust(
        self, bundle: Path, options: VerifyOptions, trust_file: Path | None
    ) -> tuple[VerifyOptions, bool]:
        """The options with the trust configuration, and whether the local node was started.

        A trusted entry naming this data directory's local node gets its
        endpoint here, the node being woken only when the bundle was anchored
        on that chain and this machine has a chain with history: a fresh,
        empty node could only make a genuine bundle fail.
        """
        policy = self._trust.trust_policy(trust_file).merged(options.trust)
        local = [c for c in policy.chains if c.local_node]
        started = False
        if local and not options.offline:
            anchor = _recorded_anchor(bundle, options)
            wanted = anchor is not None and any(c.chain_id == anchor.chain_id for c in local)
            if wanted and self._chains.local_chain_has_history():
                started = not self._chains.local_chain_running()
                url = self._chains.local_chain_rpc_url()
                policy = replace(
                    policy,
                    chains=tuple(
                        replace(c, rpc_urls=(url, *c.rpc_urls)) if c.local_node else c
                        for c in policy.chains
                    ),
                )
        return replace(options, trust=policy), started

    def _write_report(
        self,
        run: VerificationRun,
        report_path: Path,
        language: str,
        verifier_name: str,
        signer: ReportSigner | None,
        standings: tuple[TrustStanding | None, TrustStanding | None] = (None, None),
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
                timestamp_standing=standings[0],
                anchor_standing=standings[1],
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
