"""Reading a received WACZ: which files it is made of and what its datapackage declares.

The writer is :mod:`reports.bundle.wacz`; this side reads WACZ files from
anyone, so every value is taken as declared and judged by the verifier. The
names are those of WACZ 1.1.1, plus where our own WACZ carries the item's
evidence bundle (``tests/test_verify_wacz.py`` checks both sides name it alike;
importing the writer here would pull in its CDXJ indexer for every reader).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from evidence.model import safe_json
from evidence.model.errors import BundleError, UnsafeJSONError
from reports.bundle.layout import MANIFEST

__all__ = [
    "ARCHIVE",
    "DATAPACKAGE",
    "DIGEST",
    "EVIDENCE_BUNDLE",
    "Datapackage",
    "DatapackageDigest",
    "WaczResource",
    "archive_warcs",
    "is_wacz",
    "read_datapackage",
    "read_datapackage_digest",
]

DATAPACKAGE = "datapackage.json"
DIGEST = "datapackage-digest.json"
ARCHIVE = "archive/"
EVIDENCE_BUNDLE = "evidence/bundle.zip"
"""Where our WACZ puts the item's evidence bundle (``reports.bundle.wacz.EVIDENCE_BUNDLE``)."""
MANIFEST_CLAIM = "evidenceManifestSha256"
"""The datapackage key by which our WACZ names the SHA-256 of the bundled manifest."""


def is_wacz(names: list[str]) -> bool:
    """A WACZ has a ``datapackage.json`` at its root; our bundles have ``manifest.json``."""
    return DATAPACKAGE in names and MANIFEST not in names


def archive_warcs(names: list[str] | set[str] | frozenset[str]) -> list[str]:
    """The WARC files under ``archive/``, sorted."""
    return sorted(
        n for n in names if n.startswith(ARCHIVE) and n.lower().endswith((".warc", ".warc.gz"))
    )


@dataclass(frozen=True, slots=True)
class WaczResource:
    """One entry of the datapackage's ``resources``, its values as declared."""

    number: int
    """Its index in ``resources``, to name an entry that has no usable path."""
    path: str | None
    """None when the entry has no path or it is not a non-empty string."""
    hash: object
    """The declared ``hash`` JSON value; a ``sha256:<hex>`` string when well formed."""
    size: object
    """The declared ``bytes`` JSON value (optional in WACZ)."""


@dataclass(frozen=True, slots=True)
class Datapackage:
    resources: tuple[WaczResource, ...]
    manifest_claim: str | None
    """``evidenceManifestSha256`` as text (JSON text if not a string); None when absent."""


@dataclass(frozen=True, slots=True)
class DatapackageDigest:
    path: object
    """The declared ``path``; names ``datapackage.json`` in a well-formed file."""
    hash: object
    signed: bool
    """It carries ``signedData`` (WACZ authentication)."""


def read_datapackage(data: bytes) -> Datapackage:
    """Parse ``datapackage.json``; raises :class:`BundleError` when it is no datapackage."""
    package = _json_object(data, DATAPACKAGE)
    resources = package.get("resources") if isinstance(package, dict) else None
    if not isinstance(package, dict) or not isinstance(resources, list):
        raise BundleError("no 'resources' list: not a WACZ datapackage")
    entries = []
    for number, resource in enumerate(resources):
        fields = resource if isinstance(resource, dict) else {}
        path = fields.get("path")
        entries.append(
            WaczResource(
                number=number,
                path=path if isinstance(path, str) and path else None,
                hash=fields.get("hash"),
                size=fields.get("bytes"),
            )
        )
    claim = package.get(MANIFEST_CLAIM)
    text = claim if isinstance(claim, str) or claim is None else json.dumps(claim)
    return Datapackage(tuple(entries), text)


def read_datapackage_digest(data: bytes) -> DatapackageDigest:
    """Parse ``datapackage-digest.json``; raises :class:`BundleError` when it is not JSON."""
    raw = _json_object(data, DIGEST)
    if not isinstance(raw, dict):
        return DatapackageDigest(path=None, hash=None, signed=False)
    return DatapackageDigest(raw.get("path"), raw.get("hash"), "signedData" in raw)


def _json_object(data: bytes, name: str) -> object:
    try:
        value: object = safe_json.loads(data, name)
    except UnsafeJSONError as exc:
        reason = exc.message.removeprefix(f"{name}: ")
        raise BundleError(f"not UTF-8 JSON ({reason})") from exc
    return value
