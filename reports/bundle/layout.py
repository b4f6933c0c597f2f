"""The evidence bundle's layout and the JSON forms of its records.

The writer lives in :mod:`reports.bundle.writer`, the reading side in
:mod:`reports.bundle.reader` and :mod:`evidence.verification`; both take
their paths and (de)serialisers from here so the two cannot drift.
``docs/bundle.md`` describes the layout for recipients.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeGuard

from evidence.model import safe_json
from evidence.model.errors import BundleError
from evidence.model.manifest import Manifest, canonical_json
from evidence.model.records import AnchorReceipt, SignatureInfo, TimestampToken, isoformat

BUNDLE_FORMAT = "evidence-toolkit/bundle/v1"
CASE_BUNDLE_FORMAT = "evidence-toolkit/case-bundle/v1"

INDEX = "bundle.json"
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
SM3_CHECKSUMS = "SM3SUMS"
INSTRUCTIONS = "VERIFY.txt"
TOKEN = "timestamp/token.tsr"
TSA_CERT = "timestamp/tsa-cert.pem"
TSA_ROOT = "timestamp/tsa-root.pem"
TIMESTAMP_JSON = "timestamp/timestamp.json"
ANCHOR_JSON = "anchor/anchor.json"
REPORT = "report/report.pdf"
CUSTODY_LOG = "custody/custody-log.jsonl"
README = "README.txt"
SIGNERS = "signers.txt"
"""Every signature in the bundle with its signer's certificate fingerprint and issuer in
openssl's forms (:mod:`reports.bundle.signers`); listed in the sums and the signed index."""
"""For the recipient, Chinese and English: what the bundle is and how it is laid out."""
CASE_INDEX = "case.json"
"""Case bundles: the index at the zip root; each item sits under ``items/<item-id>/``."""
CASE_ITEMS_DIR = "items"
SIGNED_INDEX = "signed/bundle-index.txt"
"""Every other member's SHA-256, SM3, size and path, signed by the exporting officer."""
SIGNED_INDEX_SIGNATURE = "signed/bundle-index.p7s"
"""A detached DER CMS signature over ``SIGNED_INDEX`` (``openssl cms -verify``)."""
SIGNED_INDEX_TOKEN = "signed/bundle-index.tsr"
"""An RFC 3161 ``TimeStampResp`` over ``SIGNED_INDEX_SIGNATURE``; absent when no TSA answered."""
SIGNED_INDEX_FILES = frozenset({SIGNED_INDEX, SIGNED_INDEX_SIGNATURE, SIGNED_INDEX_TOKEN})
"""The three members the signed index cannot list: itself and what seals it."""
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class BundleInput:
    """What the facade hands the bundle writer."""

    item_id: str
    case_number: str
    created_at: datetime
    manifest_bytes: bytes
    artifacts: tuple[tuple[str, Path], ...]
    """(path inside the bundle, source file) for every manifest entry."""
    timestamp: TimestampToken | None
    anchor: AnchorReceipt | None
    report_pdf: Path
    tool_version: str
    custody_jsonl: bytes | None = None
    """The item's custody-log extract (JSON Lines), written to ``CUSTODY_LOG`` when given."""
    signatures: tuple[tuple[str, bytes, bytes], ...] = ()
    """Officers' manifest signatures: (name from :func:`signature_name`, CMS DER, signer
    certificate PEM); each is written as ``<name>.p7s`` and ``<name>.pem``."""
    manifest: Manifest | None = None
    """``manifest_bytes`` parsed, when the caller has it: the writer then takes the
    artifact list from it instead of parsing the bytes again. It must be exactly
    what ``manifest_bytes`` encode (checked by re-encoding, which is cheap)."""
    custody_anchor: CustodyAnchor | None = None
    """The custody log's head in ``anchor``'s tree, written into ``ANCHOR_JSON``."""
    index_signer_pem: bytes | None = None
    """The certificate (PEM, first block) of the officer who will sign the bundle index,
    so ``SIGNERS`` can name them: the index is signed after every other file is written."""


@dataclass(frozen=True, slots=True)
class CustodyAnchor:
    """The custody log's head when the item's batch was made: the last leaf of its tree.

    Every anchor batch ends with the log's head ``event_hash``, so a proof
    that this leaf is in the anchored tree fixes the log up to ``seq`` on
    chain, not only the item's manifest (how far an extract with redacted
    lines can show that: ``docs/custody.md``).
    """

    event_hash: str
    """Hex ``event_hash`` of custody event ``seq``: the leaf data."""
    seq: int
    leaf_index: int
    """Its place in the item's anchored tree (``tree_size - 1``: the last leaf)."""
    proof: tuple[str, ...]
    """Its RFC 9162 inclusion proof in that tree: sibling hashes (hex) from the leaf up."""


def anchor_to_json(anchor: AnchorReceipt, custody: CustodyAnchor | None = None) -> bytes:
    # The custody fields get names of their own (merkle_index, not leaf_index) so a
    # grep for the item's "leaf_index" or "path" in this one-line file finds only those.
    extra = {} if custody is None else {"custody": _custody_to_json(custody)}
    return canonical_json(
        {
            **extra,
            "chain_id": anchor.chain_id,
            "network_name": anchor.network_name,
            "rpc_url": anchor.rpc_url,
            "contract_address": anchor.contract_address,
            "transaction_hash": anchor.transaction_hash,
            "block_number": anchor.block_number,
            "block_hash": anchor.block_hash,
            "block_time": isoformat(anchor.block_time),
            "root": anchor.root,
            "submitter": anchor.submitter,
            "reference": anchor.reference,
            "development": anchor.development,
            "merkle": {
                "leaf": anchor.leaf,
                "leaf_index": anchor.leaf_index,
                "tree_size": anchor.tree_size,
                "path": list(anchor.proof),
            },
        }
    )


def anchor_from_json(data: bytes) -> AnchorReceipt:
    raw = _load(data, ANCHOR_JSON)
    try:
        return AnchorReceipt(
            chain_id=int(raw["chain_id"]),
            network_name=str(raw["network_name"]),
            rpc_url=str(raw["rpc_url"]),
            contract_address=str(raw["contract_address"]),
            transaction_hash=str(raw["transaction_hash"]),
            block_number=int(raw["block_number"]),
            block_hash=str(raw["block_hash"]),
            block_time=_time(raw["block_time"]),
            root=str(raw["root"]),
            submitter=str(raw["submitter"]),
            reference=str(raw["reference"]),
            development=bool(raw["development"]),
            leaf=str(raw["merkle"]["leaf"]),
            leaf_index=int(raw["merkle"]["leaf_index"]),
            tree_size=int(raw["merkle"]["tree_size"]),
            proof=tuple(str(h) for h in raw["merkle"]["path"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{ANCHOR_JSON}: missing or malformed field ({exc})") from exc


def _custody_to_json(custody: CustodyAnchor) -> dict[str, object]:
    return {
        "event_hash": custody.event_hash,
        "seq": custody.seq,
        "merkle_index": custody.leaf_index,
        "merkle_path": list(custody.proof),
    }


def custody_anchor_from_json(data: bytes) -> CustodyAnchor | None:
    """The custody head's proof in ``ANCHOR_JSON``; None for a bundle written without one.

    Raises :class:`BundleError` when the ``custody`` object is there but malformed.
    """
    raw = _load(data, ANCHOR_JSON).get("custody")
    if raw is None:
        return None
    where = f"{ANCHOR_JSON}: custody"
    if not isinstance(raw, dict):
        raise BundleError(f"{where} is not an object")
    event_hash, path = raw.get("event_hash"), raw.get("merkle_path")
    seq, index = raw.get("seq"), raw.get("merkle_index")
    if not _is_hex64(event_hash):
        raise BundleError(f"{where}: event_hash is missing or not 64 hex digits")
    if not _is_count(seq) or not _is_count(index):
        raise BundleError(f"{where}: seq and merkle_index must be non-negative integers")
    if not isinstance(path, list) or not all(_is_hex64(h) for h in path):
        raise BundleError(f"{where}: merkle_path must be a list of 64-hex-digit hashes")
    return CustodyAnchor(event_hash, seq, index, tuple(str(h) for h in path))


def _is_hex64(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def timestamp_to_json(token: TimestampToken) -> bytes:
    """Human-readable details; the token file itself is authoritative."""
    return canonical_json(
        {
            "tsa_url": token.tsa_url,
            "gen_time": isoformat(token.gen_time),
            "serial_number": str(token.serial_number),
            "policy_oid": token.policy_oid,
            "hash_algorithm": token.hash_algorithm,
            "message_imprint": token.message_imprint,
            "nonce": None if token.nonce is None else str(token.nonce),
            "tsa_subject": token.tsa_subject,
            "development": token.development,
        }
    )


def timestamp_is_development(data: bytes) -> bool:
    raw = _load(data, TIMESTAMP_JSON)
    return bool(raw.get("development", False))


def _load(data: bytes, name: str) -> dict[str, Any]:
    raw = safe_json.loads(data, name)
    if not isinstance(raw, dict):
        raise BundleError(f"{name}: top level is not an object")
    return raw


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("time is not a string")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- officers' manifest signatures -------------------------------------------

SIGNATURES_DIR = "signatures"
SIGNATURE_SUFFIX = ".p7s"
"""A detached DER CMS SignedData over ``manifest.json`` (docs/signatures.md)."""
SIGNER_CERT_SUFFIX = ".pem"
"""The signer's certificate, PEM; also embedded in the ``.p7s``."""
_SIGNATURE_MEMBER = re.compile(r"^signatures/([1-9][0-9]{0,3})-([A-Za-z0-9_-]{1,200})\.p7s$")


def signature_name(index: int, enforcement_id: str) -> str:
    """``signatures/<n>-<enforcement-id-safe>``: the stem of one signature's two files.

    ``n`` is 1 for the capturing officer's signature, 2, 3, ... for co-signatures.
    """
    from evidence.model.officer_keys import safe_enforcement_id

    if index < 1:
        raise ValueError(f"signature numbers start at 1, not {index}")
    return f"{SIGNATURES_DIR}/{index}-{safe_enforcement_id(enforcement_id)}"


def signature_members(name: str) -> tuple[str, str]:
    """The bundle paths of a signature's ``.p7s`` and its signer's ``.pem``."""
    return name + SIGNATURE_SUFFIX, name + SIGNER_CERT_SUFFIX


def bundle_signatures(
    signatures: Iterable[SignatureInfo],
) -> tuple[tuple[str, bytes, bytes], ...]:
    """``BundleInput.signatures`` from the facade's ``Toolkit.item_signatures(item_id)``."""
    return tuple(
        (signature_name(s.index, s.enforcement_id), s.signature_der, s.certificate_pem)
        for s in sorted(signatures, key=lambda s: s.index)
    )


def signature_names_in(names: Iterable[str]) -> list[str]:
    """The signature stems present among a bundle's member names, in number order.

    Raises :class:`BundleError` for a ``.p7s`` whose name breaks the layout, a
    number used twice, or a signature without its ``.pem``.
    """
    members = set(names)
    found: dict[int, str] = {}
    for member in sorted(members):
        if not (member.startswith(SIGNATURES_DIR + "/") and member.endswith(SIGNATURE_SUFFIX)):
            continue
        match = _SIGNATURE_MEMBER.match(member)
        if match is None:
            raise BundleError(f"{member}: not a signatures/<n>-<enforcement-id>.p7s name")
        index = int(match.group(1))
        if index in found:
            raise BundleError(f"{member}: signature number {index} is used twice")
        stem = member[: -len(SIGNATURE_SUFFIX)]
        if stem + SIGNER_CERT_SUFFIX not in members:
            raise BundleError(f"{member}: its signer certificate {stem}.pem is missing")
        found[index] = stem
    return [found[i] for i in sorted(found)]


# --- the exporting officer's signed index of every member --------------------

INDEX_FORMAT = "evidence-toolkit/bundle-index/v1"
INDEX_HEADER = f"# {INDEX_FORMAT}: SHA-256  SM3  size  path\n"
"""The index's first line; every further line is ``<sha256>  <sm3>  <size>  <path>``.

Two spaces separate the fields, as in ``sha256sum`` listings, and the path
comes last so that a path with spaces stays one field. :data:`INDEX_TO_SHA256SUM`
turns the index into ``sha256sum -c`` input."""
INDEX_TO_SHA256SUM = r"sed -nE 's/^([0-9a-f]{64})  [0-9a-f]{64}  [0-9]+  (.*)$/\1  \2/p'"
"""The shell filter from the index to ``<sha256>  <path>`` lines (VERIFY.txt uses it)."""
_INDEX_LINE = re.compile(
    r"([0-9a-f]{64})  ([0-9a-f]{64})  (0|[1-9][0-9]{0,19})  ([^\x00-\x1f\x7f]+)"
)


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One member as the signed index lists it."""

    path: str
    sha256: str
    sm3: str
    size: int


@dataclass(frozen=True, slots=True)
class IndexSeal:
    """What an :data:`IndexSealer` returns for the bytes of ``SIGNED_INDEX``."""

    signature_der: bytes
    """Detached DER CMS SignedData over the index, by the exporting officer."""
    token_der: bytes | None
    """RFC 3161 ``TimeStampResp`` over the signature file; None when no TSA answered."""


IndexSealer = Callable[[bytes], IndexSeal]
"""Signs (and timestamps) a bundle index. The facade builds it from the exporting
officer's key and its TSA client: the bundle writer knows neither."""


def index_to_text(entries: Iterable[IndexEntry]) -> bytes:
    """The index file: the header, then one line per member sorted by path.

    Raises :class:`ValueError` for a path listed twice, one of ``SIGNED_INDEX_FILES``,
    or a path a line cannot hold (control characters): the writer's own defect.
    """
    lines = [INDEX_HEADER]
    previous = None
    for entry in sorted(entries, key=lambda e: e.path):
        if entry.path == previous or entry.path in SIGNED_INDEX_FILES:
            raise ValueError(f"the bundle index cannot list {entry.path!r} here")
        line = f"{entry.sha256}  {entry.sm3}  {entry.size}  {entry.path}"
        if _INDEX_LINE.fullmatch(line) is None:
            raise ValueError(f"the bundle index cannot hold the member {entry.path!r}")
        lines.append(line + "\n")
        previous = entry.path
    return "".join(lines).encode("utf-8")


def parse_index(data: bytes) -> dict[str, IndexEntry]:
    """The members a signed index lists, by path.

    Strict: the exact header, one well-formed line per member, paths in
    ascending order with none twice, a newline after every line. Raises
    :class:`BundleError` naming the first line that breaks this.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"{SIGNED_INDEX}: not UTF-8 text ({exc.reason})") from exc
    if not text.startswith(INDEX_HEADER):
        raise BundleError(f"{SIGNED_INDEX}: line 1 is not the header {INDEX_HEADER.strip()!r}")
    if not text.endswith("\n"):
        raise BundleError(f"{SIGNED_INDEX}: the last line does not end with a newline")
    entries: dict[str, IndexEntry] = {}
    previous = ""
    body = text[len(INDEX_HEADER) :]
    for number, line in enumerate(body[:-1].split("\n") if body else [], start=2):
        match = _INDEX_LINE.fullmatch(line)
        if match is None:
            raise BundleError(
                f"{SIGNED_INDEX}: line {number} is not '<sha256>  <sm3>  <size>  <path>'"
            )
        sha256, sm3, size, path = match.groups()
        if path <= previous or path in SIGNED_INDEX_FILES:
            raise BundleError(
                f"{SIGNED_INDEX}: line {number} lists {path} out of order, twice, or "
                "as one of the index's own files"
            )
        entries[path] = IndexEntry(path, sha256, sm3, int(size))
        previous = path
    return entries
