"""A WACZ: its own hashes, its WARCs, and the evidence bundle it carries.

A WACZ (``evidence export --format wacz``, zipped or unpacked) is recognised
by its ``datapackage.json``. Its resource hashes, its
``datapackage-digest.json`` and every WARC's records are checked; the evidence
bundle it carries (``evidence/bundle.zip``) gets every bundle check, and each
WARC in ``archive/`` must be byte-identical to the sealed one. That nested
bundle is the only thing ever copied out, into a private temporary directory.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path, PurePosixPath

from evidence.model.errors import BundleError
from evidence.model.records import Verdict
from evidence.verification.context import Check, Context, Fact, Findings, Outcome
from evidence.verification.ids import CheckId
from evidence.verification.warc import check_one_warc
from reports.bundle.reader import open_bundle
from reports.bundle.wacz_reader import (
    ARCHIVE,
    DATAPACKAGE,
    DIGEST,
    EVIDENCE_BUNDLE,
    MANIFEST_CLAIM,
    WaczResource,
    archive_warcs,
    read_datapackage,
    read_datapackage_digest,
)

UNCHECKED_WITHOUT_EVIDENCE = (
    CheckId.MANIFEST,
    CheckId.ARTIFACT_DIGEST,
    CheckId.MANIFEST_SIGNATURE,
    CheckId.TIMESTAMP_TOKEN,
    CheckId.ANCHOR,
    CheckId.CUSTODY_CHAIN,
)
"""What a WACZ without our evidence bundle leaves unchecked, each reported as such."""


def check_datapackage(ctx: Context, out: Findings) -> None:
    """Every file is listed in ``datapackage.json`` with its SHA-256 and size, and only those."""
    check = CheckId.WACZ_DATAPACKAGE
    data = ctx.read_small(DATAPACKAGE, out)
    if data is None:
        return  # unreadable or too large: already a FAIL
    try:
        package = read_datapackage(data)
    except BundleError as exc:
        out.add(check, DATAPACKAGE, Verdict.FAIL, exc.message)
        return
    ctx.provide(Fact.DATAPACKAGE, package)
    listed: set[str] = set()
    for resource in package.resources:
        problem = _resource_problem(ctx, resource, listed)
        if problem is not None:
            out.add(check, *problem)
        if resource.path is not None:
            listed.add(resource.path)
    for path in sorted(ctx.names - listed - {DATAPACKAGE, DIGEST}):
        out.add(check, path, Verdict.FAIL, f"file in the WACZ that {DATAPACKAGE} does not list")
    if not out.failed(check):
        out.add(
            check,
            DATAPACKAGE,
            Verdict.PASS,
            f"{len(listed)} resources: every SHA-256 and size matches {DATAPACKAGE}",
        )


def _resource_problem(
    ctx: Context, resource: WaczResource, listed: set[str]
) -> tuple[str, Verdict, str] | None:
    """(subject, FAIL, detail) for a resource that is not the file it describes."""
    path = resource.path
    if path is None:
        return DATAPACKAGE, Verdict.FAIL, f"resources[{resource.number}] has no path"
    if path in listed:
        return path, Verdict.FAIL, f"listed twice in {DATAPACKAGE}"
    if path not in ctx.names:
        return path, Verdict.FAIL, f"listed in {DATAPACKAGE} but missing from the WACZ"
    got = ctx.digests.of(path)
    if got is None:
        return None  # unreadable: already a FAIL
    problems = []
    declared = resource.hash
    if not isinstance(declared, str) or not declared.lower().startswith("sha256:"):
        problems.append(f"its hash {declared!r} in {DATAPACKAGE} is not a sha256: digest")
    elif declared[7:].lower() != got.sha256:
        problems.append(f"SHA-256 {got.sha256} differs from {DATAPACKAGE}'s {declared[7:]}")
    if resource.size is not None and resource.size != got.size:
        problems.append(f"size {got.size} differs from {DATAPACKAGE}'s {resource.size!r}")
    return (path, Verdict.FAIL, "; ".join(problems)) if problems else None


def check_digest_file(ctx: Context, out: Findings) -> None:
    """``datapackage-digest.json`` holds the SHA-256 of ``datapackage.json``."""
    check = CheckId.WACZ_DIGEST
    if DIGEST not in ctx.names:
        out.add(check, DIGEST, Verdict.NOT_CHECKED, f"the WACZ has no {DIGEST}")
        return
    data = ctx.read_small(DIGEST, out)
    package = ctx.digests.of(DATAPACKAGE)
    if data is None or package is None:
        return  # already reported
    try:
        digest = read_datapackage_digest(data)
    except BundleError as exc:
        out.add(check, DIGEST, Verdict.FAIL, exc.message)
        return
    if digest.path != DATAPACKAGE:
        out.add(check, DIGEST, Verdict.FAIL, f"does not name {DATAPACKAGE} as its path")
        return
    if digest.hash != f"sha256:{package.sha256}":
        out.add(
            check,
            DIGEST,
            Verdict.FAIL,
            f"hash {digest.hash!r} is not the SHA-256 of {DATAPACKAGE} "
            f"(sha256:{package.sha256}): one of the two was altered",
        )
        return
    out.add(check, DIGEST, Verdict.PASS, f"matches {DATAPACKAGE}, SHA-256 {package.sha256}")
    if digest.signed:
        out.add(
            CheckId.WACZ_SIGNATURE,
            DIGEST,
            Verdict.NOT_CHECKED,
            "the WACZ's own signedData (WACZ auth) is not checked by this verifier",
        )


def check_archive_warcs(ctx: Context, out: Findings) -> None:
    warcs = archive_warcs(ctx.names)
    if not warcs:
        out.add(CheckId.WARC_RECORD, ARCHIVE, Verdict.FAIL, "the WACZ holds no WARC")
    for name in warcs:
        if ctx.digests.of(name) is not None:  # else unreadable: already a FAIL
            check_one_warc(ctx, out, name)


def check_evidence(ctx: Context, out: Findings) -> None:
    """Every bundle check over ``evidence/bundle.zip``, its results named by their path in
    the WACZ."""
    if EVIDENCE_BUNDLE not in ctx.names:
        _no_evidence(ctx, out)
        return
    if ctx.digests.of(EVIDENCE_BUNDLE) is None:
        return  # unreadable: already a FAIL
    try:
        outcome = _verify_bundled(ctx)
    except BundleError as exc:
        out.add(CheckId.EVIDENCE_BUNDLE, EVIDENCE_BUNDLE, Verdict.FAIL, exc.message)
        return
    out.extend(replace(r, subject=f"{EVIDENCE_BUNDLE}/{r.subject}") for r in outcome.results)
    for key, value in outcome.setup:
        ctx.setup.setdefault(key, value)
    if outcome.manifest is not None:
        ctx.provide(Fact.BUNDLED_MANIFEST, outcome.manifest)
    if outcome.manifest_sha256 is not None:
        ctx.provide(Fact.BUNDLED_MANIFEST_SHA256, outcome.manifest_sha256)


def _verify_bundled(ctx: Context) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="evidence-wacz-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o700)
        copy = ctx.copy_out(EVIDENCE_BUNDLE, work / "bundle.zip")
        source = open_bundle(copy, ctx.options.limits)
        try:
            return ctx.verify_nested(source, f"{ctx.label}:{EVIDENCE_BUNDLE}")
        finally:
            source.close()


def _no_evidence(ctx: Context, out: Findings) -> None:
    why = (
        f"this WACZ carries no evidence bundle ({EVIDENCE_BUNDLE}): only its own hashes "
        "and WARC records could be checked; verify the item's evidence bundle instead"
    )
    claim = ctx.datapackage.manifest_claim if ctx.has(Fact.DATAPACKAGE) else None
    if claim is not None:
        why += f" ({DATAPACKAGE} names manifest SHA-256 {claim})"
    for check in UNCHECKED_WITHOUT_EVIDENCE:
        out.add(check, EVIDENCE_BUNDLE, Verdict.NOT_CHECKED, why)


def check_sealed_warcs(ctx: Context, out: Findings) -> None:
    """Each WARC in ``archive/`` is byte-identical to the one sealed in the bundled manifest."""
    check = CheckId.WACZ_WARC
    matched: set[str] = set()
    for entry in (e for e in ctx.bundled_manifest.artifacts if e.role == "warc"):
        name = ARCHIVE + PurePosixPath(entry.path).name
        matched.add(name)
        got = ctx.digests.of(name)
        if name not in ctx.names:
            out.add(check, name, Verdict.FAIL, f"the sealed {entry.path} has no copy in the WACZ")
        elif got is None:
            continue  # unreadable: already a FAIL
        elif (got.sha256, got.sm3, got.size) != (entry.sha256, entry.sm3, entry.size):
            out.add(
                check,
                name,
                Verdict.FAIL,
                f"not byte-identical to the sealed {entry.path}: SHA-256 {got.sha256}, "
                f"{got.size} bytes; the manifest says {entry.sha256}, {entry.size} bytes",
            )
        else:
            out.add(
                check,
                name,
                Verdict.PASS,
                f"byte-identical to the sealed {entry.path} ({entry.size} bytes, SHA-256 "
                "and SM3 match the manifest)",
            )
    for name in archive_warcs(ctx.names):
        if name not in matched:
            out.add(check, name, Verdict.FAIL, "a WARC that the sealed manifest does not list")


def check_manifest_link(ctx: Context, out: Findings) -> None:
    """The manifest digest ``datapackage.json`` names is that of the bundled manifest."""
    check, subject = CheckId.WACZ_MANIFEST_LINK, f"{DATAPACKAGE}: {MANIFEST_CLAIM}"
    claim, bundled = ctx.datapackage.manifest_claim, ctx.bundled_manifest_sha256
    if claim is None:
        out.add(
            check,
            subject,
            Verdict.NOT_CHECKED,
            f"{DATAPACKAGE} does not name the manifest it carries; "
            f"the bundled one has SHA-256 {bundled}",
        )
        return
    same = claim == bundled
    out.add(
        check,
        subject,
        Verdict.PASS if same else Verdict.FAIL,
        f"{claim!r} "
        + ("is" if same else "is not")
        + f" the SHA-256 of the bundled manifest.json ({bundled})",
    )


DATAPACKAGE_CHECK = Check(
    CheckId.WACZ_DATAPACKAGE,
    check_datapackage,
    DATAPACKAGE,
    needs=frozenset({Fact.DIGESTS}),
    provides=frozenset({Fact.DATAPACKAGE}),
)
DIGEST_CHECK = Check(
    CheckId.WACZ_DIGEST, check_digest_file, DIGEST, needs=frozenset({Fact.DIGESTS})
)
ARCHIVE_WARCS = Check(
    CheckId.WARC_RECORD, check_archive_warcs, ARCHIVE, needs=frozenset({Fact.DIGESTS})
)
EVIDENCE = Check(
    CheckId.EVIDENCE_BUNDLE,
    check_evidence,
    EVIDENCE_BUNDLE,
    needs=frozenset({Fact.DIGESTS}),
    uses=frozenset({Fact.DATAPACKAGE}),
    provides=frozenset({Fact.BUNDLED_MANIFEST, Fact.BUNDLED_MANIFEST_SHA256}),
)
SEALED_WARCS = Check(
    CheckId.WACZ_WARC,
    check_sealed_warcs,
    ARCHIVE,
    needs=frozenset({Fact.DIGESTS, Fact.BUNDLED_MANIFEST}),
)
MANIFEST_LINK = Check(
    CheckId.WACZ_MANIFEST_LINK,
    check_manifest_link,
    f"{DATAPACKAGE}: {MANIFEST_CLAIM}",
    needs=frozenset({Fact.DATAPACKAGE, Fact.BUNDLED_MANIFEST_SHA256}),
)
