"""The PDF evidence report (网页电子证据固定报告), one module per section.

- :mod:`reports.pdf.document`: :func:`render_report` puts the sections in
  order and :func:`build_pdf` writes any story as a reproducible PDF/A-2b file;
- :mod:`reports.pdf.layout` and :mod:`reports.pdf.styles`: the toolkit every
  section (and the case report) is written with;
- ``_front``, ``_environment``, ``_screenshots``, ``_exhibits``, ``_network``,
  ``_timestamp``, ``_anchor``, ``_custody``, ``_qr``, ``_procedure``,
  ``_closing``: the sections, in the order the report prints them.
"""

from __future__ import annotations

from reports.pdf.document import PdfMeta, build_pdf, render_report
from reports.pdf.layout import Layout, pdf_date, tool_name
from reports.pdf.styles import FRAME_HEIGHT, FRAME_WIDTH, Styles

__all__ = [
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "Layout",
    "PdfMeta",
    "Styles",
    "build_pdf",
    "pdf_date",
    "render_report",
    "tool_name",
]
