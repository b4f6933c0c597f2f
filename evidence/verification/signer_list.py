"""``signers.txt`` held against the signatures it lists.

The sums and the signed index prove the file is the one the exporter wrote,
not that what it says is true: a writer bug (or a key swapped between signing
and listing) could name a certificate the signature does not carry. The
expert compares this file with the agency's published list of officers, so
every line must name the certificate actually inside that signature — the
manifest ``.p7s`` files, the index signature and the report's PAdES
signatures — and every signature must be listed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from evidence.model.errors import EvidenceError
from evidence.model.records import Verdict
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf

_LOCATION = "签名位置 / Signature: "
_FINGERPRINT = "sha256 Fingerprint="
_ISSUER = "issuer="


@dataclass(frozen=True, slots=True)
class ListedSigner:
    """One signature as ``signers.txt`` or the signature itself names its certificate."""

    location: str
    fingerprint: str
    issuer: str


def parse_signer_list(text: str) -> dict[str, ListedSigner]:
    """The signature blocks of ``signers.txt`` (see :mod:`reports.bundle.signers`), by location.

    A block whose lines are incomplete is kept with empty values, so it fails as a
    mismatch rather than vanishing.
    """
    found: dict[str, ListedSigner] = {}
    location: str | None = None
    values: dict[str, str] = {}
    for raw in [*text.splitlines(), "[end]"]:
        line = raw.strip()
        if raw.startswith("[") and location is not None:
            found[location] = ListedSigner(
                location, values.get(_FINGERPRINT, ""), values.get(_ISSUER, "")
            )
            location, values = None, {}
        if line.startswith(_LOCATION):
            location = line.removeprefix(_LOCATION)
        for prefix in (_FINGERPRINT, _ISSUER):
            if line.startswith(prefix) and location is not None:
                values[prefix] = line.removeprefix(prefix)
    return found


def _cms_signers(ctx: Context, out: Findings) -> tuple[dict[str, ListedSigner], set[str]]:
    """The certificate inside every CMS signature member; and those that cannot be read
    (their own checks fail them)."""
    from evidence.model.certificate_chain import openssl_fingerprint, openssl_issuer
    from evidence.model.signatures import signer_certificate

    names = sorted(
        n
        for n in ctx.names
        if (n.startswith(bf.SIGNATURES_DIR + "/") and n.endswith(bf.SIGNATURE_SUFFIX))
        or n == bf.SIGNED_INDEX_SIGNATURE
    )
    actual: dict[str, ListedSigner] = {}
    unreadable: set[str] = set()
    for name in names:
        data = ctx.read_small(name, out)
        try:
            if data is None:
                raise ValueError(name)
            certificate = signer_certificate(data)
        except Exception:  # a malformed signature is judged by its own check
            unreadable.add(name)
            continue
        actual[name] = ListedSigner(
            name, openssl_fingerprint(certificate), openssl_issuer(certificate)
        )
    return actual, unreadable


def _report_signers(ctx: Context) -> dict[str, ListedSigner] | None:
    """The report's PAdES signers, read as the writer read them; None when unreadable."""
    from reports.bundle.signers import report_signers

    if bf.REPORT not in ctx.names:
        return {}
    try:
        with tempfile.TemporaryDirectory(prefix="evidence-signers-") as tmp:
            pdf = ctx.copy_out(bf.REPORT, Path(tmp) / "report.pdf")
            entries = report_signers(pdf)
    except EvidenceError:
        return None  # the report checks say why
    return {e.location: ListedSigner(e.location, e.fingerprint, e.issuer) for e in entries}


def check_signer_list(ctx: Context, out: Findings) -> None:
    if bf.SIGNERS not in ctx.names:
        out.add(CheckId.SIGNERS_LIST, bf.SIGNERS, Verdict.NOT_CHECKED, Reason.of(C.SIGNERS_ABSENT))
        return
    data = ctx.read_small(bf.SIGNERS, out)
    if data is None:
        return
    listed = parse_signer_list(data.decode("utf-8", errors="replace"))
    actual, unreadable = _cms_signers(ctx, out)
    report = _report_signers(ctx)
    if report is None:
        unreadable |= {loc for loc in listed if loc.startswith(bf.REPORT)}
    else:
        actual.update(report)
    problems = _compare(listed, actual, unreadable)
    for problem in problems:
        out.add(CheckId.SIGNERS_LIST, bf.SIGNERS, Verdict.FAIL, problem)
    if not problems:
        out.add(
            CheckId.SIGNERS_LIST,
            bf.SIGNERS,
            Verdict.PASS,
            Reason.of(C.SIGNERS_MATCH, signers=bf.SIGNERS, n=len(actual)),
        )


def _compare(
    listed: dict[str, ListedSigner], actual: dict[str, ListedSigner], unreadable: set[str]
) -> list[Reason]:
    problems = []
    for location, signer in sorted(actual.items()):
        entry = listed.get(location)
        if entry is None:
            problems.append(
                Reason.of(
                    C.SIGNERS_UNLISTED,
                    signers=bf.SIGNERS,
                    location=location,
                    fingerprint=signer.fingerprint,
                )
            )
            continue
        if entry.fingerprint != signer.fingerprint:
            problems.append(
                Reason.of(
                    C.SIGNERS_FINGERPRINT_DIFFERS,
                    signers=bf.SIGNERS,
                    location=location,
                    listed=entry.fingerprint or "—",
                    actual=signer.fingerprint,
                )
            )
        if entry.issuer != signer.issuer:
            problems.append(
                Reason.of(
                    C.SIGNERS_ISSUER_DIFFERS,
                    signers=bf.SIGNERS,
                    location=location,
                    listed=entry.issuer or "—",
                    actual=signer.issuer,
                )
            )
    for location in sorted(set(listed) - set(actual) - unreadable):
        problems.append(Reason.of(C.SIGNERS_NO_SIGNATURE, signers=bf.SIGNERS, location=location))
    return problems


SIGNER_LIST = Check(
    CheckId.SIGNERS_LIST,
    check_signer_list,
    bf.SIGNERS,
    needs=frozenset({Fact.DIGESTS}),
)
