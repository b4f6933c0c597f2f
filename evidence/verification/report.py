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
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
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
                Reason.of(C.REPORT_SIGNED, n=signed) if signed else Reason.of(C.REPORT_UNSIGNED)
            )
            if found.damage:
                more = len(found.damage) - 1
                detail = (
                    Reason.of(C.REPORT_DAMAGED_MORE, damage=found.damage[0], n=more)
                    if more
                    else Reason.of(C.REPORT_DAMAGED, damage=found.damage[0])
                )
                out.add(CheckId.REPORT_FORMAT, bf.REPORT, Verdict.FAIL, detail)
            else:
                out.add(CheckId.REPORT_FORMAT, bf.REPORT, Verdict.PASS, (summary, signatures))
            if signed:
                _check_signatures(ctx, out, report.path, signed)
    except _Unreadable as exc:
        out.add(CheckId.REPORT_FORMAT, bf.REPORT, Verdict.FAIL, exc.reason)


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
            Reason.of(C.REPORT_ACTIVE, found="; ".join(found)),
        )
        return
    out.add(
        CheckId.REPORT_CONTENT,
        bf.REPORT,
        Verdict.PASS,
        Reason.of(C.REPORT_INERT),
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
                error = Reason.of(C.REPORT_XMP_UNREADABLE, error=exc)
                out.add(CheckId.REPORT_IDENTITY, bf.REPORT, Verdict.FAIL, error)
                return
            text = _page_text(report.path)
    except _Unreadable as exc:
        out.add(CheckId.REPORT_IDENTITY, bf.REPORT, Verdict.NOT_CHECKED, _unparsed(exc))
        return
    if claimed is not None and claimed != expected:
        other = Reason.of(
            C.REPORT_OTHER_ITEM,
            report=bf.REPORT,
            claimed_item=claimed.item_id,
            claimed_sha256=claimed.manifest_sha256,
            item=expected.item_id,
            sha256=expected.manifest_sha256,
        )
        out.add(CheckId.REPORT_IDENTITY, bf.REPORT, Verdict.FAIL, other)
        return
    _judge_identity(out, claimed is not None, text, expected.item_id, expected.manifest_sha256)


def _judge_identity(
    out: Findings, in_xmp: bool, text: _Text, item_id: str, manifest_sha256: str
) -> None:
    """The verdict once the XMP names this item or nothing; the text decides the rest."""
    ours = {"item": item_id, "sha256": manifest_sha256}
    if text.content is None:
        if in_xmp:
            unread = Reason.of(C.REPORT_XMP_NAMES_TEXT_UNREAD, note=text.note, **ours)
            out.add(CheckId.REPORT_IDENTITY, bf.REPORT, Verdict.PASS, unread)
        else:
            unread = Reason.of(C.REPORT_NOTHING_NAMES_TEXT_UNREAD, note=text.note)
            out.add(CheckId.REPORT_IDENTITY, bf.REPORT, Verdict.NOT_CHECKED, unread)
        return
    squeezed = re.sub(r"\s+", "", text.content)
    missing = [
        what
        for what, value in (("item id", item_id), ("manifest SHA-256", manifest_sha256))
        if value not in squeezed
    ]
    if missing:
        code = C.REPORT_TEXT_LACKS if in_xmp else C.REPORT_NOTHING_SHOWS
        lacks = Reason.of(code, report=bf.REPORT, missing=" or ".join(missing), **ours)
        out.add(CheckId.REPORT_IDENTITY, bf.REPORT, Verdict.FAIL, lacks)
        return
    code = C.REPORT_XMP_AND_TEXT_NAME if in_xmp else C.REPORT_TEXT_NAMES
    out.add(CheckId.REPORT_IDENTITY, bf.REPORT, Verdict.PASS, Reason.of(code, **ours))


# --- signatures -------------------------------------------------------------------


def _check_signatures(ctx: Context, out: Findings, path: Path, values: int) -> None:
    from reports.signing import validate_pdf_signatures

    tsa_roots = [entry.certificate() for entry in ctx.trust.tsa_roots]
    try:
        # Each set judges only its own: signer roots the signers, TSA roots the time-stamps.
        checks = validate_pdf_signatures(path, ctx.signer_roots or [], tsa_roots=tsa_roots)
    except ReportError as exc:
        error = Reason.of(C.ERROR, error=exc.message)
        out.add(CheckId.REPORT_SIGNATURE, bf.REPORT, Verdict.FAIL, error)
        return
    if len(checks) != values:
        out.add(
            CheckId.REPORT_SIGNATURE,
            bf.REPORT,
            Verdict.FAIL,
            Reason.of(C.REPORT_OUTSIDE_FORM, values=values, held=len(checks)),
        )
    for check in checks:
        verdict, detail = _judge_signature(
            check, roots_given=ctx.signer_roots is not None, tsa_roots_given=bool(tsa_roots)
        )
        out.add(CheckId.REPORT_SIGNATURE, f"{bf.REPORT}: {check.field}", verdict, detail)


def _judge_signature(
    check: PdfSignatureCheck, *, roots_given: bool, tsa_roots_given: bool
) -> tuple[Verdict, tuple[Reason, ...]]:
    """One verdict per signature: who signed (signer roots) and when (TSA roots).

    A PASS needs both established by what the user trusts; an intact signature
    whose signer or time-stamp is not is UNTRUSTED, and the detail says which.
    """
    who = _signer_name(check)
    failure = _signature_failure(check, who)
    if failure is not None:
        return Verdict.FAIL, (failure,)
    # Four findings joined by "; ", as the English detail has always read.
    covers = (
        C.REPORT_COVERS_WHOLE_FILE if check.covers_whole_file else (C.REPORT_LATER_SIGNATURES_ONLY)
    )
    if check.trusted:
        signer = (C.REPORT_SIGNATURE_VALID, C.REPORT_SIGNER_TRUSTED)
    else:
        established = C.REPORT_SIGNER_NOT_ESTABLISHED if roots_given else C.REPORT_SIGNER_NO_ROOTS
        signer = (C.REPORT_SIGNATURE_INTACT, established)
    when = _timestamp_finding(check, tsa_roots_given=tsa_roots_given)
    verdict = Verdict.PASS if check.trusted and check.timestamp_trusted else Verdict.UNTRUSTED
    return verdict, (Reason.of(signer[0], who=who), Reason.of(covers), Reason.of(signer[1]), when)


def _signature_failure(check: PdfSignatureCheck, who: str) -> Reason | None:
    if not check.intact:
        return Reason.of(C.REPORT_SIGNATURE_BROKEN, who=who, summary=check.summary)
    if not check.covers_whole_file and check.modification_level not in _AFTER_SIGNING:
        return Reason.of(C.REPORT_CHANGED_AFTER, who=who, level=check.modification_level)
    if check.timestamp_time is not None and not check.timestamp_intact:
        return Reason.of(C.REPORT_TOKEN_BROKEN, who=who, time=check.timestamp_time.isoformat())
    return None


def _timestamp_finding(check: PdfSignatureCheck, *, tsa_roots_given: bool) -> Reason:
    """What the signature's RFC 3161 token says about when it was made, and on whose word."""
    if check.timestamp_time is None:
        if check.signed_at:
            return Reason.of(C.REPORT_NO_TOKEN_CLOCK, time=check.signed_at.isoformat())
        return Reason.of(C.REPORT_NO_TOKEN)
    when = check.timestamp_time.isoformat()
    if check.timestamp_trusted:
        return Reason.of(C.REPORT_TOKEN_TRUSTED, time=when)
    code = C.REPORT_TOKEN_UNTRUSTED if tsa_roots_given else C.REPORT_TOKEN_NO_ROOTS
    return Reason.of(code, time=when)


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
    """The report does not parse as a PDF; ``reason`` says why (``error``: the library's)."""

    def __init__(self, code: C, error: object) -> None:
        self.reason = Reason.of(code, error=error)
        super().__init__(self.reason.render())
        self.code = code
        self.error = str(error)


# The same findings said of "the report" in the checks that could not read it.
_UNPARSED = {
    C.REPORT_ENCRYPTED: C.REPORT_ENCRYPTED_FOR,
    C.REPORT_UNPARSABLE: C.REPORT_UNPARSABLE_FOR,
    C.REPORT_UNREADABLE_THROUGH: C.REPORT_UNREADABLE_THROUGH_FOR,
}


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
        out.add(check, bf.REPORT, Verdict.NOT_CHECKED, Reason.of(C.REPORT_ABSENT))
        return None
    digests = ctx.digests.of(bf.REPORT)
    if digests is None:
        out.add(check, bf.REPORT, Verdict.NOT_CHECKED, Reason.of(C.REPORT_UNREAD))
        return None
    return digests.size


def _frame_problem(ctx: Context, size: int) -> Reason | None:
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
        return Reason.of(C.REPORT_NOT_PDF)
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
            raise _Unreadable(C.REPORT_ENCRYPTED, exc) from exc
        except pikepdf.PdfError as exc:
            raise _Unreadable(C.REPORT_UNPARSABLE, one_line(exc)) from exc
        with pdf:
            try:
                yield _OpenReport(path, pdf)
            except pikepdf.PdfError as exc:
                raise _Unreadable(C.REPORT_UNREADABLE_THROUGH, one_line(exc)) from exc


def _unparsed(exc: _Unreadable) -> Reason:
    return Reason.of(_UNPARSED[exc.code], error=exc.error, check=CheckId.REPORT_FORMAT)


def _summary(pdf: pikepdf.Pdf) -> Reason:
    from reports.pdfa import claimed_pdfa

    claim = claimed_pdfa(pdf)
    found = {"version": pdf.pdf_version, "pages": len(pdf.pages)}
    if claim:
        return Reason.of(C.REPORT_PARSES_PDFA, part=claim[0], conformance=claim[1], **found)
    return Reason.of(C.REPORT_PARSES, **found)


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
