"""The exhibit list: every sealed file with its size, SHA-256 and SM3, then the manifest's."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from reportlab.platypus import Flowable, PageBreak, Paragraph, Spacer, Table, TableStyle

from evidence.model.capture_record import CaptureRecord
from evidence.model.i18n import N_
from evidence.model.records import ExhibitRow, ReportInput
from reports._i18n import translate
from reports.pdf._descriptions import description_cell
from reports.pdf._screenshots import step_shot_label
from reports.pdf._wrap import WrapParagraph
from reports.pdf.layout import Layout
from reports.pdf.styles import FRAME_WIDTH, GRID, HEAD_BG, LABEL_BG

# role (as the capture record names it) -> its short name in the list; a role
# not named here (a newer capture's) is printed as recorded.
_ROLE_NAMES: dict[str, str] = {
    "screenshot": N_("Full-page screenshot"),
    "viewport-screenshot": N_("First-screen screenshot"),
    "screenshot-tile": N_("Screenshot part"),
    "step-screenshot": N_("Screenshot after a step"),
    "warc": N_("Web archive (WARC)"),
    "dom": N_("Page DOM (HTML)"),
    "mhtml": N_("Page archive (MHTML)"),
    "print-pdf": N_("Page printed to PDF"),
    "video": N_("Session video"),
    "video-frames": N_("Video frame list"),
    "video-annotated": N_("Video viewing copy"),
    "environment": N_("Environment record"),
    "tls-chains": N_("TLS certificate chains"),
    "download": N_("Downloaded file"),
}


def role_name(language: str, role: str) -> str:
    """The exhibit role's name in ``language``; an unknown role as recorded."""
    message = _ROLE_NAMES.get(role)
    return translate(language, message) if message is not None else role


def exhibit_section(layout: Layout, data: ReportInput) -> list[Flowable]:
    s, t = layout.s, layout.t
    heading = layout.heading("sec_exhibits")
    table = _exhibit_table(layout, data.exhibits, data.capture)
    manifest = layout.kv_table(
        [
            (t("manifest_sha256"), layout.p(data.manifest_sha256, s.mono)),
            (t("manifest_sm3"), layout.p(data.manifest_sm3, s.mono)),
        ]
    )
    return [
        PageBreak(),
        heading,
        table,
        Spacer(1, 8),
        manifest,
        Spacer(1, 3),
        layout.p(t("manifest_note"), s.caption),
    ]


def _exhibit_table(
    layout: Layout, exhibits: tuple[ExhibitRow, ...], capture: CaptureRecord
) -> Table:
    widths = [30.0, 170.0, 98.0, 110.0]
    widths.append(FRAME_WIDTH - sum(widths))
    head = layout.header_row(("col_no", "col_path", "col_role", "col_type", "col_size"))
    cells: list[list[Any]] = [head]
    # Each exhibit is two rows (its file, then its digests) ruled and shaded as one.
    style: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), layout.fonts.regular),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BOX", (0, 0), (-1, -1), 0.6, GRID),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    for row_index, exhibit in enumerate(exhibits):
        main = 1 + 2 * row_index
        cells.append(
            _main_row(layout, exhibit, step_shot_label(layout.lang, capture, exhibit.path))
        )
        cells.append(
            ["", [*description_cell(layout, exhibit.role), _hash_cell(layout, exhibit)], "", "", ""]
        )
        style += [
            ("SPAN", (1, main + 1), (-1, main + 1)),
            ("NOSPLIT", (0, main), (-1, main + 1)),
            ("LINEABOVE", (0, main), (-1, main), 0.6, GRID),
            ("TOPPADDING", (0, main + 1), (-1, main + 1), 0),
        ]
        if row_index % 2:
            style.append(("BACKGROUND", (0, main), (-1, main + 1), LABEL_BG))
    if not exhibits:
        cells.append([layout.p(layout.t("exhibits_empty"), layout.s.cell), "", "", "", ""])
        style.append(("SPAN", (0, 1), (-1, 1)))
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    return table


def _main_row(layout: Layout, exhibit: ExhibitRow, step: str = "") -> list[Flowable]:
    s = layout.s
    # A step screenshot says which step it follows: it is not the page as first loaded.
    name = role_name(layout.lang, exhibit.role)
    role = WrapParagraph(layout.safe(f"{name}\n{step}" if step else name), s.cell)
    return [
        layout.p(str(exhibit.number), s.cell),
        # Paths and media types break only at '/', ';', '-' and spaces, never in a word.
        WrapParagraph(layout.safe(layout.clip(exhibit.path), s.mono.fontName), s.mono),
        role,
        WrapParagraph(layout.safe(exhibit.media_type, s.mono.fontName), s.mono),
        layout.p(f"{exhibit.size:,}", s.mono),
    ]


def _hash_cell(layout: Layout, exhibit: ExhibitRow) -> Paragraph:
    return Paragraph(
        f"SHA-256&nbsp;{escape(exhibit.sha256)}<br/>SM3&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;"
        f"{escape(exhibit.sm3)}",
        layout.s.hash,
    )
