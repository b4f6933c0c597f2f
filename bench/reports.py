"""Benchmark: evidence report time and size for a 1-page and a 30,000 px capture; case report.

Run: ``.venv/bin/python -m bench.reports [--repeat N]``. The baseline is the
1-page report measured in the same run; the PDF/A amendment (pikepdf) is
timed on its own so its share is visible. Screenshots are synthetic
(coloured bands), 1280 px wide like a desktop capture.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from reports.case_report import render_case_report
from reports.pdf import render_report
from reports.pdfa import make_pdfa
from tests.test_case_report import synthetic_case
from tests.test_report_pdf import GENERATED, make_input


def _timed(func: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp_name:
        tmp = Path(tmp_name)
        small = make_input(tmp, screenshot_height=900)
        tall = make_input(tmp, screenshot_height=30_000)
        rows: list[tuple[str, float, int]] = []

        out = tmp / "small.pdf"
        t = _timed(lambda: render_report(small, out), args.repeat)
        rows.append(("item report, 1280x900 screenshot (1 tile)", t, out.stat().st_size))

        out_tall = tmp / "tall.pdf"
        t = _timed(lambda: render_report(tall, out_tall), args.repeat)
        rows.append(("item report, 1280x30000 screenshot", t, out_tall.stat().st_size))

        pdfa_out = tmp / "tall-pdfa.pdf"
        t = _timed(
            lambda: make_pdfa(
                out_tall,
                pdfa_out,
                title="t",
                language="zh",
                author="a",
                subject="s",
                keywords="k",
                creator="c",
                created_at=GENERATED,
            ),
            args.repeat,
        )
        rows.append(("  of which PDF/A amendment (pikepdf) alone", t, pdfa_out.stat().st_size))

        case = synthetic_case(tmp, 100)
        case_out = tmp / "case.pdf"
        t = _timed(lambda: render_case_report(case, case_out), args.repeat)
        rows.append(("case report, 100 items", t, case_out.stat().st_size))

        case_en = tmp / "case-en.pdf"
        t = _timed(lambda: render_case_report(replace(case, language="en"), case_en), 1)
        rows.append(("case report, 100 items (en, 1 run)", t, case_en.stat().st_size))

    base_t, base_size = rows[0][1], rows[0][2]
    print(f"{'what':<46} {'time s':>8} {'x base':>7} {'size KiB':>10} {'x base':>7}")
    for name, seconds, size in rows:
        print(
            f"{name:<46} {seconds:>8.3f} {seconds / base_t:>7.1f} "
            f"{size / 1024:>10.1f} {size / base_size:>7.1f}"
        )


if __name__ == "__main__":
    main()
