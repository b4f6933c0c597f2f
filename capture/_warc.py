"""Writes the recorded traffic, screenshot and DOM as one uncompressed WARC/1.1 file."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from capture._recorder import Headers, RecordedExchange
from evidence.model.records import Clock, IdFactory, isoformat

logger = logging.getLogger(__name__)

WARC_FORMAT = "WARC File Format 1.1"
WARC_CONFORMS_TO = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
DECODED_PAYLOADS_NOTE = (
    "HTTP payloads are content-decoded by the browser (no gzip/br, no chunk framing): "
    "Content-Encoding and Transfer-Encoding are kept only as X-Archive-Orig-* headers and "
    "Content-Length states the decoded length; response headers are the raw text received "
    "when the browser reported it; request headers are as reported by the browser."
)

# Headers that describe a transfer form the recorded payload no longer has.
_TRANSFER_HEADERS = frozenset({"content-encoding", "transfer-encoding"})


@dataclass(frozen=True, slots=True)
class ResourceFile:
    """A file the capture made itself, stored as a WARC ``resource`` record."""

    uri: str
    path: Path
    media_type: str
    made_at: datetime


@dataclass(frozen=True, slots=True)
class MetadataBlock:
    """JSON (or other) data the capture produced about itself, as a ``metadata`` record."""

    uri: str
    data: bytes
    media_type: str
    made_at: datetime


class _Sha256WARCWriter(WARCWriter):  # type: ignore[misc]
    """warcio's writer with SHA-256 digests, injected record ids and dates.

    warcio 1.8.1 hard-codes SHA-1 in ``RecordBuilder._create_digester``; its
    ``Digester`` writes ``sha256:<base32>``, which ``warcio check`` verifies.
    """

    def __init__(self, out: BinaryIO, clock: Clock, id_factory: IdFactory) -> None:
        super().__init__(out, gzip=False, warc_version="1.1")
        self._clock = clock
        self._id_factory = id_factory

    @staticmethod
    def _create_digester() -> Any:
        return Digester("sha256")

    def record_id(self) -> str:
        return f"<urn:uuid:{uuid.UUID(self._id_factory())}>"

    def _make_warc_id(self) -> str:
        return self.record_id()

    def curr_warc_date(self) -> str:
        return isoformat(self._clock())


def write_capture_warc(
    path: Path,
    *,
    exchanges: Sequence[RecordedExchange],
    resources: Iterable[ResourceFile],
    warcinfo: dict[str, str],
    clock: Clock,
    id_factory: IdFactory,
    metadata: Iterable[MetadataBlock] = (),
    page_url: str | None = None,
) -> None:
    """Write ``warcinfo``, response/request pairs, resources and metadata to ``path``.

    Every record names the warcinfo record (``WARC-Warcinfo-ID``). Resources
    and metadata are made in the same capture event as the page, so they point
    at the page's response record (``WARC-Concurrent-To``) when ``page_url``
    has one.
    """
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        writer = _Sha256WARCWriter(out, clock, id_factory)
        info = writer.create_warcinfo_record(path.name, warcinfo)
        writer.write_record(info)
        info_id = str(info.rec_headers.get_header("WARC-Record-ID"))
        page_record: str | None = None
        for exchange in exchanges:
            response_id = _write_exchange(writer, exchange, info_id)
            if page_url is not None and exchange.url == page_url:
                page_record = response_id
        for resource in resources:
            _write_resource(writer, resource, info_id, page_record)
        for block in metadata:
            _write_metadata(writer, block, info_id, page_record)
    partial.replace(path)


def warcinfo_fields(
    *,
    software: str,
    operator: str,
    user_agent: str,
    browser: str,
) -> dict[str, str]:
    # Empty values are left out by warcio.
    return {
        "software": software,
        "format": WARC_FORMAT,
        "conformsTo": WARC_CONFORMS_TO,
        "hostname": socket.gethostname(),
        "operator": operator,
        "http-header-user-agent": user_agent,
        "browser": browser,
        "description": DECODED_PAYLOADS_NOTE,
    }


def archived_response_headers(headers: Headers, body_length: int) -> list[tuple[str, str]]:
    """Headers as they apply to the decoded body, with the originals kept visible.

    Content-Encoding and Transfer-Encoding become ``X-Archive-Orig-*``; the first
    Content-Length is set to ``body_length`` (keeping a different original as
    ``X-Archive-Orig-Content-Length``), or appended when the server sent none.
    """
    result: list[tuple[str, str]] = []
    length_written = False
    for name, value in headers:
        lowered = name.lower()
        if lowered in _TRANSFER_HEADERS:
            result.append((f"X-Archive-Orig-{name}", value))
        elif lowered == "content-length":
            if length_written or value.strip() != str(body_length):
                result.append((f"X-Archive-Orig-{name}", value))
            if not length_written:
                result.append(("Content-Length", str(body_length)))
                length_written = True
        else:
            result.append((name, value))
    if not length_written:
        result.append(("Content-Length", str(body_length)))
    return result


def _write_exchange(writer: _Sha256WARCWriter, exchange: RecordedExchange, info_id: str) -> str:
    """Write the response and its request; return the response's record id."""
    date = isoformat(exchange.recorded_at)
    warc_headers = _leading_headers(writer, "response", exchange.url, date)
    warc_headers["WARC-Warcinfo-ID"] = info_id
    if exchange.server_ip:
        warc_headers["WARC-IP-Address"] = exchange.server_ip
    if exchange.truncated:
        warc_headers["WARC-Truncated"] = exchange.truncated

    http_headers = StatusAndHeaders(
        f"{exchange.status} {exchange.reason}".strip(),
        archived_response_headers(exchange.response_headers, len(exchange.body)),
        protocol=exchange.response_version,
    )
    response = writer.create_warc_record(
        exchange.url,
        "response",
        payload=BytesIO(exchange.body),
        length=len(exchange.body),
        http_headers=http_headers,
        warc_headers_dict=warc_headers,
    )
    # WARC-Protocol and WARC-Cipher-Suite are IIPC WARC 1.1 extension fields;
    # WARC-Protocol repeats (one per layer), which a dict cannot hold.
    if exchange.protocol:
        response.rec_headers.add_header("WARC-Protocol", exchange.protocol.lower())
    if exchange.tls_protocol:
        response.rec_headers.add_header(
            "WARC-Protocol", exchange.tls_protocol.lower().replace(" ", "/")
        )
    if exchange.tls_cipher:
        response.rec_headers.add_header("WARC-Cipher-Suite", exchange.tls_cipher)

    request_warc_headers = _leading_headers(writer, "request", exchange.url, date)
    request_warc_headers["WARC-Warcinfo-ID"] = info_id
    request_headers = StatusAndHeaders(
        f"{exchange.method} {_request_target(exchange.url)} {exchange.request_line_version}",
        list(exchange.request_headers),
        is_http_request=True,
    )
    request = writer.create_warc_record(
        exchange.url,
        "request",
        payload=BytesIO(exchange.request_body),
        length=len(exchange.request_body),
        http_headers=request_headers,
        warc_headers_dict=request_warc_headers,
    )
    # Sets WARC-Concurrent-To on the request, pointing at the response.
    writer.write_request_response_pair(request, response)
    return str(response.rec_headers.get_header("WARC-Record-ID"))


def _write_resource(
    writer: _Sha256WARCWriter, resource: ResourceFile, info_id: str, page_record: str | None
) -> None:
    size = resource.path.stat().st_size
    headers = _leading_headers(writer, "resource", resource.uri, isoformat(resource.made_at))
    headers["WARC-Warcinfo-ID"] = info_id
    if page_record:
        headers["WARC-Concurrent-To"] = page_record
    with resource.path.open("rb") as stream:
        record = writer.create_warc_record(
            resource.uri,
            "resource",
            payload=stream,
            length=size,
            warc_content_type=resource.media_type,
            warc_headers_dict=headers,
        )
        writer.write_record(record)


def _write_metadata(
    writer: _Sha256WARCWriter, block: MetadataBlock, info_id: str, page_record: str | None
) -> None:
    headers = _leading_headers(writer, "metadata", block.uri, isoformat(block.made_at))
    headers["WARC-Warcinfo-ID"] = info_id
    if page_record:
        headers["WARC-Concurrent-To"] = page_record
    record = writer.create_warc_record(
        block.uri,
        "metadata",
        payload=BytesIO(block.data),
        length=len(block.data),
        warc_content_type=block.media_type,
        warc_headers_dict=headers,
    )
    writer.write_record(record)


def _leading_headers(
    writer: _Sha256WARCWriter, record_type: str, uri: str, date: str
) -> dict[str, str]:
    # warcio keeps fields given here in order and appends the rest, so the
    # identifying fields come first, as in most WARC files.
    return {
        "WARC-Type": record_type,
        "WARC-Record-ID": writer.record_id(),
        "WARC-Date": date,
        "WARC-Target-URI": uri,
    }


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target
