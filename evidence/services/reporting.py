"""The evidence report PDF of an item, optionally signed by officers, and the case report.

The report is rendered from the sealed record only (the stored capture JSON
and the store's artifacts), so it says what the manifest says; the chain is
asked for the anchor's current confirmations, and "not queried" is printed
when it cannot be reached.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from evidence.model.capture_record import CaptureRecord
from evidence.model.errors import AttributionError, LifecycleError, ReportError
from evidence.model.manifest import capture_from_json, parse_manifest
from evidence.model.records import (
    CustodyAction,
    CustodyLine,
    ExhibitRow,
    ReportInput,
    ReportSigner,
)
from evidence.model.store import ArtifactStore
from evidence.model.tables import Artifact, Case
from evidence.model.version import __version__
from evidence.services._context import ServiceContext
from evidence.services._report_trust import case_items_with_standings, report_standings
from evidence.services.cases import CaseService, artifact_rows, item_info, item_row
from evidence.services.chains import ChainAccess
from evidence.services.custody import CustodyService
from evidence.services.officers import case_officers
from evidence.services.signatures import SignatureService
from evidence.services.timestamping import TimestampService, trust_roots_of
from reports.case_report import CaseReportInput, CaseReportItem, render_case_report
from reports.pdf import render_report

if TYPE_CHECKING:
    from cryptography import x509


def check_language(language: str) -> None:
    if language not in ("zh", "en"):
        raise ValueError(f"language must be 'zh' or 'en', not {language!r}")


class ReportService:
    def __init__(
        self,
        context: ServiceContext,
        cases: CaseService,
        chains: ChainAccess,
        timestamping: TimestampService,
        custody: CustodyService,
        signatures: SignatureService,
    ) -> None:
        self._ctx = context
        self._cases = cases
        self._chains = chains
        self._timestamping = timestamping
        self._custody = custody
        self._signatures = signatures

    def report(
        self,
        item_id: str,
        out_path: Path,
        *,
        language: str = "zh",
        sign_with: ReportSigner | None = None,
        custody: Sequence[CustodyLine] = (),
        query_chain: bool = True,
        officer: str = "",
        reason: str = "",
    ) -> Path:
        """Write the evidence report PDF (PDF/A-2b) for a sealed item.

        ``sign_with`` signs it (PAdES, with an RFC 3161 timestamp from the
        configured TSAs) as one officer; a second officer co-signs afterwards,
        with their own key, in a step of their own (:meth:`cosign_report`).
        ``officer`` is who makes the report when nobody signs it (the custody
        actor; default the signer), ``reason`` why or for whom. ``custody``
        defaults to the item's own custody log. ``query_chain`` asks the chain
        for the anchor's current confirmations; when it cannot be reached the
        report says "not queried" instead.
        """
        if not isinstance(sign_with, ReportSigner | None):
            raise TypeError("sign_with is one officer: a co-signer signs in a step of their own")
        actor = _actor(officer, sign_with)
        if not custody:
            custody = self._custody.custody_lines(item_id)
        data = self.report_input(item_id, language, custody=custody, query_chain=query_chain)
        details: dict[str, object] = {"language": language}
        if sign_with is None:
            written = render_report(data, out_path)
        else:
            with tempfile.TemporaryDirectory(prefix="evidence-report-") as tmp:
                unsigned = render_report(data, Path(tmp) / "unsigned.pdf")
                signed = self._sign(unsigned, Path(tmp) / "signed.pdf", sign_with, "Officer1")
                out_path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(signed, out_path)
            written = out_path
            details["signed_by"] = [sign_with.label]
        self._custody.record_output(
            CustodyAction.REPORT, data.item_id, written, details, officer=actor, reason=reason
        )
        return written

    def cosign_report(
        self, pdf: Path, signer: ReportSigner, *, out_path: Path | None = None, reason: str = ""
    ) -> Path:
        """Add ``signer``'s PAdES signature (timestamped) to a signed report, as an
        incremental update that leaves the earlier signatures intact.

        The co-signer is an officer of the report's case who has not signed it yet;
        the report must name a sealed item of this toolkit and its manifest digest.
        Writes ``out_path`` (default: ``pdf`` itself, replaced only once signed).
        """
        item_id, fields, signed_by = self._signed_report_of(pdf)
        self._check_cosigner(item_id, signer)
        if _fingerprint(signer.certificate) in signed_by:
            raise AttributionError(
                f"{signer.label or signer.enforcement_id} has signed {pdf.name} already: "
                "a co-signature is another officer's"
            )
        out_path = pdf if out_path is None else out_path
        before = _sha256_of(pdf)
        field = f"Officer{len(fields) + 1}"
        with tempfile.TemporaryDirectory(prefix="evidence-cosign-") as tmp:
            signed = self._sign(pdf, Path(tmp) / "cosigned.pdf", signer, field)
            out_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(signed, out_path)
        self._custody.record_output(
            CustodyAction.SIGN,
            item_id,
            out_path,
            {"report_signature": field, "role": "cosign", "signed_by": signer.label},
            officer=signer.enforcement_id,
            reason=reason,
            hash_before=before,
        )
        return out_path

    def report_input(
        self,
        item_id: str,
        language: str,
        *,
        custody: Sequence[CustodyLine] = (),
        query_chain: bool = True,
    ) -> ReportInput:
        """Everything the report shows, read from the sealed item (and the chain)."""
        check_language(language)
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            if item.manifest_sha256 is None or item.manifest_sm3 is None:
                raise LifecycleError(f"item {item.id} is {item.status.value}, not sealed")
            case = session.get(Case, item.case_id)
            assert case is not None
            info = item_info(session, item)
            artifacts = artifact_rows(session, item.id)
            record = capture_from_json(json.loads(item.capture_json))
            screenshot = next((a for a in artifacts if a.role == "screenshot"), None)
            tiles = _tile_paths(self._ctx.store, record, artifacts, screenshot)
            if screenshot is None and not tiles:
                raise LifecycleError(f"item {item.id} has no screenshot")
            viewport = next((a for a in artifacts if a.role == "viewport-screenshot"), None)
            # Who, where and why as sealed: the report says what the manifest says.
            sealed = parse_manifest(self._ctx.store.read_bytes(item.manifest_sha256))
            data = ReportInput(
                report_number=f"{case.number}-{item.id[:8]}",
                generated_at=self._ctx.clock(),
                case_number=case.number,
                case_title=case.title,
                case_cause=case.cause,
                agency=case.agency,
                officers=tuple(o for o in case.officers.splitlines() if o),
                item_id=item.id,
                capture=record,
                screenshot_path=self._path_of(screenshot),
                exhibits=_exhibits(artifacts),
                manifest_sha256=item.manifest_sha256,
                manifest_sm3=item.manifest_sm3,
                timestamp=info.timestamp,
                anchor=info.anchor,
                tool_version=__version__,
                language=language,
                custody=tuple(custody),
                viewport_screenshot_path=self._path_of(viewport),
                screenshot_tiles=tiles,
                acting_officer=sealed.acting_officer,
                place=sealed.place or "",
                purpose=sealed.purpose or "",
            )
        # Section titles ("trusted time-stamp") follow this machine's trust configuration.
        standings = report_standings(
            self._ctx.settings.home, data.timestamp, data.anchor, data.manifest_sha256
        )
        data = replace(
            data, timestamp_standing=standings.timestamp, anchor_standing=standings.anchor
        )
        data = replace(
            data, manifest_signatures=tuple(self._signatures.item_signatures(data.item_id))
        )
        if query_chain and data.anchor is not None:
            data = replace(data, anchor_check=self._chains.current_anchor_check(data.anchor))
        return data

    def case_report(
        self,
        case_number: str,
        out_path: Path,
        *,
        language: str = "zh",
        officer: str = "",
        reason: str = "",
    ) -> Path:
        """Write one PDF listing every item of the case with its hashes, times and anchors;
        logged in custody like every other report (``officer`` made it, ``reason`` why)."""
        check_language(language)
        case = self._cases.get_case(case_number)
        items = self._cases.list_items(case.number)
        written = render_case_report(
            CaseReportInput(
                case_number=case.number,
                case_title=case.title,
                case_cause=case.cause,
                agency=case.agency,
                officers=case.officers,
                generated_at=self._ctx.clock(),
                tool_version=__version__,
                items=case_items_with_standings(
                    self._ctx.settings.home,
                    [
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
                            signatures=(
                                tuple(self._signatures.item_signatures(i.id))
                                if i.manifest_sha256
                                else ()
                            ),
                        )
                        for i in items
                    ],
                ),
                language=language,
            ),
            out_path,
        )
        self._custody.record_case_output(
            CustodyAction.REPORT,
            case.number,
            written,
            {"language": language, "items": [i.id for i in items]},
            officer=officer,
            reason=reason,
        )
        return written

    def _sign(self, pdf_in: Path, pdf_out: Path, signer: ReportSigner, field: str) -> Path:
        """One officer's PAdES signature, timestamped through our TSA client."""
        from reports.signing import sign_pdf

        configs = self._timestamping.tsa_configs()
        return sign_pdf(
            pdf_in,
            pdf_out,
            key=signer.key,
            certificate=signer.certificate,
            chain=signer.chain,
            field_name=field,
            signer_label=signer.label,
            timestamper=self._timestamping.pdf_timestamper(configs),
            tsa_roots=trust_roots_of(configs),
            signed_at=self._ctx.clock(),
        )

    def _signed_report_of(self, pdf: Path) -> tuple[str, list[str], set[str]]:
        """The item a signed report is about (its XMP identity, checked against the
        store), the names of the signature fields already signed and the SHA-256
        fingerprints of their signers' certificates."""
        import pikepdf
        from pyhanko.pdf_utils.reader import PdfFileReader

        from reports.pdfa import read_identity

        try:
            with pikepdf.open(pdf) as document:
                identity = read_identity(document)
            with pdf.open("rb") as stream:
                embedded = PdfFileReader(stream).embedded_signatures
                fields = [s.field_name for s in embedded]
                signed_by = {s.signer_cert.sha256.hex() for s in embedded}
        except (OSError, ValueError, pikepdf.PdfError) as exc:
            raise ReportError(f"{pdf}: not a report this toolkit can co-sign ({exc})") from exc
        if identity is None:
            raise ReportError(f"{pdf} names no evidence item: not a report of this toolkit")
        if not fields:
            raise ReportError(
                f"{pdf} carries no signature yet: the first officer signs it when it is made "
                "('evidence report ITEM --sign ENF_ID')"
            )
        with self._ctx.session() as session:
            item = item_row(session, identity.item_id)
            if item.manifest_sha256 != identity.manifest_sha256:
                raise ReportError(
                    f"{pdf} is about item {item.id} with manifest {identity.manifest_sha256}, "
                    f"but that item's manifest is {item.manifest_sha256}"
                )
            return item.id, fields, signed_by

    def _check_cosigner(self, item_id: str, signer: ReportSigner) -> None:
        """A co-signer is an officer on the item's case, and not one who signed the report."""
        if not signer.enforcement_id:
            raise AttributionError("a report is co-signed by an officer (enforcement ID)")
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            case = session.get(Case, item.case_id)
            assert case is not None
            on_case = {o.enforcement_id for o in case_officers(session, case)}
        if signer.enforcement_id not in on_case:
            raise AttributionError(
                f"officer {signer.enforcement_id} is not on case {case.number}; "
                f"assign them first ('evidence officer assign {case.number} "
                f"{signer.enforcement_id}')"
            )

    def _path_of(self, artifact: Artifact | None) -> Path | None:
        return self._ctx.store.path_for(artifact.sha256) if artifact is not None else None


def _tile_paths(
    store: ArtifactStore,
    record: CaptureRecord,
    artifacts: list[Artifact],
    screenshot: Artifact | None,
) -> tuple[Path, ...]:
    """The screenshot tiles to report, in page order, when the page was not stitched."""
    tile_artifacts = {a.name: a for a in artifacts if a.role == "screenshot-tile"}
    # A page too tall to stitch is reported from its tiles: a screenshot.png
    # kept beside them shows only the top of the page.
    if not tile_artifacts or (screenshot is not None and record.screenshots.stitched):
        return ()
    # Page order is the capture record's; artifacts come sorted by name.
    order = [t.name for t in record.screenshots.tiles]
    if sorted(order) != sorted(tile_artifacts):
        order = list(tile_artifacts)
    return tuple(store.path_for(tile_artifacts[n].sha256) for n in order)


def _exhibits(artifacts: list[Artifact]) -> tuple[ExhibitRow, ...]:
    return tuple(
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
    )


def _actor(officer: str, signer: ReportSigner | None) -> str:
    """Who makes a report: the named officer, else its signer; they must agree."""
    signing = signer.enforcement_id if signer is not None else ""
    if officer and signing and officer.strip() != signing:
        raise AttributionError(
            f"the report is made by officer {officer.strip()} but signed by {signing}: "
            "an officer signs only what they make"
        )
    return officer.strip() or signing


def _sha256_of(path: Path) -> str:
    import hashlib

    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _fingerprint(certificate: x509.Certificate) -> str:
    from cryptography.hazmat.primitives import hashes

    return certificate.fingerprint(hashes.SHA256()).hex()
