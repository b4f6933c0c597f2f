"""The RFC 3161 time-stamp over the manifest, and the capture's place before it."""

from __future__ import annotations

import hashlib
from datetime import datetime

from evidence.model.errors import BundleError, TimestampError
from evidence.model.records import Verdict
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf


def check_token(ctx: Context, out: Findings) -> None:
    """The token is signed by a trusted TSA over the SHA-256 of ``manifest.json``."""
    token = ctx.read_small(bf.TOKEN, out)
    if token is None:
        if bf.TOKEN not in ctx.names:
            out.add(
                CheckId.TIMESTAMP_TOKEN,
                bf.TOKEN,
                Verdict.NOT_CHECKED,
                "the bundle has no time-stamp token (the item was not timestamped yet)",
            )
        return
    trusted = _trust_roots(ctx, out)
    if trusted is None:
        return
    roots, roots_label = trusted
    ctx.setup["tsa_roots"] = f"{roots_label}, SHA-256 {hashlib.sha256(roots).hexdigest()}"
    manifest_digest = hashlib.sha256(ctx.manifest_bytes).hexdigest()
    from anchoring.tsa import verify_timestamp  # only when there is a token to verify

    try:
        result = verify_timestamp(token, bytes.fromhex(manifest_digest), roots)
    except TimestampError as exc:
        # The token is over manifest.json: a mismatch may mean either was changed.
        out.add(
            CheckId.TIMESTAMP_TOKEN,
            bf.TOKEN,
            Verdict.FAIL,
            f"{exc.message} (token over {bf.MANIFEST}, whose SHA-256 is {manifest_digest})",
        )
        return
    ctx.provide(Fact.GEN_TIME, result.gen_time)
    note = " — DEVELOPMENT TSA, not a trusted third party" if _development(ctx, out) else ""
    out.add(
        CheckId.TIMESTAMP_TOKEN,
        bf.TOKEN,
        Verdict.PASS,
        f"signed by {result.tsa_subject} at {result.gen_time.isoformat()} over the "
        f"manifest digest, chain verified against {roots_label}{note}",
    )


def _trust_roots(ctx: Context, out: Findings) -> tuple[bytes, str] | None:
    """The expert's TSA roots, else the root shipped in the bundle (and which it was)."""
    if ctx.options.trust_roots_pem is not None:
        return ctx.options.trust_roots_pem, "the trust roots given on the command line"
    shipped = ctx.read_small(bf.TSA_ROOT, out)
    if shipped is None:
        out.add(
            CheckId.TIMESTAMP_TOKEN,
            bf.TOKEN,
            Verdict.FAIL,
            f"no trust root: {bf.TSA_ROOT} is missing and none was given",
        )
        return None
    return shipped, f"the root shipped in the bundle ({bf.TSA_ROOT})"


def _development(ctx: Context, out: Findings) -> bool:
    """Whether ``timestamp.json`` says the TSA was the development one (shown, not trusted)."""
    details = ctx.read_small(bf.TIMESTAMP_JSON, out)
    if details is None:
        return False
    try:
        return bf.timestamp_is_development(details)  # bounded JSON reader
    except BundleError as exc:
        out.add(CheckId.TIMESTAMP_DETAILS, bf.TIMESTAMP_JSON, Verdict.FAIL, exc.message)
    return False


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
            f"capture.started_at {started_raw!r} is not a time",
        )
        return
    if started.tzinfo is None:
        out.add(
            CheckId.TIME_ORDER,
            bf.MANIFEST,
            Verdict.FAIL,
            f"capture.started_at {started_raw!r} has no time zone: it cannot be ordered",
        )
        return
    if started <= gen_time:
        out.add(
            CheckId.TIME_ORDER,
            bf.MANIFEST,
            Verdict.PASS,
            f"capture started {started.isoformat()} before genTime {gen_time.isoformat()}",
        )
    else:
        out.add(
            CheckId.TIME_ORDER,
            bf.MANIFEST,
            Verdict.FAIL,
            f"capture.started_at {started.isoformat()} is after the token's genTime "
            f"{gen_time.isoformat()}",
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
