"""Every WARC record's own sha256 block and payload digests, recomputed.

A changed byte inside a WARC is then named by the record that holds it (its
``WARC-Record-ID`` and target URI), not only by the file's digest.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field

from evidence.model.hashing import CHUNK_SIZE
from evidence.model.records import Verdict
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
from evidence.verification.context import Check, Context, Fact, Findings, one_line
from evidence.verification.ids import CheckId

ARTIFACTS = "artifacts/"


def check_bundle_warcs(ctx: Context, out: Findings) -> None:
    """The WARCs under ``artifacts/`` and any the manifest lists as ``warc``."""
    warcs = {n for n in ctx.names if n.startswith(ARTIFACTS) and n.lower().endswith(".warc")}
    if ctx.has(Fact.MANIFEST):
        warcs |= {e.path for e in ctx.manifest.artifacts if e.role == "warc"} & ctx.names
    if not warcs:
        out.add(CheckId.WARC_RECORD, ARTIFACTS, Verdict.NOT_CHECKED, Reason.of(C.WARC_ABSENT))
    for name in sorted(warcs):
        if ctx.digests.of(name) is not None:  # else unreadable: already reported
            check_one_warc(ctx, out, name)


@dataclass
class _Tally:
    checked: int = 0
    failed: int = 0
    unsigned: list[str] = field(default_factory=list)
    """Records without a sha256: block digest (a SHA-1 one proves little)."""


def check_one_warc(ctx: Context, out: Findings, name: str) -> None:
    from warcio.exceptions import ArchiveLoadFailed

    tally = _Tally()
    try:
        errors = _read_records(ctx, out, name, tally)
    except (ArchiveLoadFailed, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        _unreadable(out, name, tally.checked, exc)
        return
    except (AttributeError, TypeError, KeyError, IndexError) as exc:
        # warcio trips over some malformed headers with these; still a verdict.
        _unreadable(out, name, tally.checked, exc)
        return
    if errors:
        tally.failed += 1
        out.add(
            CheckId.WARC_RECORD,
            name,
            Verdict.FAIL,
            Reason.of(C.WARC_STRETCHES, n=errors),
        )
    if tally.unsigned:
        tally.failed += 1
        first = tally.unsigned[0]
        out.add(
            CheckId.WARC_RECORD,
            f"{name}: {first}",
            Verdict.FAIL,
            Reason.of(C.WARC_UNSIGNED, n=len(tally.unsigned), first=first),
        )
    if tally.checked == 0:
        out.add(CheckId.WARC_RECORD, name, Verdict.FAIL, Reason.of(C.WARC_EMPTY))
    elif not tally.failed:
        out.add(
            CheckId.WARC_RECORD,
            name,
            Verdict.PASS,
            Reason.of(C.WARC_MATCHES, n=tally.checked),
        )


def _read_records(ctx: Context, out: Findings, name: str, tally: _Tally) -> int:
    """Stream every record through warcio's digest checker; the count of non-record stretches."""
    from warcio.archiveiterator import ArchiveIterator

    with ctx.source.open(name) as stream:
        records = ArchiveIterator(stream, check_digests=True)
        for record in records:
            headers = record.rec_headers
            record_id = headers.get_header("WARC-Record-ID") or "(no WARC-Record-ID)"
            target = headers.get_header("WARC-Target-URI") or "(no target URI)"
            block = headers.get_header("WARC-Block-Digest") or ""
            while record.raw_stream.read(CHUNK_SIZE):
                pass
            tally.checked += 1
            checker = record.digest_checker
            problem = None
            if checker.passed is False:
                problem = Reason.of(
                    C.WARC_RECORD_DIGEST,
                    target=target,
                    offset=records.get_record_offset(),
                    problems="; ".join(str(p) for p in checker.problems),
                )
            elif not block.lower().startswith("sha256:"):
                tally.unsigned.append(record_id)
            elif checker.passed is None and headers.get_header("WARC-Type") != "revisit":
                problem = Reason.of(C.WARC_RECORD_TRUNCATED, target=target)
            if problem is not None:
                tally.failed += 1
                out.add(CheckId.WARC_RECORD, f"{name}: {record_id}", Verdict.FAIL, problem)
        errors: int = records.err_count
    return errors


def _unreadable(out: Findings, name: str, checked: int, exc: BaseException) -> None:
    out.add(
        CheckId.WARC_RECORD,
        name,
        Verdict.FAIL,
        Reason.of(C.WARC_UNREADABLE, n=checked, error=one_line(exc)),
    )


WARCS = Check(
    CheckId.WARC_RECORD,
    check_bundle_warcs,
    ARTIFACTS,
    needs=frozenset({Fact.DIGESTS}),
    uses=frozenset({Fact.MANIFEST}),
)
