"""Reading a capture's WARC back with warcio, for assertions on its records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator


@dataclass(frozen=True)
class WarcRecord:
    rec_type: str
    headers: dict[str, list[str]]
    """WARC headers by lower-case name, in file order."""
    http_status: str | None
    """Status code of a response record's HTTP headers; ``None`` for other records."""
    http_headers: list[tuple[str, str]]
    payload: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def http_header(self, name: str) -> str | None:
        return next((v for n, v in self.http_headers if n.lower() == name.lower()), None)

    @property
    def uri(self) -> str:
        return self.header("WARC-Target-URI") or ""


def read_warc(path: Path) -> list[WarcRecord]:
    records = []
    with path.open("rb") as stream:
        for item in ArchiveIterator(stream):
            headers: dict[str, list[str]] = {}
            for name, value in item.rec_headers.headers:
                headers.setdefault(name.lower(), []).append(value)
            http = item.http_headers
            records.append(
                WarcRecord(
                    rec_type=item.rec_type,
                    headers=headers,
                    http_status=http.get_statuscode()
                    if http and item.rec_type == "response"
                    else None,
                    http_headers=list(http.headers) if http else [],
                    payload=item.content_stream().read(),
                )
            )
    return records
