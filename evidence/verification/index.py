"""The exporting officer's signed index (``signed/bundle-index.txt``): every file is bound.

A file is bound when it is ``manifest.json``, an artifact the manifest seals
(the artifact checks compare its digests), or listed in the signed index
with the SHA-256, SM3 and size it has. Everything else fails, named: an
extra file anywhere, a listed file that changed or is missing. The index
itself is only as good as its signature, which must chain to the signer
roots the expert gives, and its time-stamp token (over the signature file),
which must chain to the TSA roots the expert trusts. What the bundle ships
about itself (its TSA root, the signer's certificate) can make either at
most UNTRUSTED, never a pass.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from evidence.model.errors import BundleError, SignatureError, SignatureFailure, TimestampError
from evidence.model.records import SignerInfo, Verdict
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from evidence.verification.signatures import describe_signer
from evidence.verification.trust import verify_trusted_token
from reports.bundle import layout as bf

if TYPE_CHECKING:
    from anchoring.tsa import TimestampVerification

INDEX = bf.SIGNED_INDEX
SIGNATURE = bf.SIGNED_INDEX_SIGNATURE
TOKEN = bf.SIGNED_INDEX_TOKEN
# --- index.member ------------------------------------------------------------


def check_members(ctx: Context, out: Findings) -> None:
    """Every file is the manifest, a sealed artifact, or listed in the index as it is."""
    if not ctx.names:
        out.add(CheckId.INDEX_MEMBER, INDEX, Verdict.NOT_CHECKED, Reason.of(C.BUNDLE_EMPTY))
        return
    listed = _listed(ctx, out)
    if listed is None:
        return  # the index is there but unusable: already reported
    sealed = {bf.MANIFEST}
    if ctx.has(Fact.MANIFEST):
        sealed |= {entry.path for entry in ctx.manifest.artifacts}
    checked = 0
    for name in sorted(ctx.names - bf.SIGNED_INDEX_FILES):
        entry = listed.get(name)
        if entry is not None:
            checked += _compare(ctx, out, entry)
        elif name not in sealed:
            why = (
                Reason.of(C.INDEX_UNBOUND_UNLISTED, index=INDEX)
                if INDEX in ctx.names
                else Reason.of(C.INDEX_UNBOUND)
            )
            out.add(CheckId.INDEX_MEMBER, name, Verdict.FAIL, why)
    for name in sorted(set(listed) - ctx.names):
        out.add(
            CheckId.INDEX_MEMBER,
            name,
            Verdict.FAIL,
            Reason.of(C.LISTED_MISSING, listing=INDEX),
        )
    if not out.failed(CheckId.INDEX_MEMBER):
        out.add(
            CheckId.INDEX_MEMBER,
            INDEX,
            Verdict.PASS,
            Reason.of(C.INDEX_BOUND, n=checked, index=INDEX),
        )


def _listed(ctx: Context, out: Findings) -> dict[str, bf.IndexEntry] | None:
    """The index's entries; empty without an index; None when it is unreadable or malformed."""
    if INDEX not in ctx.names:
        return {}
    data = ctx.read_small(INDEX, out)
    if data is None:
        out.add(
            CheckId.INDEX_MEMBER,
            INDEX,
            Verdict.FAIL,
            Reason.of(C.INDEX_UNREADABLE),
        )
        return None
    try:
        return bf.parse_index(data)
    except BundleError as exc:
        out.add(CheckId.INDEX_MEMBER, INDEX, Verdict.FAIL, Reason.of(C.ERROR, error=exc.message))
        return None


def _compare(ctx: Context, out: Findings, entry: bf.IndexEntry) -> int:
    """1 when the file is what the index lists, else 0 (and a FAIL naming it)."""
    got = ctx.digests.of(entry.path)
    if got is None:
        return 0  # unreadable: already reported by bundle.read
    problems: list[Reason] = []
    if got.size != entry.size:
        problems.append(Reason.of(C.INDEX_SIZE_DIFFERS, got=got.size, expected=entry.size))
    if got.sha256 != entry.sha256:
        problems.append(Reason.of(C.INDEX_SHA256_DIFFERS, got=got.sha256, expected=entry.sha256))
    if got.sm3 != entry.sm3:
        problems.append(Reason.of(C.INDEX_SM3_DIFFERS, got=got.sm3, expected=entry.sm3))
    if not problems:
        return 1
    out.add(
        CheckId.INDEX_MEMBER,
        entry.path,
        Verdict.FAIL,
        (Reason.of(C.INDEX_CHANGED), *problems),
    )
    return 0


# --- index.signature ---------------------------------------------------------


def check_signature(ctx: Context, out: Findings) -> None:
    """The index is signed by an officer whose certificate chains to the expert's roots."""
    if INDEX not in ctx.names:
        _without_index(ctx, out, CheckId.INDEX_SIGNATURE, SIGNATURE)
        return
    if SIGNATURE not in ctx.names:
        out.add(
            CheckId.INDEX_SIGNATURE,
            SIGNATURE,
            Verdict.FAIL,
            f"missing: nothing shows who wrote {INDEX}",
        )
        return
    index = ctx.read_small(INDEX, out)
    signature = ctx.read_small(SIGNATURE, out)
    if index is None or signature is None:
        out.add(
            CheckId.INDEX_SIGNATURE,
            SIGNATURE,
            Verdict.NOT_CHECKED,
            f"{INDEX} or {SIGNATURE} could not be read (reported above)",
        )
        return
    from evidence.model.signatures import verify_detached_signature  # only when needed

    try:
        signer = verify_detached_signature(index, signature, None, content_name=INDEX)
    except SignatureError as exc:
        out.add(CheckId.INDEX_SIGNATURE, SIGNATURE, Verdict.FAIL, f"over {INDEX}: {exc.message}")
        return
    _judge_signer(ctx, out, index, signature, signer)


def _judge_signer(
    ctx: Context, out: Findings, index: bytes, signature: bytes, signer: SignerInfo
) -> None:
    """The signature is intact; whether its signer is someone the expert trusts."""
    from evidence.model.signatures import verify_detached_signature

    who = describe_signer(signer)
    if ctx.signer_roots is None:
        out.add(
            CheckId.INDEX_SIGNATURE,
            SIGNATURE,
            Verdict.UNTRUSTED,
            Reason.of(C.INDEX_SIGNED_NO_ROOTS, index=INDEX, who=who),
        )
        return
    try:
        verify_detached_signature(index, signature, ctx.signer_roots, content_name=INDEX)
    except SignatureError as exc:
        if exc.failure is not SignatureFailure.UNTRUSTED:
            raise  # the same bytes verified a moment ago: a defect, reported by the runner
        out.add(
            CheckId.INDEX_SIGNATURE,
            SIGNATURE,
            Verdict.UNTRUSTED,
            Reason.of(C.INDEX_SIGNED_UNTRUSTED, index=INDEX, who=who),
        )
        return
    out.add(
        CheckId.INDEX_SIGNATURE,
        SIGNATURE,
        Verdict.PASS,
        Reason.of(C.INDEX_SIGNED, index=INDEX, who=who, time=signer.signing_time.isoformat()),
    )


# --- index.timestamp ---------------------------------------------------------


def check_timestamp(ctx: Context, out: Findings) -> None:
    """A token over the index's signature file, from a TSA whose root the expert trusts."""
    if INDEX not in ctx.names:
        _without_index(ctx, out, CheckId.INDEX_TIMESTAMP, TOKEN)
        return
    if TOKEN not in ctx.names:
        out.add(
            CheckId.INDEX_TIMESTAMP,
            TOKEN,
            Verdict.NOT_CHECKED,
            Reason.of(C.INDEX_NO_TOKEN),
        )
        return
    if SIGNATURE not in ctx.names:
        out.add(
            CheckId.INDEX_TIMESTAMP,
            TOKEN,
            Verdict.FAIL,
            f"the token is over {SIGNATURE}, which is missing",
        )
        return
    token = ctx.read_small(TOKEN, out)
    signature = ctx.read_small(SIGNATURE, out)
    if token is None or signature is None:
        out.add(
            CheckId.INDEX_TIMESTAMP,
            TOKEN,
            Verdict.NOT_CHECKED,
            f"{TOKEN} or {SIGNATURE} could not be read (reported above)",
        )
        return
    digest = hashlib.sha256(signature).digest()
    try:
        trusted = verify_trusted_token(ctx.trust.tsa_roots, token, digest)
    except TimestampError:
        pass  # judged below against the bundle's own root: UNTRUSTED or FAIL
    else:
        _report_token(out, trusted.verification, trusted.describe_root(), Verdict.PASS)
        return
    shipped = ctx.read_small(bf.TSA_ROOT, out) if bf.TSA_ROOT in ctx.names else None
    if shipped is None:
        out.add(
            CheckId.INDEX_TIMESTAMP,
            TOKEN,
            Verdict.FAIL,
            f"no TSA root you trust verifies it and the bundle ships none ({bf.TSA_ROOT})",
        )
        return
    # An English phrase as a value: the report translates it (reports/_verification_setup.py).
    label = (
        f"only the bundle's own {bf.TSA_ROOT}, not the TSA roots you trust"
        if ctx.trust.tsa_roots
        else f"only the bundle's own {bf.TSA_ROOT}: you trust no TSA root "
        "(evidence trust add tsa, or --trust-roots)"
    )
    _verify_token(out, token, digest, shipped, label, Verdict.UNTRUSTED)


def _verify_token(
    out: Findings, token: bytes, digest: bytes, roots: bytes, label: str, verdict: Verdict
) -> None:
    from anchoring.tsa import verify_timestamp  # only when there is a token to verify

    try:
        result = verify_timestamp(token, digest, roots)
    except TimestampError as exc:
        out.add(
            CheckId.INDEX_TIMESTAMP,
            TOKEN,
            Verdict.FAIL,
            Reason.of(
                C.INDEX_TOKEN_FAILED,
                error=exc.message,
                signature=SIGNATURE,
                sha256=digest.hex(),
                root=label,
            ),
        )
        return
    _report_token(out, result, label, verdict)


def _report_token(
    out: Findings, result: TimestampVerification, label: str, verdict: Verdict
) -> None:
    out.add(
        CheckId.INDEX_TIMESTAMP,
        TOKEN,
        verdict,
        Reason.of(
            C.INDEX_TOKEN,
            tsa=result.tsa_subject,
            time=result.gen_time.isoformat(),
            signature=SIGNATURE,
            root=label,
        ),
    )


def _without_index(ctx: Context, out: Findings, check: CheckId, subject: str) -> None:
    """No index: its signature or token alone is out of place; otherwise nothing to check."""
    if subject in ctx.names:
        out.add(check, subject, Verdict.FAIL, f"present without the {INDEX} it would cover")
        return
    out.add(
        check,
        subject,
        Verdict.NOT_CHECKED,
        Reason.of(C.INDEX_ABSENT, index=INDEX),
    )


MEMBERS = Check(
    CheckId.INDEX_MEMBER,
    check_members,
    INDEX,
    needs=frozenset({Fact.DIGESTS}),
    uses=frozenset({Fact.MANIFEST}),
)
SIGNATURE_CHECK = Check(
    CheckId.INDEX_SIGNATURE, check_signature, SIGNATURE, needs=frozenset({Fact.DIGESTS})
)
TIMESTAMP_CHECK = Check(
    CheckId.INDEX_TIMESTAMP, check_timestamp, TOKEN, needs=frozenset({Fact.DIGESTS})
)
