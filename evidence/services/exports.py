"""Exports: the self-contained item bundle, the case bundle and the WACZ.

The bundle writer checks every artifact against the manifest as it copies it
out of the store, so a damaged store never produces a bundle; every export
is logged in the item's custody with the file's SHA-256.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evidence.model.errors import LifecycleError
from evidence.model.manifest import capture_from_json
from evidence.model.records import CustodyAction, CustodyLine, ReportSigner
from evidence.model.tables import Case
from evidence.model.version import __version__
from evidence.services._context import ServiceContext
from evidence.services.anchors import custody_anchor
from evidence.services.cases import CaseService, artifact_rows, item_info, item_row
from evidence.services.custody import CustodyService
from evidence.services.reporting import ReportService
from evidence.services.signatures import SignatureService
from reports.bundle import layout as bf
from reports.bundle.wacz import WaczInput, WaczPage, write_wacz
from reports.bundle.writer import CaseBundleInput, write_bundle, write_case_bundle


class ExportService:
    def __init__(
        self,
        context: ServiceContext,
        cases: CaseService,
        reports: ReportService,
        signatures: SignatureService,
        custody: CustodyService,
    ) -> None:
        self._ctx = context
        self._cases = cases
        self._reports = reports
        self._signatures = signatures
        self._custody = custody

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
            data = self.bundle_input(
                item_id,
                Path(tmp),
                language=language,
                sign_with=sign_with,
                custody=custody,
                custody_jsonl=custody_jsonl,
            )
            written = write_bundle(data, out_path)
        self._custody.record_output(
            CustodyAction.EXPORT, data.item_id, written, {"language": language}
        )
        return written

    def bundle_input(
        self,
        item_id: str,
        tmp: Path,
        *,
        language: str,
        sign_with: ReportSigner | Sequence[ReportSigner] | None = None,
        custody: Sequence[CustodyLine] = (),
        custody_jsonl: bytes | None = None,
    ) -> bf.BundleInput:
        """What the bundle of one item holds; its report PDF is rendered into ``tmp``."""
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
        )

    def export_case(self, case_number: str, out_path: Path, *, language: str = "zh") -> Path:
        """One zip for a whole case: ``items/<item-id>/`` per sealed item, plus case sums.

        Items that are not sealed (still capturing, or failed) have no
        evidence to bundle and are left out; the case report lists them.
        """
        case = self._cases.get_case(case_number)
        items = [i for i in self._cases.list_items(case.number) if i.manifest_sha256 is not None]
        if not items:
            raise LifecycleError(f"case {case.number} has no sealed items to export")
        with tempfile.TemporaryDirectory(prefix="evidence-case-") as tmp:
            inputs = tuple(
                self.bundle_input(item.id, Path(tmp), language=language) for item in items
            )
            return write_case_bundle(
                CaseBundleInput(
                    case_number=case.number,
                    case_title=case.title,
                    created_at=self._ctx.clock(),
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
        wacz = self._wacz_input(item_id)
        with tempfile.TemporaryDirectory(prefix="evidence-wacz-") as tmp:
            bundle = (
                self.export(
                    wacz.item_id, Path(tmp) / "bundle.zip", language=language, sign_with=sign_with
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
        self._custody.record_output(
            CustodyAction.EXPORT_WACZ, wacz.item_id, written, {"evidence": with_evidence}
        )
        return written

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
