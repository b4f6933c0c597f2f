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

from evidence.model.capture_record import CaptureRecord
from evidence.model.errors import LifecycleError
from evidence.model.manifest import capture_from_json
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
from evidence.services.timestamping import TimestampService, trust_roots_of
from reports.case_report import CaseReportInput, CaseReportItem, render_case_report
from reports.pdf import render_report


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
    ) -> None:
        self._ctx = context
        self._cases = cases
        self._chains = chains
        self._timestamping = timestamping
        self._custody = custody

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
        timestamp from the configured TSAs. ``query_chain`` asks the chain for
        the anchor's current confirmations; when it cannot be reached the
        report says "not queried" instead.
        """
        data = self.report_input(item_id, language, custody=custody, query_chain=query_chain)
        signers = (
            []
            if sign_with is None
            else [sign_with]
            if isinstance(sign_with, ReportSigner)
            else list(sign_with)
        )
        if not signers:
            rendered = render_report(data, out_path)
            self._custody.record_output(
                CustodyAction.REPORT, data.item_id, rendered, {"language": language}
            )
            return rendered
        with tempfile.TemporaryDirectory(prefix="evidence-report-") as tmp:
            signed = self._render_signed(data, signers, Path(tmp))
            out_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(signed, out_path)
        self._custody.record_output(
            CustodyAction.REPORT,
            data.item_id,
            out_path,
            {"language": language, "signed_by": [s.label for s in signers]},
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
            )
        # Section titles ("trusted time-stamp") follow this machine's trust configuration.
        standings = report_standings(
            self._ctx.settings.home, data.timestamp, data.anchor, data.manifest_sha256
        )
        data = replace(
            data, timestamp_standing=standings.timestamp, anchor_standing=standings.anchor
        )
        if query_chain and data.anchor is not None:
            data = replace(data, anchor_check=self._chains.current_anchor_check(data.anchor))
        return data

    def case_report(self, case_number: str, out_path: Path, *, language: str = "zh") -> Path:
        """Write one PDF listing every item of the case with its hashes, times and anchors."""
        check_language(language)
        case = self._cases.get_case(case_number)
        items = self._cases.list_items(case.number)
        return render_case_report(
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
                    )
                    for i in items
                    ],
                ),
                language=language,
            ),
            out_path,
        )

    def _render_signed(self, data: ReportInput, signers: list[ReportSigner], tmp: Path) -> Path:
        """Render, then sign once per officer; each signature timestamped by our TSA client."""
        from reports.signing import sign_pdf

        configs = self._timestamping.tsa_configs()
        timestamper = self._timestamping.pdf_timestamper(configs)
        current = render_report(data, tmp / "unsigned.pdf")
        for number, signer in enumerate(signers, start=1):
            current = sign_pdf(
                current,
                tmp / f"signed-{number}.pdf",
                key=signer.key,
                certificate=signer.certificate,
                chain=signer.chain,
                field_name=f"Officer{number}",
                signer_label=signer.label,
                timestamper=timestamper,
                tsa_roots=trust_roots_of(configs),
            )
        return current

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
