"""The report PDF: a PDF that parses, this bundle's own report, inert, its signatures holding.

One line per finding: ``report.format`` (the file parses as a PDF; whether it
is signed), ``report.signature`` (one per PAdES signature: intact, nothing
but later signatures after it, and whether its signer is established against
the expert's signer roots), ``report.content`` (nothing that runs or hides:
JavaScript, actions run on opening or on events, launch actions, embedded
files, encryption) and ``report.identity`` (its XMP, and its text when
``pdftotext`` is installed, name this bundle's item and manifest digest).

The checksums only say the report is the file the exporter wrote, and a
forger can rewrite them; these checks look at what the file itself says.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evidence.model.child_env import child_environment
from evidence.model.errors import ReportError
from evidence.model.hashing import CHUNK_SIZE
from evidence.model.records import Verdict
from evidence.verification._pdf_content import inventory
from evidence.verification.context import Check, Context, Fact, Findings, one_line
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf

if TYPE_CHECKING:
    import pikepdf

    from reports.signing import PdfSignatureCheck

TAIL_BYTES = 2048
"""``%%EOF`` may be followed by a little whitespace or an incremental-update marker."""
PDFTOTEXT_TIMEOUT_S = 120
MAX_TEXT_BYTES = 32 * 1024 * 1024
"""A report's text is a few hundred kilobytes; more is not a report's."""
_AFTER_SIGNING = ("NONE", "FORM_FILLING")
"""pyHanko's levels for what followed a signature: nothing, or only more signatures."""


def check_format(ctx: Context, out: Findings) -> None:
    """The file is a whole PDF that parses; each of its PAdES signatures is judged."""
    size = _size(ctx, out, CheckId.REPORT_FORMAT)
    if size is None:
        return
    problem = _frame_problem(ctx, size)
    if problem is not None:
        out.add(CheckId.REPORT_FORMAT, bf.REPORT, Verdict.FAIL, problem)
        return
    try:
        with _opened(ctx) as report:
            summary = _summary(report.pdf)
            found = inventory(report.pdf)
            signed = found.signature_values
            signatures = (
                f"{signed} PAdES signature value(s), judged below" if signed else "not signed"
            )
            if found.damage:
                detail = f"damaged: {found.damage[0]}" + (
                    f" (and {len(found.damage) - 1} more)" if len(found.damage) > 1 else ""
                )
                out.add(CheckId.REPORT_FORMAT, bf.REPORT, Verdict.FAIL, detail)
            else:
                out.add(CheckId.REPORT_FORMAT, bf.REPORT, Verdict.PASS, f"{summary}; {signatures}")
            if signed:
                _check_signatures(ctx, out, report.path, signed)
    except _Unreadable as exc:
        out.add(CheckId.REPORT_FORMAT, bf.REPORT, Verdict.FAIL, exc.detail)


def check_content(ctx: Context, out: Findings) -> None:
    """Nothing in the report runs, launches, carries files or is encrypted."""
    if _size(ctx, out, CheckId.REPORT_CONTENT) is None:
        return
    try:
        with _opened(ctx) as report:
            found = inventory(report.pdf).findings
    except _Unreadable as exc:
        out.add(CheckId.REPORT_CONTENT, bf.REPORT, Verdict.NOT_CHECKED, _unparsed(exc))
        return
    if found:
        out.add(
            CheckId.REPORT_CONTENT,
            bf.REPORT,
            Verdict.FAIL,
            "the report carries what an evidence report never does: " + "; ".join(found),
        )
        return
    out.add(
        CheckId.REPORT_CONTENT,
        bf.REPORT,
        Verdict.PASS,
        "no JavaScript, no actions on opening or on events (/OpenAction, /AA), no launch "
        "or submit actions, no embedded files, not encrypted",
    )


def check_identity(ctx: Context, out: Findings) -> None:
    """The report names this bundle's item id and manifest SHA-256 (XMP, and text)."""
    if _size(ctx, out, CheckId.REPORT_IDENTITY) is None:
        return
    from reports.pdfa import ReportIdentity, read_identity

    expected = ReportIdentity(ctx.manifest.item_id, hashlib.sha256(ctx.manifest_bytes).hexdigest())
    try:
        with _opened(ctx) as report:
            try:
                claimed = read_identity(report.pdf)
            except ValueError as exc:
                out.add(CheckId.REPORT_IDENTITY, bf.REPORT, Verdict.FAIL, f"its XMP: {exc}")
                return
            text = _page_text(report.path)
    except _Unreadable as exc:
        out.add(CheckId.REPORT_IDENTITY, bf.REPORT, Verdict.NOT_CHECKED, _unparsed(exc))
        return
    ours = f"item {expected.item_id}, manifest SHA-256 {expected.manifest_sha256}"
    if claimed is not None and claimed != expected:
        out.add(
            CheckId.REPORT_IDENTITY,
            bf.REPORT,
            Verdict.FAIL,
            f"{bf.REPORT} is the report of another item (its XMP names item "
            f"{claimed.item_id}, manifest SHA-256 {claimed.manifest_sha256}); this bundle "
            f"holds {ours}",
        )
        return
    _judge_identity(out, claimed is not None, text, expected.item_id, expected.manifest_sha256)


def _judge_identity(
    out: Findings, in_xmp: bool, text: _Text, item_id: str, manifest_sha256: str
) -> None:
    """The verdict once the XMP names this item or nothing; the text decides the rest."""
    ours = f"item {item_id}, manifest SHA-256 {manifest_sha256}"
    if text.content is None:
        if in_xmp:
            out.add(
                CheckId.REPORT_IDENTITY,
                bf.REPORT,
                Verdict.PASS,
                f"its XMP names {ours}; its text was not read ({text.note})",
            )
        else:
            out.add(
                CheckId.REPORT_IDENTITY,
                bf.REPORT,
                Verdict.NOT_CHECKED,
                f"its XMP names no item (a report made before reports named theirs) and its "
                f"text was not read ({text.note})",
            )
        return
    squeezed = re.sub(r"\s+", "", text.content)
    missing = [
        what
        for what, value in (("item id", item_id), ("manifest SHA-256", manifest_sha256))
        if value not in squeezed
    ]
    if missing:
        where = (
            "its XMP names this item, but its text"
            if in_xmp
            else "its XMP names no item and its text"
        )
        out.add(
            CheckId.REPORT_IDENTITY,
            bf.REPORT,
            Verdict.FAIL,
            f"{bf.REPORT} is not this bundle's report: {where} does not show this bundle's "
            f"{' or '.join(missing)} ({ours})",
        )
        return
    source = (
        "its XMP names and its text shows"
        if in_xmp
        else ("its text shows (its XMP names no item: a report made before reports named theirs)")
    )
    out.add(CheckId.REPORT_IDENTITY, bf.REPORT, Verdict.PASS, f"{source} {ours}")


# --- signatures -------------------------------------------------------------------


def _check_signatures(ctx: Context, out: Findings, path: Path, values: int) -> None:
    from reports.signing import validate_pdf_signatures

    tsa_roots = [entry.certificate() for entry in ctx.trust.tsa_roots]
    try:
        # Each set judges only its own: signer roots the signers, TSA roots the time-stamps.
        checks = validate_pdf_signatures(path, ctx.signer_roots or [], tsa_roots=tsa_roots)
    except ReportError as exc:
        out.add(CheckId.REPORT_SIGNATURE, bf.REPORT, Verdict.FAIL, exc.message)
        return
    if len(checks) != values:
        out.add(
            CheckId.REPORT_SIGNATURE,
            bf.REPORT,
            Verdict.FAIL,
            f"{values} signature value(s) in the file, but {len(checks)} held by signature "
            "fields: a signature outside the form cannot be judged",
        )
    for check in checks:
        verdict, detail = _judge_signature(
            check, roots_given=ctx.signer_roots is not None, tsa_roots_given=bool(tsa_roots)
        )
        out.add(CheckId.REPORT_SIGNATURE, f"{bf.REPORT}: {check.field}", verdict, detail)


def _judge_signature(
    check: PdfSignatureCheck, *, roots_given: bool, tsa_roots_given: bool
) -> tuple[Verdict, str]:
    """One verdict per signature: who signed (signer roots) and when (TSA roots).

    A PASS needs both established by what the user trusts; an intact signature
    whose signer or time-stamp is not is UNTRUSTED, and the detail says which.
    """
    who = _signer_name(check)
    failure = _signature_failure(check, who)
    if failure is not None:
        return Verdict.FAIL, failure
    covers = (
        "covers the whole file"
        if check.covers_whole_file
        else "is followed only by later signatures"
    )
    if check.trusted:
        signer = (
            f"valid PAdES signature by {who}; it {covers}; the certificate chains to a "
            "signer root you trust"
        )
    else:
        hint = "" if roots_given else " (evidence trust add signer, or --signer-roots)"
        signer = (
            f"intact signature by {who}; it {covers}; the signer is not established against "
            f"your signer roots{hint}"
        )
    when = _timestamp_finding(check, tsa_roots_given=tsa_roots_given)
    verdict = Verdict.PASS if check.trusted and check.timestamp_trusted else Verdict.UNTRUSTED
    return verdict, f"{signer}; {when}"


def _signature_failure(check: PdfSignatureCheck, who: str) -> str | None:
    if not check.intact:
        return (
            f"the signature by {who} does not verify: the signed bytes were changed or "
            f"the signature is broken ({check.summary})"
        )
    if not check.covers_whole_file and check.modification_level not in _AFTER_SIGNING:
        return (
            f"the signature by {who} is intact, but the file was changed after it beyond "
            f"adding signatures (pyHanko: {check.modification_level})"
        )
    if check.timestamp_time is not None and not check.timestamp_intact:
        return (
            f"the signature by {who} is intact, but its RFC 3161 time-stamp (genTime "
            f"{check.timestamp_time.isoformat()}) does not verify over the signature value"
        )
    return None


def _timestamp_finding(check: PdfSignatureCheck, *, tsa_roots_given: bool) -> str:
    """What the signature's RFC 3161 token says about when it was made, and on whose word."""
    if check.timestamp_time is None:
        claimed = f" (its own clock says {check.signed_at.isoformat()})" if check.signed_at else ""
        return (
            "it carries no RFC 3161 time-stamp: when it was made rests only on the signer's "
            f"word{claimed}"
        )
    when = check.timestamp_time.isoformat()
    if check.timestamp_trusted:
        return f"its RFC 3161 time-stamp (genTime {when}) is from a TSA root you trust"
    hint = "" if tsa_roots_given else " (evidence trust add tsa, or --trust-roots)"
    return (
        f"its RFC 3161 time-stamp (genTime {when}) is intact, but its TSA does not chain to "
        f"a TSA root you trust{hint}: the signing time rests on the bundle alone"
    )


def _signer_name(check: PdfSignatureCheck) -> str:
    """``name (enforcement ID …, certificate SHA-256 …, issued by …)``, as the stamp shows."""
    from evidence.model.officer_keys import common_name_of, enforcement_id_of

    certificate = check.certificate
    name = common_name_of(certificate) or check.signer_subject
    enforcement_id = enforcement_id_of(certificate)
    badge = f"enforcement ID {enforcement_id}, " if enforcement_id else ""
    sha256 = check.fingerprint.replace(":", "").lower()  # as manifest signatures are named
    return f"{name} ({badge}certificate SHA-256 {sha256}, issued by {check.issuer})"


# --- reading the file ---------------------------------------------------------------


class _Unreadable(Exception):
    """The report does not parse as a PDF; ``detail`` says why."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class _OpenReport:
    path: Path
    """A private copy of the member, checked against its digest."""
    pdf: pikepdf.Pdf


@dataclass(frozen=True, slots=True)
class _Text:
    content: str | None
    note: str
    """Why ``content`` is None."""


def _size(ctx: Context, out: Findings, check: CheckId) -> int | None:
    """The report's size; None, said so, when there is no readable report to check."""
    if bf.REPORT not in ctx.names:
        out.add(check, bf.REPORT, Verdict.NOT_CHECKED, "the bundle has no report PDF")
        return None
    digests = ctx.digests.of(bf.REPORT)
    if digests is None:
        out.add(check, bf.REPORT, Verdict.NOT_CHECKED, "the report could not be read")
        return None
    return digests.size


def _frame_problem(ctx: Context, size: int) -> str | None:
    """A header at the start and an end marker at the end, as every whole PDF has."""
    with ctx.source.open(bf.REPORT) as stream:
        head = stream.read(8)
    with ctx.source.open(bf.REPORT) as stream:
        skip = max(size - TAIL_BYTES, 0)
        while skip > 0:
            got = stream.read(min(skip, CHUNK_SIZE))
            if not got:
                break
            skip -= len(got)
        tail = stream.read(TAIL_BYTES)
    if not head.startswith(b"%PDF-") or b"%%EOF" not in tail:
        return "not a complete PDF file (no %PDF- header or no %%EOF marker)"
    return None


@contextmanager
def _opened(ctx: Context) -> Iterator[_OpenReport]:
    """The report copied out and opened; raises :class:`_Unreadable` when it does not parse."""
    import pikepdf

    with tempfile.TemporaryDirectory(prefix="evidence-report-") as tmp:
        path = ctx.copy_out(bf.REPORT, Path(tmp) / "report.pdf")
        try:
            # No recovery: a report whose cross-reference table needs repair is not
            # the file our writer made, and a repaired reading may not be the reader's.
            pdf = pikepdf.open(path, attempt_recovery=False)
        except pikepdf.PasswordError as exc:
            raise _Unreadable(f"encrypted with a password, so it cannot be read ({exc})") from exc
        except pikepdf.PdfError as exc:
            raise _Unreadable(f"does not parse as a PDF ({one_line(exc)})") from exc
        with pdf:
            try:
                yield _OpenReport(path, pdf)
            except pikepdf.PdfError as exc:
                raise _Unreadable(f"cannot be read through ({one_line(exc)})") from exc


def _unparsed(exc: _Unreadable) -> str:
    return f"the report {exc.detail} ({CheckId.REPORT_FORMAT})"


def _summary(pdf: pikepdf.Pdf) -> str:
    from reports.pdfa import claimed_pdfa

    claim = claimed_pdfa(pdf)
    claims = f", declares PDF/A-{claim[0]}{claim[1]}" if claim else ", declares no PDF/A part"
    return f"a PDF {pdf.pdf_version} of {len(pdf.pages)} page(s) that parses{claims}"


def _page_text(path: Path) -> _Text:
    """The report's text by ``pdftotext`` (poppler), the tool an expert reads it with.

    Bounded in time and size: a hostile file can expand into endless text.
    """
    tool = shutil.which("pdftotext")
    if tool is None:
        return _Text(None, "pdftotext is not installed")
    command = [tool, "-q", "-raw", "-enc", "UTF-8", str(path), "-"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=child_environment()
    ) as proc:
        timer = threading.Timer(PDFTOTEXT_TIMEOUT_S, proc.kill)
        timer.start()
        try:
            stdout = proc.stdout
            assert stdout is not None  # stdout=PIPE
            text = stdout.read(MAX_TEXT_BYTES + 1)
            if len(text) > MAX_TEXT_BYTES:
                proc.kill()
            code = proc.wait()
        finally:
            timer.cancel()
    if len(text) > MAX_TEXT_BYTES:
        return _Text(None, f"its text is longer than {MAX_TEXT_BYTES} bytes")
    if code != 0:
        why = f"stopped after {PDFTOTEXT_TIMEOUT_S} s" if code < 0 else f"exit status {code}"
        return _Text(None, f"pdftotext failed: {why}")
    return _Text(text.decode("utf-8", "replace"), "")


REPORT = Check(CheckId.REPORT_FORMAT, check_format, bf.REPORT, needs=frozenset({Fact.DIGESTS}))
CONTENT = Check(CheckId.REPORT_CONTENT, check_content, bf.REPORT, needs=frozenset({Fact.DIGESTS}))
IDENTITY = Check(
    CheckId.REPORT_IDENTITY,
    check_identity,
    bf.REPORT,
    needs=frozenset({Fact.DIGESTS, Fact.MANIFEST_BYTES, Fact.MANIFEST}),
)
