"""The bundle's own integrity: every file hashed, the manifest, the checksum listings,
the artifacts against the manifest."""

from __future__ import annotations

import zipfile

from evidence.model.errors import BundleError
from evidence.model.hashing import Digests, DualHasher
from evidence.model.manifest import parse_manifest
from evidence.model.records import Verdict
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
from evidence.verification.context import Check, Context, Fact, Findings, MemberDigests
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf
from reports.bundle.reader import read_chunks

ALL_FILES = "*"
"""The subject of results about the bundle as a whole."""


def hash_members(ctx: Context, out: Findings) -> None:
    """One streaming pass: size, SHA-256 and SM3 of every file; nothing is extracted."""
    digests: dict[str, Digests | None] = {}
    for name in sorted(ctx.names):
        try:
            with ctx.source.open(name) as stream:
                hasher = DualHasher()
                for chunk in read_chunks(stream):
                    hasher.update(chunk)
            digests[name] = hasher.finalize()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            # A CRC mismatch surfaces here: the zip itself says the member changed.
            digests[name] = None
            out.add(
                CheckId.BUNDLE_READ, name, Verdict.FAIL, Reason.of(C.MEMBER_UNREADABLE, error=exc)
            )
    ctx.provide(Fact.DIGESTS, MemberDigests(digests))
    if not digests:
        out.add(CheckId.BUNDLE_READ, ALL_FILES, Verdict.FAIL, Reason.of(C.BUNDLE_EMPTY))
    elif not out.failed(CheckId.BUNDLE_READ):
        out.add(
            CheckId.BUNDLE_READ,
            ALL_FILES,
            Verdict.PASS,
            Reason.of(C.BUNDLE_READ, n=len(digests)),
        )


def check_manifest(ctx: Context, out: Findings) -> None:
    data = ctx.read_small(bf.MANIFEST, out)
    if data is None:
        if bf.MANIFEST not in ctx.names:
            out.add(CheckId.MANIFEST, bf.MANIFEST, Verdict.FAIL, Reason.of(C.MISSING))
        return
    ctx.provide(Fact.MANIFEST_BYTES, data)
    try:
        manifest = parse_manifest(data)
    except BundleError as exc:
        out.add(
            CheckId.MANIFEST_FORMAT,
            bf.MANIFEST,
            Verdict.FAIL,
            Reason.of(C.ERROR, error=exc.message),
        )
        return
    ctx.provide(Fact.MANIFEST, manifest)
    out.add(
        CheckId.MANIFEST_FORMAT,
        bf.MANIFEST,
        Verdict.PASS,
        Reason.of(C.MANIFEST_CANONICAL, sha256=ctx.manifest_sha256()),
    )


def _checksums(check: CheckId, listing: str, algo: str) -> Check:
    def run(ctx: Context, out: Findings) -> None:
        data = ctx.read_small(listing, out)
        if data is None:
            if listing not in ctx.names:
                out.add(check, listing, Verdict.FAIL, Reason.of(C.MISSING))
            return  # else already reported as unreadable
        try:
            entries = parse_checksums(data)
        except BundleError as exc:
            out.add(check, listing, Verdict.FAIL, Reason.of(C.ERROR, error=exc.message))
            return
        _compare_listing(ctx, out, check, listing, algo, entries)
        if not out.failed(check):
            out.add(
                check,
                listing,
                Verdict.PASS,
                Reason.of(C.LISTING_MATCHES, n=len(entries), listing=listing),
            )

    return Check(check, run, listing, needs=frozenset({Fact.DIGESTS}))


def _compare_listing(
    ctx: Context, out: Findings, check: CheckId, listing: str, algo: str, entries: dict[str, str]
) -> None:
    for name, expected in sorted(entries.items()):
        got = ctx.digests.of(name)
        if name not in ctx.names:
            out.add(check, name, Verdict.FAIL, Reason.of(C.LISTED_MISSING, listing=listing))
        elif got is None:
            continue  # unreadable: already reported
        elif getattr(got, algo) != expected:
            out.add(
                check,
                name,
                Verdict.FAIL,
                Reason.of(
                    C.LISTING_DIGEST_DIFFERS,
                    algorithm=algo.upper(),
                    got=getattr(got, algo),
                    listing=listing,
                    expected=expected,
                    name=name,
                ),
            )
    # The signed index lists the sums files, so they cannot list it: it and what
    # seals it are checked by the index checks instead.
    unlisted = ctx.names - set(entries) - {bf.CHECKSUMS, bf.SM3_CHECKSUMS} - bf.SIGNED_INDEX_FILES
    for name in sorted(unlisted):
        out.add(check, name, Verdict.FAIL, Reason.of(C.LISTING_UNLISTED, listing=listing))


def parse_checksums(data: bytes) -> dict[str, str]:
    """``<hex digest>  <path>`` lines, as ``sha256sum`` writes them; path → digest."""
    entries: dict[str, str] = {}
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise BundleError(f"not ASCII text ({exc})") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise BundleError(f"line {number} is not '<hex digest>  <path>'")
        if name in entries:
            raise BundleError(f"line {number} lists {name} twice")
        entries[name] = digest
    return entries


def check_artifacts(ctx: Context, out: Findings) -> None:
    """Every artifact the manifest lists is present with its size, SHA-256 and SM3."""
    manifest = ctx.manifest
    for entry in manifest.artifacts:
        got = ctx.digests.of(entry.path)
        if entry.path not in ctx.names:
            out.add(
                CheckId.ARTIFACT_PRESENT,
                entry.path,
                Verdict.FAIL,
                Reason.of(C.ARTIFACT_MISSING),
            )
            continue
        if got is None:
            out.add(
                CheckId.ARTIFACT_READ, entry.path, Verdict.FAIL, Reason.of(C.ARTIFACT_UNREADABLE)
            )
            continue
        problems: list[Reason] = []
        if got.size != entry.size:
            problems.append(Reason.of(C.ARTIFACT_SIZE_DIFFERS, got=got.size, expected=entry.size))
        if got.sha256 != entry.sha256:
            problems.append(
                Reason.of(C.ARTIFACT_SHA256_DIFFERS, got=got.sha256, expected=entry.sha256)
            )
        if got.sm3 != entry.sm3:
            problems.append(Reason.of(C.ARTIFACT_SM3_DIFFERS, got=got.sm3, expected=entry.sm3))
        if problems:
            out.add(CheckId.ARTIFACT_DIGEST, entry.path, Verdict.FAIL, problems)
        else:
            out.add(
                CheckId.ARTIFACT_DIGEST,
                entry.path,
                Verdict.PASS,
                Reason.of(C.ARTIFACT_MATCHES, size=entry.size),
            )
    listed = {entry.path for entry in manifest.artifacts}
    for name in sorted(ctx.names):
        if name.startswith("artifacts/") and name not in listed:
            out.add(
                CheckId.ARTIFACT_EXTRA,
                name,
                Verdict.FAIL,
                Reason.of(C.ARTIFACT_EXTRA),
            )


READ = Check(CheckId.BUNDLE_READ, hash_members, ALL_FILES, provides=frozenset({Fact.DIGESTS}))
MANIFEST = Check(
    CheckId.MANIFEST_FORMAT,
    check_manifest,
    bf.MANIFEST,
    needs=frozenset({Fact.DIGESTS}),
    provides=frozenset({Fact.MANIFEST_BYTES, Fact.MANIFEST}),
)
SHA256SUMS = _checksums(CheckId.CHECKSUMS_SHA256, bf.CHECKSUMS, "sha256")
SM3SUMS = _checksums(CheckId.CHECKSUMS_SM3, bf.SM3_CHECKSUMS, "sm3")
ARTIFACTS = Check(
    CheckId.ARTIFACT_DIGEST,
    check_artifacts,
    bf.MANIFEST,
    needs=frozenset({Fact.DIGESTS, Fact.MANIFEST}),
)
