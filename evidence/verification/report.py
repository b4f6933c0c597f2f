"""The report PDF in the bundle is a whole PDF file.

Not a PDF parser: a header and an end-of-file marker are enough to tell a
damaged or substituted file apart; the checksums carry the real check.
"""

from __future__ import annotations

from evidence.model.hashing import CHUNK_SIZE
from evidence.model.records import Verdict
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf

TAIL_BYTES = 2048
"""``%%EOF`` may be followed by a little whitespace or an incremental-update marker."""


def check_report(ctx: Context, out: Findings) -> None:
    if bf.REPORT not in ctx.names:
        out.add(
            CheckId.REPORT_FORMAT, bf.REPORT, Verdict.NOT_CHECKED, "the bundle has no report PDF"
        )
        return
    digests = ctx.digests.of(bf.REPORT)
    if digests is None:
        return  # unreadable: already reported
    with ctx.source.open(bf.REPORT) as stream:
        head = stream.read(8)
    with ctx.source.open(bf.REPORT) as stream:
        skip = max(digests.size - TAIL_BYTES, 0)
        while skip > 0:
            got = stream.read(min(skip, CHUNK_SIZE))
            if not got:
                break
            skip -= len(got)
        tail = stream.read(TAIL_BYTES)
    if not head.startswith(b"%PDF-") or b"%%EOF" not in tail:
        out.add(
            CheckId.REPORT_FORMAT,
            bf.REPORT,
            Verdict.FAIL,
            "not a complete PDF file (no %PDF- header or no %%EOF marker)",
        )
    else:
        out.add(CheckId.REPORT_FORMAT, bf.REPORT, Verdict.PASS, "a complete PDF file")


REPORT = Check(CheckId.REPORT_FORMAT, check_report, bf.REPORT, needs=frozenset({Fact.DIGESTS}))
