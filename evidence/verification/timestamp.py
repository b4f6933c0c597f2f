"""The RFC 3161 time-stamp over the manifest, and the capture's place before it."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

from evidence.model.errors import TimestampError
from evidence.model.records import Verdict
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from evidence.verification.trust import verify_trusted_token
from reports.bundle import layout as bf

if TYPE_CHECKING:
    from anchoring.tsa import TimestampVerification


def check_token(ctx: Context, out: Findings) -> None:
    """The token is signed by a TSA the expert trusts, over the SHA-256 of ``manifest.json``.

    Against a root the expert trusts: PASS (with a warning when that entry is a
    development root) or FAIL. Against no trusted root but the one the bundle
    ships: UNTRUSTED, with that root's fingerprint for an out-of-band comparison.
    """
    token = ctx.read_small(bf.TOKEN, out)
    if token is None:
        if bf.TOKEN not in ctx.names:
            out.add(
                CheckId.TIMESTAMP_TOKEN,
                bf.TOKEN,
                Verdict.NOT_CHECKED,
                Reason.of(C.TOKEN_ABSENT),
            )
        return
    digest = hashlib.sha256(ctx.manifest_bytes).digest()
    untrusted_certs = ctx.read_small(bf.TSA_CERT, out) if bf.TSA_CERT in ctx.names else None
    try:
        trusted = verify_trusted_token(
            ctx.trust.tsa_roots, token, digest, certificates=untrusted_certs
        )
    except TimestampError as exc:
        failure = exc if ctx.trust.tsa_roots else None
        _judge_on_bundle_root(ctx, out, token, digest, untrusted_certs, failure)
        return
    result = trusted.verification
    ctx.provide(Fact.GEN_TIME, result.gen_time)
    out.add(
        CheckId.TIMESTAMP_TOKEN,
        bf.TOKEN,
        Verdict.PASS,
        Reason.of(
            C.TOKEN_VALID,
            tsa=result.tsa_subject,
            time=result.gen_time.isoformat(),
            root=trusted.describe_root(),
        ),
    )


def _verify(
    token: bytes, digest: bytes, root_pem: bytes, certificates: bytes | None
) -> TimestampVerification:
    from anchoring.tsa import verify_timestamp  # only when there is a token to verify

    # The bundle's TSA certificate only helps build the chain (like openssl's
    # -untrusted): it adds no trust, the chain must still end at root_pem.
    return verify_timestamp(token, digest, root_pem, tsa_certificates_pem=certificates)


def _judge_on_bundle_root(
    ctx: Context,
    out: Findings,
    token: bytes,
    digest: bytes,
    certificates: bytes | None,
    trusted_failure: TimestampError | None,
) -> None:
    """No trusted root verified the token: FAIL, or UNTRUSTED if the bundle's root does."""
    shipped = ctx.read_small(bf.TSA_ROOT, out) if bf.TSA_ROOT in ctx.names else None
    try:
        if shipped is None:
            raise TimestampError(f"{bf.TSA_ROOT} is missing and no TSA root you trust verifies it")
        result = _verify(token, digest, shipped, certificates)
    except TimestampError as exc:
        reason = trusted_failure or exc
        out.add(
            CheckId.TIMESTAMP_TOKEN,
            bf.TOKEN,
            Verdict.FAIL,
            Reason.of(
                C.TOKEN_FAILED, error=reason.message, manifest=bf.MANIFEST, sha256=digest.hex()
            ),
        )
        return
    root = _describe_root(shipped)
    why = (
        Reason.of(C.TOKEN_AGAINST_YOUR_ROOTS, error=trusted_failure.message)
        if trusted_failure is not None
        else Reason.of(C.TOKEN_NO_TRUSTED_ROOT)
    )
    out.add(
        CheckId.TIMESTAMP_TOKEN,
        bf.TOKEN,
        Verdict.UNTRUSTED,
        (
            Reason.of(
                C.TOKEN_CONSISTENT,
                tsa=result.tsa_subject,
                time=result.gen_time.isoformat(),
                file=bf.TSA_ROOT,
                root=root,
            ),
            why,
        ),
    )


def _describe_root(pem: bytes) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        certificate = x509.load_pem_x509_certificates(pem)[0]
    except (ValueError, IndexError):
        return f"unreadable, file SHA-256 {hashlib.sha256(pem).hexdigest()}"
    fingerprint = certificate.fingerprint(hashes.SHA256()).hex()
    return f"{certificate.subject.rfc4514_string()}, SHA-256 {fingerprint}"


def check_time_order(ctx: Context, out: Findings) -> None:
    """The capture started before the TSA's genTime."""
    gen_time = ctx.gen_time
    started_raw = ctx.manifest.capture.get("started_at")
    try:
        started = datetime.fromisoformat(str(started_raw).replace("Z", "+00:00"))
    except ValueError:
        out.add(
            CheckId.TIME_ORDER,
            bf.MANIFEST,
            Verdict.FAIL,
            Reason.of(C.START_NOT_A_TIME, value=repr(started_raw)),
        )
        return
    if started.tzinfo is None:
        out.add(
            CheckId.TIME_ORDER,
            bf.MANIFEST,
            Verdict.FAIL,
            Reason.of(C.START_NO_ZONE, value=repr(started_raw)),
        )
        return
    if started <= gen_time:
        out.add(
            CheckId.TIME_ORDER,
            bf.MANIFEST,
            Verdict.PASS,
            Reason.of(C.START_BEFORE, started=started.isoformat(), gen_time=gen_time.isoformat()),
        )
    else:
        out.add(
            CheckId.TIME_ORDER,
            bf.MANIFEST,
            Verdict.FAIL,
            Reason.of(C.START_AFTER, started=started.isoformat(), gen_time=gen_time.isoformat()),
        )


TOKEN = Check(
    CheckId.TIMESTAMP_TOKEN,
    check_token,
    bf.TOKEN,
    needs=frozenset({Fact.DIGESTS, Fact.MANIFEST_BYTES}),
    provides=frozenset({Fact.GEN_TIME}),
)
TIME_ORDER = Check(
    CheckId.TIME_ORDER,
    check_time_order,
    bf.MANIFEST,
    needs=frozenset({Fact.MANIFEST, Fact.GEN_TIME}),
)
