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
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
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
        out.add(check, DATAPACKAGE, Verdict.FAIL, Reason.of(C.ERROR, error=exc.message))
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
        out.add(check, path, Verdict.FAIL, Reason.of(C.WACZ_UNLISTED, datapackage=DATAPACKAGE))
    if not out.failed(check):
        out.add(
            check,
            DATAPACKAGE,
            Verdict.PASS,
            Reason.of(C.WACZ_RESOURCES_MATCH, n=len(listed), datapackage=DATAPACKAGE),
        )


def _resource_problem(
    ctx: Context, resource: WaczResource, listed: set[str]
) -> tuple[str, Verdict, tuple[Reason, ...]] | None:
    """(subject, FAIL, reasons) for a resource that is not the file it describes."""
    path = resource.path
    package = {"datapackage": DATAPACKAGE}
    if path is None:
        return DATAPACKAGE, Verdict.FAIL, (Reason.of(C.WACZ_NO_PATH, n=resource.number),)
    if path in listed:
        return path, Verdict.FAIL, (Reason.of(C.WACZ_LISTED_TWICE, **package),)
    if path not in ctx.names:
        return path, Verdict.FAIL, (Reason.of(C.WACZ_LISTED_MISSING, **package),)
    got = ctx.digests.of(path)
    if got is None:
        return None  # unreadable: already a FAIL
    problems = []
    declared = resource.hash
    if not isinstance(declared, str) or not declared.lower().startswith("sha256:"):
        problems.append(Reason.of(C.WACZ_HASH_NOT_SHA256, declared=repr(declared), **package))
    elif declared[7:].lower() != got.sha256:
        problems.append(
            Reason.of(C.WACZ_SHA256_DIFFERS, got=got.sha256, expected=declared[7:], **package)
        )
    if resource.size is not None and resource.size != got.size:
        problems.append(
            Reason.of(C.WACZ_SIZE_DIFFERS, got=got.size, expected=repr(resource.size), **package)
        )
    return (path, Verdict.FAIL, tuple(problems)) if problems else None


def check_digest_file(ctx: Context, out: Findings) -> None:
    """``datapackage-digest.json`` holds the SHA-256 of ``datapackage.json``."""
    check = CheckId.WACZ_DIGEST
    if DIGEST not in ctx.names:
        out.add(check, DIGEST, Verdict.NOT_CHECKED, Reason.of(C.WACZ_NO_DIGEST, digest=DIGEST))
        return
    data = ctx.read_small(DIGEST, out)
    package = ctx.digests.of(DATAPACKAGE)
    if data is None or package is None:
        return  # already reported
    try:
        digest = read_datapackage_digest(data)
    except BundleError as exc:
        out.add(check, DIGEST, Verdict.FAIL, Reason.of(C.ERROR, error=exc.message))
        return
    if digest.path != DATAPACKAGE:
        other_path = Reason.of(C.WACZ_DIGEST_OTHER_PATH, datapackage=DATAPACKAGE)
        out.add(check, DIGEST, Verdict.FAIL, other_path)
        return
    if digest.hash != f"sha256:{package.sha256}":
        out.add(
            check,
            DIGEST,
            Verdict.FAIL,
            Reason.of(
                C.WACZ_DIGEST_DIFFERS,
                declared=repr(digest.hash),
                datapackage=DATAPACKAGE,
                sha256=package.sha256,
            ),
        )
        return
    matches = Reason.of(C.WACZ_DIGEST_MATCHES, datapackage=DATAPACKAGE, sha256=package.sha256)
    out.add(check, DIGEST, Verdict.PASS, matches)
    if digest.signed:
        out.add(
            CheckId.WACZ_SIGNATURE,
            DIGEST,
            Verdict.NOT_CHECKED,
            Reason.of(C.WACZ_SIGNATURE_UNCHECKED),
        )


def check_archive_warcs(ctx: Context, out: Findings) -> None:
    warcs = archive_warcs(ctx.names)
    if not warcs:
        out.add(CheckId.WARC_RECORD, ARCHIVE, Verdict.FAIL, Reason.of(C.WACZ_NO_WARC))
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
        error = Reason.of(C.ERROR, error=exc.message)
        out.add(CheckId.EVIDENCE_BUNDLE, EVIDENCE_BUNDLE, Verdict.FAIL, error)
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
    claim = ctx.datapackage.manifest_claim if ctx.has(Fact.DATAPACKAGE) else None
    why = (
        Reason.of(C.WACZ_NO_EVIDENCE, bundle=EVIDENCE_BUNDLE)
        if claim is None
        else Reason.of(
            C.WACZ_NO_EVIDENCE_CLAIM, bundle=EVIDENCE_BUNDLE, datapackage=DATAPACKAGE, claim=claim
        )
    )
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
            out.add(check, name, Verdict.FAIL, Reason.of(C.WACZ_WARC_NO_COPY, warc=entry.path))
        elif got is None:
            continue  # unreadable: already a FAIL
        elif (got.sha256, got.sm3, got.size) != (entry.sha256, entry.sm3, entry.size):
            out.add(
                check,
                name,
                Verdict.FAIL,
                Reason.of(
                    C.WACZ_WARC_DIFFERS,
                    warc=entry.path,
                    sha256=got.sha256,
                    size=got.size,
                    expected_sha256=entry.sha256,
                    expected_size=entry.size,
                ),
            )
        else:
            out.add(
                check,
                name,
                Verdict.PASS,
                Reason.of(C.WACZ_WARC_IDENTICAL, warc=entry.path, size=entry.size),
            )
    for name in archive_warcs(ctx.names):
        if name not in matched:
            out.add(check, name, Verdict.FAIL, Reason.of(C.WACZ_WARC_UNSEALED))


def check_manifest_link(ctx: Context, out: Findings) -> None:
    """The manifest digest ``datapackage.json`` names is that of the bundled manifest."""
    check, subject = CheckId.WACZ_MANIFEST_LINK, f"{DATAPACKAGE}: {MANIFEST_CLAIM}"
    claim, bundled = ctx.datapackage.manifest_claim, ctx.bundled_manifest_sha256
    if claim is None:
        out.add(
            check,
            subject,
            Verdict.NOT_CHECKED,
            Reason.of(C.WACZ_MANIFEST_UNNAMED, datapackage=DATAPACKAGE, bundled=bundled),
        )
        return
    same = claim == bundled
    out.add(
        check,
        subject,
        Verdict.PASS if same else Verdict.FAIL,
        Reason.of(
            C.WACZ_MANIFEST_LINKED if same else C.WACZ_MANIFEST_NOT_LINKED,
            claim=repr(claim),
            bundled=bundled,
        ),
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
