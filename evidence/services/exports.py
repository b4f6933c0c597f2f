"""Exports: the self-contained item bundle, the case bundle and the WACZ.

The bundle writer checks every artifact against the manifest as it copies it
out of the store, so a damaged store never produces a bundle; every export
is logged in the item's custody with the file's SHA-256.

Every bundle carries an index of all its files signed by the exporting
officer (``exported_by``, else the first of ``sign_with``), so an export
needs one: a bundle that nothing binds could never verify. The signature is
timestamped through the toolkit's TSA client when a TSA answers; when none
does, the bundle is still written, without the index token, and the
verifier says so.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.serialization import Encoding

from evidence.model.errors import LifecycleError, ReportError, TimestampError
from evidence.model.manifest import capture_from_json
from evidence.model.records import Clock, CustodyAction, CustodyLine, ReportSigner
from evidence.model.tables import Case
from evidence.model.version import __version__
from evidence.services._context import ServiceContext
from evidence.services.anchors import custody_anchor
from evidence.services.cases import CaseService, artifact_rows, item_info, item_row
from evidence.services.custody import CustodyService
from evidence.services.reporting import ReportService
from evidence.services.signatures import SignatureService
from evidence.services.timestamping import TimestampService
from reports.bundle import layout as bf
from reports.bundle.wacz import WaczInput, WaczPage, write_wacz
from reports.bundle.writer import CaseBundleInput, write_bundle, write_case_bundle

if TYPE_CHECKING:
    from evidence.model.officer_keys import OfficerPrivateKey

logger = logging.getLogger(__name__)

NO_SIGNER = (
    "a bundle needs the exporting officer's signature over its index: "
    "give exported_by or sign_with (on the command line, --sign ENF_ID)"
)


class ExportService:
    def __init__(
        self,
        context: ServiceContext,
        cases: CaseService,
        reports: ReportService,
        signatures: SignatureService,
        custody: CustodyService,
        timestamping: TimestampService,
    ) -> None:
        self._ctx = context
        self._cases = cases
        self._reports = reports
        self._signatures = signatures
        self._custody = custody
        self._timestamping = timestamping

    def export(
        self,
        item_id: str,
        out_path: Path,
        *,
        language: str = "zh",
        sign_with: ReportSigner | None = None,
        custody: Sequence[CustodyLine] = (),
        custody_jsonl: bytes | None = None,
        exported_by: ReportSigner | None = None,
        reason: str = "",
    ) -> Path:
        """Write the self-contained bundle zip (artifacts, manifest, token, anchor, report).

        The officer of ``sign_with`` signs the report PDF. ``exported_by``
        (default: ``sign_with``) signs the bundle's index and is the custody
        actor of the export, ``reason`` says for whom or why; without a signer
        :class:`ReportError` is raised before anything is written.
        """
        sealer = self._index_sealer(exported_by, sign_with)
        with tempfile.TemporaryDirectory(prefix="evidence-export-") as tmp:
            data = self.bundle_input(
                item_id,
                Path(tmp),
                language=language,
                sign_with=sign_with,
                custody=custody,
                custody_jsonl=custody_jsonl,
                officer=sealer.signer.enforcement_id,
                index_signer_pem=sealer.signer.certificate.public_bytes(Encoding.PEM),
            )
            written = write_bundle(data, out_path, seal_index=sealer)
        self._custody.record_output(
            CustodyAction.EXPORT,
            data.item_id,
            written,
            {
                "language": language,
                "index_signed_by": sealer.signer.label,
                "index_timestamped": not sealer.unstamped,
            },
            officer=sealer.signer.enforcement_id,
            reason=reason,
        )
        return written

    def bundle_input(
        self,
        item_id: str,
        tmp: Path,
        *,
        language: str,
        sign_with: ReportSigner | None = None,
        custody: Sequence[CustodyLine] = (),
        custody_jsonl: bytes | None = None,
        officer: str = "",
        index_signer_pem: bytes | None = None,
    ) -> bf.BundleInput:
        """What the bundle of one item holds; its report PDF is rendered into ``tmp``
        (made by ``officer``, the exporting officer, whose certificate
        ``index_signer_pem`` signers.txt names as the index's signer)."""
        if not custody:
            custody = self._custody.custody_lines(item_id)
        if custody_jsonl is None:
            custody_jsonl = self._custody.custody_extract(item_id) or None
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            if item.manifest_sha256 is None:
                raise LifecycleError(f"item {item.id} is {item.status.value}, not sealed")
            case = session.get(Case, item.case_id)
            assert case is not None
            info = item_info(session, item)
            artifacts = artifact_rows(session, item.id)
            # A damaged store must not produce a bundle: the writer checks every
            # artifact against the manifest as it copies it.
            manifest_bytes = self._ctx.store.read_bytes(item.manifest_sha256)
            sources = tuple((a.name, self._ctx.store.path_for(a.sha256)) for a in artifacts)
            custody_proof = custody_anchor(session, item.id) if info.anchor else None
        report_path = self._reports.report(
            info.id,
            tmp / f"report-{info.id}.pdf",
            language=language,
            sign_with=sign_with,
            custody=custody,
            officer=officer,
        )
        return bf.BundleInput(
            item_id=info.id,
            case_number=case.number,
            created_at=self._ctx.clock(),
            manifest_bytes=manifest_bytes,
            artifacts=sources,
            timestamp=info.timestamp,
            anchor=info.anchor,
            report_pdf=report_path,
            tool_version=__version__,
            custody_jsonl=custody_jsonl,
            signatures=bf.bundle_signatures(self._signatures.item_signatures(info.id)),
            custody_anchor=custody_proof,
            index_signer_pem=index_signer_pem,
        )

    def export_case(
        self,
        case_number: str,
        out_path: Path,
        *,
        language: str = "zh",
        sign_with: ReportSigner | None = None,
        exported_by: ReportSigner | None = None,
        reason: str = "",
    ) -> Path:
        """One zip for a whole case: ``items/<item-id>/`` per sealed item, plus case sums.

        Items that are not sealed (still capturing, or failed) have no
        evidence to bundle and are left out; the case report lists them.
        ``sign_with``, ``exported_by`` and ``reason`` as for :meth:`export`, for
        every item; the case export is logged in custody as well.
        """
        sealer = self._index_sealer(exported_by, sign_with)
        case = self._cases.get_case(case_number)
        items = [i for i in self._cases.list_items(case.number) if i.manifest_sha256 is not None]
        if not items:
            raise LifecycleError(f"case {case.number} has no sealed items to export")
        with tempfile.TemporaryDirectory(prefix="evidence-case-") as tmp:
            officer = sealer.signer.enforcement_id
            exporter_pem = sealer.signer.certificate.public_bytes(Encoding.PEM)
            inputs = tuple(
                self.bundle_input(
                    item.id,
                    Path(tmp),
                    language=language,
                    sign_with=sign_with,
                    officer=officer,
                    index_signer_pem=exporter_pem,
                )
                for item in items
            )
            written = write_case_bundle(
                CaseBundleInput(
                    case_number=case.number,
                    case_title=case.title,
                    created_at=self._ctx.clock(),
                    tool_version=__version__,
                    items=inputs,
                ),
                out_path,
                seal_index=sealer,
            )
        self._custody.record_case_output(
            CustodyAction.EXPORT,
            case.number,
            written,
            {"language": language, "items": [i.item_id for i in inputs]},
            officer=officer,
            reason=reason,
        )
        return written

    def export_wacz(
        self,
        item_id: str,
        out_path: Path,
        *,
        language: str = "zh",
        sign_with: ReportSigner | None = None,
        with_evidence: bool = True,
        exported_by: ReportSigner | None = None,
        reason: str = "",
    ) -> Path:
        """Write the item's WARC(s) as a WACZ for pywb / ReplayWeb.page.

        With ``with_evidence`` (the default) the item's evidence bundle, exactly
        as :meth:`export` writes it, travels inside as ``evidence/bundle.zip``,
        so ``evidence verify item.wacz`` can check the WACZ against the sealed
        manifest, its token, signatures and anchor; it then needs an exporting
        officer, as :meth:`export` does.
        """
        wacz = self._wacz_input(item_id)
        with tempfile.TemporaryDirectory(prefix="evidence-wacz-") as tmp:
            bundle = (
                self.export(
                    wacz.item_id,
                    Path(tmp) / "bundle.zip",
                    language=language,
                    sign_with=sign_with,
                    exported_by=exported_by,
                    reason=reason,
                )
                if with_evidence
                else None
            )
            written = write_wacz(
                WaczInput(
                    title=wacz.title,
                    description=(
                        f"evidence item {wacz.item_id}, manifest sha256 {wacz.manifest_sha256}"
                    ),
                    created_at=self._ctx.clock(),
                    software=f"evidence-toolkit {__version__}",
                    warcs=wacz.warcs,
                    pages=(wacz.page,),
                    package_fields=(
                        ("evidenceItem", wacz.item_id),
                        ("evidenceManifestSha256", wacz.manifest_sha256),
                    ),
                    evidence_bundle=bundle,
                ),
                out_path,
            )
        exporter = exported_by or sign_with
        self._custody.record_output(
            CustodyAction.EXPORT_WACZ,
            wacz.item_id,
            written,
            {"evidence": with_evidence},
            officer=exporter.enforcement_id if exporter is not None else "",
            reason=reason,
        )
        return written

    def _index_sealer(
        self, exported_by: ReportSigner | None, sign_with: ReportSigner | None
    ) -> OfficerIndexSealer:
        """The exporting officer's sealer; refused before any work when there is none."""
        if exported_by is None:
            exported_by = sign_with
        if exported_by is None:
            raise ReportError(NO_SIGNER)
        return OfficerIndexSealer(exported_by, self._ctx.clock, self._timestamping)

    def _wacz_input(self, item_id: str) -> _WaczSources:
        """The sealed item's WARCs (checked against their digests) and its one page."""
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            if item.manifest_sha256 is None:
                raise LifecycleError(f"item {item.id} is {item.status.value}, not sealed")
            case = session.get(Case, item.case_id)
            assert case is not None
            page = capture_from_json(json.loads(item.capture_json)).page
            warcs = [a for a in artifact_rows(session, item.id) if a.role == "warc"]
            for warc in warcs:
                self._ctx.store.verify(warc.sha256)
            return _WaczSources(
                item_id=item.id,
                manifest_sha256=item.manifest_sha256,
                title=f"{case.number} {page.title}".strip(),
                warcs=tuple(
                    (a.name.rsplit("/", 1)[-1], self._ctx.store.path_for(a.sha256)) for a in warcs
                ),
                page=WaczPage(
                    url=page.final_url or page.requested_url,
                    title=page.title,
                    captured_at=page.started_at,
                    id=item.id,
                ),
            )


@dataclass(frozen=True, slots=True)
class _WaczSources:
    item_id: str
    manifest_sha256: str
    title: str
    warcs: tuple[tuple[str, Path], ...]
    page: WaczPage


class OfficerIndexSealer:
    """Seals a bundle index: the exporting officer's CMS signature, then a token over it.

    The token is over the signature file (``bundle-index.p7s``), not the index:
    it proves the signature existed at genTime, and through the digest the
    signature carries, the index too, so an officer certificate revoked or
    expired later still leaves a signature that was made in time. And
    ``openssl ts -verify -data signed/bundle-index.p7s`` checks it as it is.
    """

    def __init__(self, signer: ReportSigner, clock: Clock, timestamping: TimestampService) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519

        key = signer.key
        if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise ReportError(
                f"{signer.label or 'the exporting officer'} has a "
                f"{type(key).__name__}: a bundle index is signed with ECDSA or Ed25519"
            )
        self.signer = signer
        self._key: OfficerPrivateKey = key
        self.unstamped = 0
        """How many indexes went out without a token (no TSA answered)."""
        self._clock = clock
        self._timestamping = timestamping

    def __call__(self, index: bytes) -> bf.IndexSeal:
        from evidence.model.signatures import sign_detached

        signature = sign_detached(
            index,
            self._key,
            self.signer.certificate,
            signing_time=self._clock(),
            chain=self.signer.chain,
        )
        try:
            token = self._timestamping.request_one(
                hashlib.sha256(signature).digest(), "bundle index"
            )
        except TimestampError as exc:
            # Nothing is lost without it: the signed index still binds every file,
            # and the verifier reports the missing token as NOT CHECKED.
            logger.warning("bundle index not timestamped: %s", exc.message)
            self.unstamped += 1
            return bf.IndexSeal(signature, None)
        return bf.IndexSeal(signature, token.response_der)
