"""The verifier's reasons: one code per kind of finding and its English template.

The templates are the English sentences the checks have always written
(``--json`` and the command line keep them); the catalogue holds their
Chinese. ``{error}`` carries a message from elsewhere (a library, a lower
layer) unchanged.
"""

from __future__ import annotations

import enum

from evidence.model.i18n import N_


class ReasonCode(enum.StrEnum):
    """One kind of finding; its English template is in :data:`TEMPLATES`."""

    ERROR = "error"
    # reading the bundle, the manifest, the checksum lists and the exhibits
    MEMBER_UNREADABLE = "bundle.member_unreadable"
    BUNDLE_EMPTY = "bundle.empty"
    BUNDLE_READ = "bundle.read"
    MISSING = "missing"
    MANIFEST_CANONICAL = "manifest.canonical"
    LISTING_MATCHES = "listing.matches"
    LISTED_MISSING = "listing.missing"
    LISTING_DIGEST_DIFFERS = "listing.digest_differs"
    LISTING_UNLISTED = "listing.unlisted"
    ARTIFACT_MISSING = "artifact.missing"
    ARTIFACT_UNREADABLE = "artifact.unreadable"
    ARTIFACT_SIZE_DIFFERS = "artifact.size_differs"
    ARTIFACT_SHA256_DIFFERS = "artifact.sha256_differs"
    ARTIFACT_SM3_DIFFERS = "artifact.sm3_differs"
    ARTIFACT_MATCHES = "artifact.matches"
    ARTIFACT_EXTRA = "artifact.extra"


TEMPLATES: dict[ReasonCode, str] = {
    ReasonCode.ERROR: N_("{error}"),
    ReasonCode.MEMBER_UNREADABLE: N_("unreadable or corrupted: {error}"),
    ReasonCode.BUNDLE_EMPTY: N_("the bundle holds no files"),
    ReasonCode.BUNDLE_READ: N_("{n} files read to the end, each hashed with SHA-256 and SM3"),
    ReasonCode.MISSING: N_("missing from the bundle"),
    ReasonCode.MANIFEST_CANONICAL: N_("canonical manifest, SHA-256 {sha256}"),
    ReasonCode.LISTING_MATCHES: N_("{n} files match {listing}"),
    ReasonCode.LISTED_MISSING: N_("listed in {listing} but missing from the bundle"),
    ReasonCode.LISTING_DIGEST_DIFFERS: N_(
        "{algorithm} {got} differs from {listing} ({expected}): {name} or its {listing} line "
        "was altered"
    ),
    ReasonCode.LISTING_UNLISTED: N_("file is in the bundle but not listed in {listing}"),
    ReasonCode.ARTIFACT_MISSING: N_("listed in manifest.json but missing from the bundle"),
    ReasonCode.ARTIFACT_UNREADABLE: N_("unreadable or corrupted"),
    ReasonCode.ARTIFACT_SIZE_DIFFERS: N_("size {got} differs from the manifest's {expected}"),
    ReasonCode.ARTIFACT_SHA256_DIFFERS: N_("SHA-256 {got} differs from the manifest's {expected}"),
    ReasonCode.ARTIFACT_SM3_DIFFERS: N_("SM3 {got} differs from the manifest's {expected}"),
    ReasonCode.ARTIFACT_MATCHES: N_("{size} bytes, SHA-256 and SM3 match the manifest"),
    ReasonCode.ARTIFACT_EXTRA: N_("file under artifacts/ that the manifest does not list"),
}
