"""Just enough DER walking to slice RFC 3161 structures out of a response.

rfc3161-client parses and verifies, but hands back re-encoded pieces and a
``genTime`` truncated to whole seconds. Evidence records keep the exact bytes
that were signed and the TSA's fractional seconds, so these helpers cut them
out of the original DER. They read definite-length DER only (RFC 3161
responses are DER) and raise :class:`ValueError` on anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

SEQUENCE: Final = 0x30
SET: Final = 0x31
INTEGER: Final = 0x02
OCTET_STRING: Final = 0x04
OID: Final = 0x06
GENERALIZED_TIME: Final = 0x18
CONTEXT_0: Final = 0xA0


@dataclass(frozen=True, slots=True)
class Element:
    """One TLV: ``data[start:end]`` is the whole element, ``data[body:end]`` its content."""

    tag: int
    start: int
    body: int
    end: int

    def raw(self, data: bytes) -> bytes:
        return data[self.start : self.end]

    def content(self, data: bytes) -> bytes:
        return data[self.body : self.end]


def read_element(data: bytes, offset: int = 0, limit: int | None = None) -> Element:
    limit = len(data) if limit is None else limit
    if offset + 2 > limit:
        raise ValueError("truncated DER element")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte DER tags are not used in RFC 3161")
    first = data[offset + 1]
    position = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise ValueError("indefinite or oversized DER length")
        if position + count > limit:
            raise ValueError("truncated DER length")
        length = int.from_bytes(data[position : position + count], "big")
        position += count
    if position + length > limit:
        raise ValueError("DER element runs past its container")
    return Element(tag=tag, start=offset, body=position, end=position + length)


def children(data: bytes, parent: Element) -> list[Element]:
    items: list[Element] = []
    offset = parent.body
    while offset < parent.end:
        item = read_element(data, offset, parent.end)
        items.append(item)
        offset = item.end
    return items


def _expect(element: Element, tag: int, what: str) -> Element:
    if element.tag != tag:
        raise ValueError(f"{what}: expected tag 0x{tag:02x}, found 0x{element.tag:02x}")
    return element


def split_response(response_der: bytes) -> tuple[bytes, bytes | None]:
    """``(PKIStatusInfo DER, TimeStampToken DER or None)`` of a ``TimeStampResp``."""
    outer = _expect(read_element(response_der), SEQUENCE, "TimeStampResp")
    if outer.end != len(response_der):
        raise ValueError("trailing bytes after TimeStampResp")
    parts = children(response_der, outer)
    if not parts or len(parts) > 2:
        raise ValueError("TimeStampResp must hold a status and at most one token")
    status = _expect(parts[0], SEQUENCE, "PKIStatusInfo")
    if len(parts) == 1:
        return status.raw(response_der), None
    return status.raw(response_der), _expect(parts[1], SEQUENCE, "TimeStampToken").raw(response_der)


def _child(data: bytes, parent: Element, index: int, tag: int, what: str) -> Element:
    items = children(data, parent)
    if index >= len(items):
        raise ValueError(f"{what}: missing")
    return _expect(items[index], tag, what)


def tst_info_der(token_der: bytes) -> bytes:
    """The signed ``TSTInfo`` bytes (the eContent) inside a ``TimeStampToken``."""
    content_info = _expect(read_element(token_der), SEQUENCE, "ContentInfo")
    if content_info.end != len(token_der):
        raise ValueError("trailing bytes after TimeStampToken")
    explicit = _child(token_der, content_info, 1, CONTEXT_0, "ContentInfo content")
    signed_data = _child(token_der, explicit, 0, SEQUENCE, "SignedData")
    encap = _child(token_der, signed_data, 2, SEQUENCE, "EncapsulatedContentInfo")
    wrapper = _child(token_der, encap, 1, CONTEXT_0, "eContent")
    return _child(token_der, wrapper, 0, OCTET_STRING, "eContent").content(token_der)


_GENERALIZED_TIME = re.compile(r"(?P<stamp>\d{14})(?:\.(?P<fraction>\d{1,9}))?Z")


def gen_time(tst_info: bytes) -> datetime:
    """``genTime`` of a DER ``TSTInfo`` as an aware UTC datetime, microseconds kept."""
    sequence = _expect(read_element(tst_info), SEQUENCE, "TSTInfo")
    element = _child(tst_info, sequence, 4, GENERALIZED_TIME, "genTime")
    text = element.content(tst_info).decode("ascii")
    match = _GENERALIZED_TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"genTime {text!r} is not a UTC GeneralizedTime")
    moment = datetime.strptime(match["stamp"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    fraction = match["fraction"]
    if fraction:
        # Sub-microsecond digits cannot be represented; truncate, never round up
        # past what the TSA said.
        moment += timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
    return moment


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


GRANTED_STATUS_DER: Final = bytes([SEQUENCE, 3, INTEGER, 1, 0])
"""``PKIStatusInfo { status granted }``."""


def wrap_token(token_der: bytes) -> bytes:
    """A ``TimeStampResp`` with status *granted* around a bare ``TimeStampToken``."""
    body = GRANTED_STATUS_DER + token_der
    return bytes([SEQUENCE]) + encode_length(len(body)) + body


def sort_certificate_sets(response_der: bytes) -> bytes:
    """The response with its SignedData ``certificates``/``crls`` SETs in DER order.

    Some TSAs (and ``openssl ts`` given a ``certs`` file) write these SETs in
    the order they were listed, which strict DER parsers such as rfc3161-client
    reject. Neither SET is covered by the signature, and reordering keeps every
    length, so this changes no signed byte; any other deviation is left for the
    parser to reject.
    """
    _status, token = split_response(response_der)
    if token is None:
        return response_der
    token_start = len(response_der) - len(token)
    content_info = read_element(response_der, token_start)
    explicit = _child(response_der, content_info, 1, CONTEXT_0, "ContentInfo content")
    signed_data = _child(response_der, explicit, 0, SEQUENCE, "SignedData")
    result = bytearray(response_der)
    for field in children(response_der, signed_data):
        if field.tag not in (CONTEXT_0, CONTEXT_0 + 1):  # [0] certificates, [1] crls
            continue
        members = [item.raw(response_der) for item in children(response_der, field)]
        result[field.body : field.end] = b"".join(sorted(members))
    return bytes(result)
