"""Evidence reports: the PDF report (网页电子证据固定报告) rendered from a ReportInput."""

from __future__ import annotations

from reports.pdf import render_report

__all__ = ["render_report"]
