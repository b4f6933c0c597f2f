"""The registry of checks and the runner that orders and runs them.

Every check runs and every result is kept: an expert wants every finding,
not the first. A check whose needed fact is missing — because the check that
establishes it failed or could not run — is reported NOT CHECKED with the
reason; a check that raises is reported FAIL naming the error, and the run
goes on. Checks run in registry order, except that a check always runs after
the checks that establish what it needs or uses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from evidence.model.errors import BundleError
from evidence.model.records import Verdict, VerificationReport
from evidence.model.trust import TrustError
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
from evidence.verification import (
    anchor,
    custody,
    index,
    integrity,
    replay,
    report,
    signatures,
    signer_list,
    timestamp,
    video,
    wacz,
    warc,
)
from evidence.verification.context import (
    Check,
    CheckRun,
    Context,
    Fact,
    Findings,
    Outcome,
    one_line,
)
from evidence.verification.ids import CheckId
from evidence.verification.options import VerificationRun, VerifyOptions
from evidence.verification.trust import policy_of
from reports.bundle.reader import BundleSource, open_bundle
from reports.bundle.wacz_reader import is_wacz

logger = logging.getLogger(__name__)

__all__ = [
    "BUNDLE_CHECKS",
    "WACZ_CHECKS",
    "CheckRun",
    "RegistryError",
    "order_checks",
    "run_checks",
    "run_source",
    "run_verification",
    "verify_bundle",
]

BUNDLE_CHECKS: tuple[Check, ...] = (
    integrity.READ,
    integrity.MANIFEST,
    integrity.SHA256SUMS,
    integrity.SM3SUMS,
    integrity.ARTIFACTS,
    index.MEMBERS,
    index.SIGNATURE_CHECK,
    index.TIMESTAMP_CHECK,
    signatures.SIGNATURES,
    signer_list.SIGNER_LIST,
    timestamp.TOKEN,
    timestamp.TIME_ORDER,
    anchor.PROOF,
    anchor.BLOCK_TIME,
    anchor.CHAIN,
    warc.WARCS,
    custody.CUSTODY,
    custody.ANCHORED,
    report.REPORT,
    report.CONTENT,
    report.IDENTITY,
    replay.REPLAY,
    video.VIDEO,
)
"""An evidence bundle (zip or unpacked folder)."""

WACZ_CHECKS: tuple[Check, ...] = (
    integrity.READ,
    wacz.DATAPACKAGE_CHECK,
    wacz.DIGEST_CHECK,
    wacz.ARCHIVE_WARCS,
    wacz.EVIDENCE,
    wacz.SEALED_WARCS,
    wacz.MANIFEST_LINK,
)
"""A WACZ; its ``evidence/bundle.zip`` gets :data:`BUNDLE_CHECKS`."""


class RegistryError(ValueError):
    """A registry whose checks cannot all be ordered: a programming error, not a verdict."""


def order_checks(checks: Sequence[Check]) -> list[Check]:
    """Registry order, moving a check after the providers of what it needs or uses.

    Raises :class:`RegistryError` for a duplicate id, a need that no check
    provides, or checks that wait on each other.
    """
    twice = sorted({c.id.value for c in checks if [d.id for d in checks].count(c.id) > 1})
    if twice:
        raise RegistryError(f"check ids registered twice: {twice}")
    providers = {fact: {c.id for c in checks if fact in c.provides} for fact in Fact}
    for check in checks:
        orphan = [f.name for f in check.needs if not providers[f]]
        if orphan:
            raise RegistryError(f"{check.id} needs {orphan}, which no registered check provides")
    ordered: list[Check] = []
    waiting = list(checks)
    while waiting:
        placed = {c.id for c in ordered}
        ready = [c for c in waiting if _waits_for(c, providers) <= placed]
        if not ready:
            raise RegistryError(f"checks wait on each other: {[c.id.value for c in waiting]}")
        ordered.append(ready[0])
        waiting.remove(ready[0])
    return ordered


def _waits_for(check: Check, providers: dict[Fact, set[CheckId]]) -> set[CheckId]:
    """The other checks that establish what ``check`` needs or uses."""
    return {p for fact in check.needs | check.uses for p in providers[fact]} - {check.id}


def run_checks(checks: Sequence[Check], ctx: Context) -> list[CheckRun]:
    """Run every check in dependency order; each one's results, in that order."""
    runs: list[CheckRun] = []
    for check in order_checks(checks):
        out = Findings()
        # Facts are declared in the order they are established: the first missing
        # one is the root cause.
        missing = [f for f in Fact if f in check.needs and not ctx.has(f)]
        if missing:
            why = _why_missing(missing[0], runs)
            out.add(check.id, check.subject, Verdict.NOT_CHECKED, why)
        else:
            _run_one(check, ctx, out)
        runs.append(CheckRun(check, out.results))
    return runs


def _run_one(check: Check, ctx: Context, out: Findings) -> None:
    ctx.running = check
    try:
        check.run(ctx, out)
    except Exception as exc:  # a check's own defect is a verdict, never a traceback
        logger.debug("check %s raised", check.id, exc_info=True)
        out.add(
            check.id,
            check.subject,
            Verdict.FAIL,
            Reason.of(C.CHECK_CRASHED, error=one_line(exc)),
        )
    finally:
        ctx.running = None


def _why_missing(fact: Fact, runs: list[CheckRun]) -> Reason:
    """``needs the parsed manifest: manifest.json failed (manifest.format)``."""
    for run in runs:
        if fact not in run.check.provides:
            continue
        problem = next((r for r in run.results if r.verdict is not Verdict.PASS), None)
        if problem is not None:
            code = {
                Verdict.FAIL: C.NEEDS_FAILED,
                Verdict.UNTRUSTED: C.NEEDS_UNTRUSTED,
            }.get(problem.verdict, C.NEEDS_NOT_CHECKED)
            return Reason.of(code, fact=fact.label, subject=problem.subject, check=problem.check)
        return Reason.of(C.NEEDS_NOT_ESTABLISHED, fact=fact.label, check=run.check.id)
    return Reason.of(C.NEEDS_NOBODY, fact=fact.label)


def run_source(source: BundleSource, label: str, options: VerifyOptions) -> Outcome:
    """Every check for what ``source`` holds (an evidence bundle or a WACZ), in order.

    Raises :class:`BundleError` only for unusable options (signer roots that are not PEM).
    """
    try:
        trust = policy_of(options)
    except TrustError as exc:
        # The expert's own file is wrong: their error, raised before any check runs
        # rather than charged to the bundle.
        raise BundleError(exc.message) from exc

    def nested(inner: BundleSource, inner_label: str) -> Outcome:
        ctx = Context(inner, inner_label, options, trust=trust, nested=nested)
        return _outcome(BUNDLE_CHECKS, ctx)

    ctx = Context(source, label, options, trust=trust, nested=nested)
    _describe_trust(ctx)
    if is_wacz(source.names()):
        ctx.setup["format"] = "WACZ"
        return _outcome(WACZ_CHECKS, ctx)
    return _outcome(BUNDLE_CHECKS, ctx)


def _describe_trust(ctx: Context) -> None:
    """What the verdicts rest on, for the verification report's setup table."""
    trust = ctx.trust
    ctx.setup["trust"] = ", ".join(trust.sources) or "nothing (every finding is UNTRUSTED)"
    for kind, entries in (("tsa_root", trust.tsa_roots), ("signer_root", trust.signer_roots)):
        for i, entry in enumerate(entries, 1):
            ctx.setup[f"{kind}_{i}"] = f"{entry.name}: SHA-256 {entry.sha256}"
    for i, chain in enumerate(trust.chains, 1):
        ctx.setup[f"chain_{i}"] = f"{chain.name}: {chain.describe()}"


def _outcome(checks: Sequence[Check], ctx: Context) -> Outcome:
    return Outcome(
        runs=tuple(run_checks(checks, ctx)),
        setup=tuple(ctx.setup.items()),
        manifest=ctx.manifest if ctx.has(Fact.MANIFEST) else None,
        manifest_sha256=ctx.manifest_sha256(),
    )


def run_verification(path: Path, options: VerifyOptions) -> VerificationRun:
    """:func:`verify_bundle` plus the roots, endpoint and limits the checks used."""
    source = open_bundle(path, options.limits)
    try:
        outcome = run_source(source, str(path), options)
    finally:
        source.close()
    verified = VerificationReport(str(path), outcome.manifest_sha256, outcome.results)
    return VerificationRun(verified, outcome.setup)


def verify_bundle(
    path: Path,
    *,
    rpc_url: str | None = None,
    trust_roots_pem: bytes | None = None,
    offline: bool = False,
    min_confirmations: int = 1,
    options: VerifyOptions | None = None,
) -> VerificationReport:
    """Run every check on a bundle (zip or unpacked folder) or a WACZ.

    ``trust_roots_pem`` replaces the TSA root shipped in the bundle (an expert
    should pass the roots they trust); ``rpc_url`` replaces the endpoint
    recorded in the anchor; ``offline`` skips the chain, which is then
    reported as NOT CHECKED. ``options``, when given, replaces all of these.
    Raises :class:`BundleError` only when the bundle cannot be read at all.
    """
    if options is None:
        options = VerifyOptions(
            rpc_url=rpc_url,
            trust_roots_pem=trust_roots_pem,
            offline=offline,
            min_confirmations=min_confirmations,
        )
    return run_verification(path, options).report
