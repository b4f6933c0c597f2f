"""The self-contained evidence bundle: one zip an expert can verify offline.

Members are stored uncompressed so that ``unzip`` followed by ``sha256sum -c``
works with nothing but stock tools, and so a damaged byte stays confined to
the member that holds it. Timestamps inside the zip come from the bundle's
creation time, which makes the bytes reproducible for the same inputs.

Every artifact is hashed by the same read that copies it into the zip, and
the bundle is refused unless those digests are the ones the manifest sealed:
a damaged store never leaves as evidence.

Last comes the signed index (``signed/bundle-index.txt``): every other member
with its SHA-256, SM3 and size, sealed by the caller's
:data:`~reports.bundle.layout.IndexSealer` (the exporting officer's CMS
signature, and a time-stamp token over it when a TSA answered). The sums files
cannot list the index, which lists them; so nothing in the bundle is left
that neither the manifest nor a signature covers. A signature makes the zip's
bytes differ between two exports unless the key signs deterministically (Ed25519).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from evidence.model.errors import IntegrityError, ReportError
from evidence.model.hashing import CHUNK_SIZE, Digests, DualHasher, digest_bytes
from evidence.model.manifest import Manifest, canonical_json, parse_manifest
from evidence.model.records import isoformat
from reports.bundle import layout as bf
from reports.bundle import signers
from reports.bundle.guides import case_readme, item_readme, verify_instructions

__all__ = ["CaseBundleInput", "write_bundle", "write_case_bundle"]

_DateTime = tuple[int, int, int, int, int, int]
_Written = tuple[str, Digests]
"""A file as written into the zip: its full name there, its size and digests."""


def write_bundle(data: bf.BundleInput, out_path: Path, *, seal_index: bf.IndexSealer) -> Path:
    """Write the bundle zip atomically to ``out_path`` and return it.

    ``seal_index`` signs the bundle's index (see the module documentation).
    Raises IntegrityError when an artifact no longer matches the manifest,
    ReportError when the bundle cannot be written; whatever ``seal_index``
    raises leaves no file behind either.
    """
    item = _SealedItem.of(data)
    date_time = data.created_at.utctimetuple()[:6]
    with _atomic_zip(out_path) as zf:
        _write_item(zf, "", item, date_time, seal_index)
    return out_path


@dataclass(frozen=True, slots=True)
class CaseBundleInput:
    """One case's bundles, written side by side under ``items/<item-id>/``."""

    case_number: str
    case_title: str
    created_at: datetime
    tool_version: str
    items: tuple[bf.BundleInput, ...]


def write_case_bundle(
    data: CaseBundleInput, out_path: Path, *, seal_index: bf.IndexSealer
) -> Path:
    """Write a case bundle: every item's bundle in its own folder, plus case-level sums.

    Each ``items/<item-id>/`` folder is exactly an item bundle, with its own
    signed index sealed by ``seal_index`` (its own ``SHA256SUMS`` has paths
    relative to that folder, so ``evidence verify`` and ``sha256sum -c`` work
    inside it). The root ``SHA256SUMS``/``SM3SUMS`` list every file of the zip
    with root-relative paths.
    """
    ids = [item.item_id for item in data.items]
    if len(set(ids)) != len(ids):
        raise ReportError("a case bundle cannot hold the same item twice")
    items = [_SealedItem.of(item) for item in data.items]
    date_time = data.created_at.utctimetuple()[:6]
    written: list[_Written] = []
    with _atomic_zip(out_path) as zf:
        for item in sorted(items, key=lambda i: i.data.item_id):
            prefix = f"{bf.CASE_ITEMS_DIR}/{item.data.item_id}/"
            written += _write_item(zf, prefix, item, date_time, seal_index)
        readme = case_readme(
            data.case_number,
            data.case_title,
            data.created_at,
            [(item.data.item_id, item.manifest_sha256) for item in items],
        )
        top: list[tuple[str, bytes | Path]] = [
            (bf.CASE_INDEX, canonical_json(_case_index(data, items))),
            (bf.README, readme.encode("utf-8")),
        ]
        written += _write_members(zf, "", top, date_time)
        _write_sums(zf, "", written, date_time)
    return out_path


@dataclass(frozen=True, slots=True)
class _SealedItem:
    """One item's bundle input with its manifest parsed and digested, once."""

    data: bf.BundleInput
    manifest: Manifest
    manifest_sha256: str

    @classmethod
    def of(cls, data: bf.BundleInput) -> _SealedItem:
        if data.manifest is None:
            manifest = parse_manifest(data.manifest_bytes)
        elif data.manifest.to_bytes() == data.manifest_bytes:
            manifest = data.manifest
        else:
            raise ReportError(
                f"item {data.item_id}: the parsed manifest given is not the manifest's bytes"
            )
        return cls(data, manifest, hashlib.sha256(data.manifest_bytes).hexdigest())


def _case_index(data: CaseBundleInput, items: list[_SealedItem]) -> dict[str, object]:
    return {
        "format": bf.CASE_BUNDLE_FORMAT,
        "case_number": data.case_number,
        "case_title": data.case_title,
        "created_at": isoformat(data.created_at),
        "tool_version": data.tool_version,
        "items": [
            {
                "item_id": item.data.item_id,
                "path": f"{bf.CASE_ITEMS_DIR}/{item.data.item_id}/",
                "manifest_sha256": item.manifest_sha256,
                "has_timestamp": item.data.timestamp is not None,
                "has_anchor": item.data.anchor is not None,
            }
            for item in items
        ],
    }


def _write_item(
    zf: zipfile.ZipFile,
    prefix: str,
    item: _SealedItem,
    date_time: _DateTime,
    seal_index: bf.IndexSealer,
) -> list[_Written]:
    """One item bundle under ``prefix``: its files, its sums, its signed index.

    Returns every file written with its root-relative name.
    """
    written = _write_members(zf, prefix, _item_members(item), date_time)
    _check_artifacts(item, prefix, written)
    written += _write_sums(zf, prefix, written, date_time)
    written += _write_signed_index(zf, prefix, written, date_time, seal_index)
    return written


def _write_signed_index(
    zf: zipfile.ZipFile,
    prefix: str,
    written: list[_Written],
    date_time: _DateTime,
    seal_index: bf.IndexSealer,
) -> list[_Written]:
    """List every file written so far, have the list sealed, and write all three."""
    index = bf.index_to_text(
        bf.IndexEntry(name.removeprefix(prefix), d.sha256, d.sm3, d.size) for name, d in written
    )
    seal = seal_index(index)
    if not seal.signature_der:
        raise ReportError("the bundle index was not signed: no bundle was written")
    members: list[tuple[str, bytes | Path]] = [
        (bf.SIGNED_INDEX, index),
        (bf.SIGNED_INDEX_SIGNATURE, seal.signature_der),
    ]
    if seal.token_der is not None:
        members.append((bf.SIGNED_INDEX_TOKEN, seal.token_der))
    return _write_members(zf, prefix, members, date_time)


def _check_artifacts(item: _SealedItem, prefix: str, written: list[_Written]) -> None:
    """Refuse a bundle whose artifacts are not what its manifest says.

    The digests come from the one read that copies each file into the zip, so a
    damaged store is caught without reading every artifact a second time.
    """
    by_name = {name: digests.sha256 for name, digests in written}
    for entry in item.manifest.artifacts:
        got = by_name.get(prefix + entry.path)
        if got != entry.sha256:
            raise IntegrityError(
                f"{entry.path} of item {item.data.item_id} no longer matches its sealed SHA-256 "
                f"{entry.sha256}; no bundle was written"
            )


def _item_members(item: _SealedItem) -> list[tuple[str, bytes | Path]]:
    """The files of one item bundle (sums excluded), as (relative path, content)."""
    data = item.data
    members: list[tuple[str, bytes | Path]] = [(bf.MANIFEST, data.manifest_bytes)]
    members.extend((name, source) for name, source in data.artifacts)
    if data.timestamp is not None:
        members.append((bf.TOKEN, data.timestamp.response_der))
        members.append((bf.TSA_CERT, data.timestamp.tsa_certificate_pem))
        members.append((bf.TSA_ROOT, data.timestamp.trust_root_pem))
        members.append((bf.TIMESTAMP_JSON, bf.timestamp_to_json(data.timestamp)))
    if data.anchor is not None:
        members.append((bf.ANCHOR_JSON, bf.anchor_to_json(data.anchor, data.custody_anchor)))
    if data.custody_jsonl is not None:
        members.append((bf.CUSTODY_LOG, data.custody_jsonl))
    for stem, signature_der, certificate_pem in data.signatures:
        p7s, pem = bf.signature_members(stem)
        members.append((p7s, signature_der))
        members.append((pem, certificate_pem))
    members.append((bf.REPORT, data.report_pdf))
    members.append((bf.SIGNERS, _signers_file(data)))
    members.append(
        (bf.INSTRUCTIONS, verify_instructions(data, item.manifest_sha256).encode("utf-8"))
    )
    members.append((bf.README, item_readme(data, item.manifest_sha256).encode("utf-8")))
    members.append((bf.INDEX, canonical_json(_item_index(data))))
    _check_member_names([name for name, _ in members])
    return members


def _signers_file(data: bf.BundleInput) -> bytes:
    """``signers.txt``: manifest signatures, report signatures, then the index's signer."""
    from cryptography import x509

    entries = signers.manifest_signers(data.manifest_bytes, data.signatures)
    notes: list[str] = []
    try:
        entries += signers.report_signers(data.report_pdf)
    except ReportError as exc:
        # Said in the file rather than refused: the verifier judges the report itself.
        notes.append(exc.message)
    if data.index_signer_pem is not None:
        certificate = x509.load_pem_x509_certificate(data.index_signer_pem)
        entries.append(signers.index_signer(certificate))
    text = signers.signers_text(data.item_id, data.created_at, entries, notes)
    return text.encode("utf-8")


def _item_index(data: bf.BundleInput) -> dict[str, object]:
    return {
        "format": bf.BUNDLE_FORMAT,
        "item_id": data.item_id,
        "case_number": data.case_number,
        "created_at": isoformat(data.created_at),
        "tool_version": data.tool_version,
        "has_timestamp": data.timestamp is not None,
        "has_anchor": data.anchor is not None,
        "has_custody_log": data.custody_jsonl is not None,
    }


def _check_member_names(names: list[str]) -> None:
    if len(set(names)) != len(names):
        raise ReportError("bundle would contain duplicate member names")
    for name in names:
        # Relative paths only: a recipient's unzip must never write outside its folder.
        if name.startswith("/") or ".." in name.split("/") or "\\" in name:
            raise ReportError(f"bundle member name {name!r} is not a safe relative path")


@contextmanager
def _atomic_zip(out_path: Path) -> Iterator[zipfile.ZipFile]:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out_path.parent, prefix=".bundle-", suffix=".zip")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            yield zf
        with tmp.open("rb") as stream:
            os.fsync(stream.fileno())
        os.replace(tmp, out_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"cannot write the bundle {out_path}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_members(
    zf: zipfile.ZipFile,
    prefix: str,
    members: list[tuple[str, bytes | Path]],
    date_time: _DateTime,
) -> list[_Written]:
    """Write files under ``prefix``, each hashed by the read that copies it."""
    written: list[_Written] = []
    for name, source in sorted(members, key=lambda m: m[0]):
        full = prefix + name
        info = zipfile.ZipInfo(full, date_time=date_time)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        hasher = DualHasher()
        with zf.open(info, "w", force_zip64=_size(source) > 2**31) as out:
            for chunk in _chunks(source):
                hasher.update(chunk)
                out.write(chunk)
        written.append((full, hasher.finalize()))
    return written


def _write_sums(
    zf: zipfile.ZipFile, prefix: str, written: list[_Written], date_time: _DateTime
) -> list[_Written]:
    """Write the two sum files under ``prefix`` over ``written`` (paths relative to it)."""
    listed = sorted(
        ((name.removeprefix(prefix), digests) for name, digests in written), key=lambda w: w[0]
    )
    sums: list[_Written] = []
    for name, algo in ((bf.CHECKSUMS, "sha256"), (bf.SM3_CHECKSUMS, "sm3")):
        content = "".join(f"{getattr(d, algo)}  {path}\n" for path, d in listed).encode("utf-8")
        info = zipfile.ZipInfo(prefix + name, date_time=date_time)
        info.external_attr = 0o644 << 16
        zf.writestr(info, content)
        sums.append((prefix + name, digest_bytes(content)))
    return sums


def _size(source: bytes | Path) -> int:
    return len(source) if isinstance(source, bytes) else source.stat().st_size


def _chunks(source: bytes | Path) -> Iterator[bytes]:
    if isinstance(source, bytes):
        yield source
        return
    with source.open("rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            yield chunk
