"""WACZ export: a capture's WARCs packaged for the web-archiving world (pywb, ReplayWeb.page).

Layout (WACZ 1.1.1)::

    archive/<warc>                  the captured WARC(s), byte for byte as sealed
    indexes/index.cdx               CDXJ index, written by webrecorder's cdxj-indexer
    pages/pages.jsonl               the page(s) captured, with title and capture time
    evidence/bundle.zip             the item's evidence bundle (manifest, artifacts, token,
                                    anchor record, signatures, custody extract, report),
                                    exactly as ``evidence export`` writes it; optional
    datapackage.json                every file above with its sha256 and size
    datapackage-digest.json         sha256 of datapackage.json

The WARC bytes are not re-encoded, so the SHA-256 of ``archive/<warc>`` equals
the one in the evidence manifest: a WACZ can be tied back to the sealed item,
and ``evidence verify item.wacz`` checks that it is.

Why the evidence travels as one nested zip and not as a folder of files: the
reference validator (``wacz validate``, py-wacz 0.6) matches files to
``datapackage.json`` by their last two path components only, so anything
nested deeper than ``dir/file`` (``artifacts/screenshot.png`` under a folder)
fails it, and frictionless rejects resources without a file extension
(``SHA256SUMS``). A single ``evidence/bundle.zip`` resource passes both, keeps
the bundle byte-for-byte what an expert can ``unzip`` and check with stock
tools, and costs a second copy of the WARC.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cdxj_indexer.main import CDXJIndexer
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from evidence.model.errors import ReportError
from evidence.model.hashing import CHUNK_SIZE

logger = logging.getLogger(__name__)

__all__ = ["EVIDENCE_BUNDLE", "WACZ_VERSION", "WaczInput", "WaczPage", "write_wacz"]

WACZ_VERSION = "1.1.1"
PAGES = "pages/pages.jsonl"
INDEX = "indexes/index.cdx"
DATAPACKAGE = "datapackage.json"
DIGEST = "datapackage-digest.json"
EVIDENCE_BUNDLE = "evidence/bundle.zip"
"""Where the item's evidence bundle sits inside the WACZ (readers ignore the folder)."""


@dataclass(frozen=True, slots=True)
class WaczPage:
    url: str
    title: str
    captured_at: datetime
    id: str


@dataclass(frozen=True, slots=True)
class WaczInput:
    title: str
    description: str
    created_at: datetime
    software: str
    warcs: tuple[tuple[str, Path], ...]
    """(file name inside ``archive/``, source WARC file)."""
    pages: tuple[WaczPage, ...]
    package_fields: tuple[tuple[str, str], ...] = ()
    """Extra top-level datapackage keys (string values), e.g. the manifest digest."""
    evidence_bundle: Path | None = None
    """The item's evidence bundle zip, stored as :data:`EVIDENCE_BUNDLE` when given."""


def write_wacz(data: WaczInput, out_path: Path) -> Path:
    """Write the WACZ atomically to ``out_path``; ReportError on unreadable WARCs."""
    _check_inputs(data)
    stamp = data.created_at.astimezone(UTC).utctimetuple()[:6]
    index = _cdxj(data.warcs)
    pages = _pages_jsonl(data.pages)
    resources: list[dict[str, object]] = []
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out_path.parent, prefix=".wacz-", suffix=".wacz")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # Stored, not deflated: WACZ readers seek into the WARCs by offset, and
        # WARCs are usually compressed already.
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, source in data.warcs:
                resources.append(_put_file(zf, f"archive/{name}", source, stamp))
            resources.append(_put_bytes(zf, INDEX, index, stamp))
            resources.append(_put_bytes(zf, PAGES, pages, stamp))
            if data.evidence_bundle is not None:
                resources.append(_put_file(zf, EVIDENCE_BUNDLE, data.evidence_bundle, stamp))
            package_bytes = _datapackage(data, resources)
            _put_bytes(zf, DATAPACKAGE, package_bytes, stamp)
            digest = {
                "path": DATAPACKAGE,
                "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest(),
            }
            _put_bytes(zf, DIGEST, json.dumps(digest, indent=2).encode("utf-8"), stamp)
        os.replace(tmp, out_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"cannot write the WACZ {out_path}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.info("WACZ written to %s (%d WARC(s))", out_path, len(data.warcs))
    return out_path


def _check_inputs(data: WaczInput) -> None:
    if not data.warcs:
        raise ReportError("a WACZ needs at least one WARC; this item has none")
    for name, source in data.warcs:
        if "/" in name or not (name.endswith(".warc") or name.endswith(".warc.gz")):
            raise ReportError(f"WARC name {name!r} must be a plain *.warc or *.warc.gz name")
        if not source.is_file():
            raise ReportError(f"WARC not found: {source}")
    if data.evidence_bundle is not None and not data.evidence_bundle.is_file():
        raise ReportError(f"evidence bundle not found: {data.evidence_bundle}")


def _datapackage(data: WaczInput, resources: list[dict[str, object]]) -> bytes:
    """``datapackage.json``: the WACZ's metadata and every resource with its digest."""
    package: dict[str, object] = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": data.title,
        "description": data.description,
        "created": _iso(data.created_at),
        "modified": _iso(data.created_at),
        "software": data.software,
        "resources": resources,
    }
    if data.evidence_bundle is not None:
        package["evidenceBundle"] = EVIDENCE_BUNDLE
    if data.pages:
        package["mainPageUrl"] = data.pages[0].url
        package["mainPageDate"] = _iso(data.pages[0].captured_at)
    package.update(dict(data.package_fields))
    return json.dumps(package, ensure_ascii=False, indent=2).encode("utf-8")


def _cdxj(warcs: Sequence[tuple[str, Path]]) -> bytes:
    """Sorted CDXJ lines for all WARCs, ``filename`` relative to ``archive/``."""
    lines: list[str] = []
    for name, source in warcs:
        _check_warc(source)
        buffer = io.StringIO()
        try:
            indexer = CDXJIndexer(output=buffer, inputs=[str(source)], filename=name)
            indexer.process_all()
        except Exception as exc:
            # cdxj-indexer raises warcio's and its own error types for a damaged WARC.
            raise ReportError(
                f"cannot index WARC {source}: {exc.__class__.__name__}: {exc}"
            ) from exc
        lines += [line for line in buffer.getvalue().splitlines() if line.strip()]
    if not lines:
        raise ReportError("the WARC(s) hold no indexable records")
    return ("\n".join(sorted(lines)) + "\n").encode("utf-8")


def _check_warc(source: Path) -> None:
    """Read every record with warcio: cdxj-indexer indexes garbage as a bogus record."""
    count = 0
    try:
        with source.open("rb") as stream:
            for record in ArchiveIterator(stream, check_digests=False):
                # warcio falls back to reading anything as a legacy ARC record.
                if not str(record.format).startswith("warc"):
                    raise ReportError(f"{source} is not a WARC ({record.format} record found)")
                count += 1
    except (ArchiveLoadFailed, ValueError, OSError) as exc:
        raise ReportError(f"{source} is not a readable WARC: {exc}") from exc
    if count == 0:
        raise ReportError(f"{source} holds no WARC records")


def _pages_jsonl(pages: Sequence[WaczPage]) -> bytes:
    rows: list[dict[str, object]] = [
        {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    ]
    rows += [
        {"id": page.id, "url": page.url, "ts": _iso(page.captured_at), "title": page.title}
        for page in pages
    ]
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def _put_bytes(
    zf: zipfile.ZipFile, name: str, content: bytes, stamp: tuple[int, ...]
) -> dict[str, object]:
    info = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
    info.external_attr = 0o644 << 16
    zf.writestr(info, content)
    return _resource(name, hashlib.sha256(content).hexdigest(), len(content))


def _put_file(
    zf: zipfile.ZipFile, name: str, source: Path, stamp: tuple[int, ...]
) -> dict[str, object]:
    info = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
    info.external_attr = 0o644 << 16
    hasher = hashlib.sha256()
    size = 0
    with source.open("rb") as stream, zf.open(info, "w", force_zip64=True) as out:
        while chunk := stream.read(CHUNK_SIZE):
            hasher.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return _resource(name, hasher.hexdigest(), size)


def _resource(path: str, sha256: str, size: int) -> dict[str, object]:
    return {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "hash": f"sha256:{sha256}",
        "bytes": size,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )
