"""The capture machine's clock against a time source it does not control.

A capture's times are only as good as the clock that wrote them, so every
capture says what its clock was compared with and by how much it was off;
when no source answered, it says that, as a warning. Sources are asked in
order: a reference clock given by the caller (e.g. a time-stamp authority's
genTime), the configured NTP servers, then the ``Date`` header of configured
HTTPS servers. The first that answers decides.

The check reads the operating system's clock directly (not the injected
clock), because the OS clock is what it checks.
"""

from __future__ import annotations

import socket
import struct
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from capture._dns import getaddrinfo_bounded
from evidence.model.capture_options import EnvironmentOptions
from evidence.model.capture_record import EnvironmentStatus as Status
from evidence.model.environment_messages import EnvironmentFinding, FindingCode
from evidence.model.records import Clock, isoformat

CLOCK_FAIL_MS = 10_000
"""Beyond ten seconds a clock misplaces the capture against the TSA's time: a
failed check, whatever skew the policy allows."""
NTP_TIMEOUT_S = 1.0
HTTP_TIMEOUT_S = 3.0
HTTP_DATE_RESOLUTION_MS = 1_000
"""An HTTP ``Date`` header counts whole seconds: the server's time lies somewhere in
the second it names, so its middle is taken and the offset is good to ±500 ms."""

_NTP_EPOCH_OFFSET = 2_208_988_800
"""Seconds from 1900-01-01 (NTP era 0) to 1970-01-01."""


class SourceError(Exception):
    """A clock source did not give a usable time; ``finding`` says why, for the record."""

    def __init__(self, finding: EnvironmentFinding, raw: str) -> None:
        super().__init__(raw)
        self.finding = finding


@dataclass(slots=True)
class ClockCheck:
    """The clock check's result: one environment check and the ``clock`` document."""

    status: Status
    findings: tuple[EnvironmentFinding, ...]
    offset_ms: int | None = None
    source: str = ""
    document: dict[str, Any] = field(default_factory=dict)


def check_clock(options: EnvironmentOptions) -> ClockCheck:
    """Compare the OS clock with the first source that answers."""
    document: dict[str, Any] = {
        "local": isoformat(datetime.now(UTC)),
        "policy": options.clock_policy.value,
        "max_skew_ms": options.max_clock_skew_ms,
    }
    tried: list[str] = []
    failures: list[EnvironmentFinding] = []
    for source, ask in _sources(options):
        try:
            offset_ms = ask()
        except SourceError as exc:
            tried.append(f"{source}: {exc}")
            failures.append(exc.finding)
            continue
        document.update(tried=tried, source=source, offset_ms=offset_ms)
        return _judge(offset_ms, source, options, document)
    document["tried"] = tried
    reason = failures or [EnvironmentFinding.of(FindingCode.CLOCK_NO_SOURCE)]
    # Not silence: a clock nobody could check is a warning the report shows.
    findings = (EnvironmentFinding.of(FindingCode.CLOCK_UNCHECKED), *reason)
    return ClockCheck(Status.WARN, findings, document=document)


def _judge(
    offset_ms: int, source: str, options: EnvironmentOptions, document: dict[str, Any]
) -> ClockCheck:
    if source == REFERENCE_SOURCE:
        found = EnvironmentFinding.of(FindingCode.CLOCK_OFFSET_REFERENCE, offset=f"{offset_ms:+d}")
    else:
        found = EnvironmentFinding.of(
            FindingCode.CLOCK_OFFSET, offset=f"{offset_ms:+d}", source=source
        )
    allowed = options.max_clock_skew_ms
    if abs(offset_ms) <= allowed:
        return ClockCheck(Status.PASS, (found,), offset_ms, source, document)
    over = EnvironmentFinding.of(FindingCode.CLOCK_OVER_SKEW, max_ms=allowed)
    status = Status.FAIL if abs(offset_ms) > max(CLOCK_FAIL_MS, allowed) else Status.WARN
    return ClockCheck(status, (found, over), offset_ms, source, document)


REFERENCE_SOURCE = "reference clock"


def _sources(options: EnvironmentOptions) -> list[tuple[str, Any]]:
    sources: list[tuple[str, Any]] = []
    reference = options.reference_clock
    if reference is not None:
        sources.append((REFERENCE_SOURCE, lambda: _reference_offset_ms(reference)))
    for server in options.ntp_servers:
        sources.append((f"ntp:{server}", lambda s=server: _ntp_offset_ms(s)))
    for url in options.clock_http_urls:
        sources.append((f"http-date:{url}", lambda u=url: http_date_offset_ms(u)))
    return sources


def _reference_offset_ms(reference: Clock) -> int:
    try:
        theirs = reference()
    except Exception as exc:  # a caller's clock may fail in any way; it is recorded
        raise SourceError(
            EnvironmentFinding.of(FindingCode.SOURCE_ERROR, source=REFERENCE_SOURCE, error=exc),
            str(exc),
        ) from exc
    return round((datetime.now(UTC) - theirs).total_seconds() * 1000.0)


def _ntp_offset_ms(server: str) -> int:
    source = f"ntp:{server}"
    try:
        return round(sntp_offset(server) * 1000)
    except TimeoutError as exc:
        finding = EnvironmentFinding.of(
            FindingCode.SOURCE_TIMEOUT, source=source, seconds=f"{NTP_TIMEOUT_S:g}"
        )
        raise SourceError(finding, str(exc)) from exc
    except _NoEcho as exc:
        raise SourceError(
            EnvironmentFinding.of(FindingCode.SOURCE_NO_ECHO, source=source), str(exc)
        ) from exc
    except ValueError as exc:
        finding = EnvironmentFinding.of(FindingCode.SOURCE_UNUSABLE, source=source, error=exc)
        raise SourceError(finding, str(exc)) from exc
    except OSError as exc:
        raise SourceError(_network_finding(source, exc), str(exc)) from exc


def _network_finding(source: str, exc: OSError) -> EnvironmentFinding:
    """Name the usual network failures with a code, so a report can say them in its language."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror) or "not resolved" in str(reason):
        return EnvironmentFinding.of(FindingCode.SOURCE_UNRESOLVED, source=source)
    if isinstance(reason, ConnectionRefusedError):
        return EnvironmentFinding.of(FindingCode.SOURCE_REFUSED, source=source)
    if isinstance(reason, TimeoutError | socket.timeout):
        return EnvironmentFinding.of(
            FindingCode.SOURCE_TIMEOUT, source=source, seconds=f"{HTTP_TIMEOUT_S:g}"
        )
    return EnvironmentFinding.of(FindingCode.SOURCE_ERROR, source=source, error=reason)


class _NoEcho(ValueError):
    """The NTP answer does not carry our request's transmit time."""


def sntp_offset(server: str, timeout_s: float = NTP_TIMEOUT_S) -> float:
    """Local clock minus the server's, in seconds, from one SNTPv4 exchange (RFC 4330)."""
    host, _, port_text = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
    host = host or server
    port = int(port_text) if port_text else 123
    answers = getaddrinfo_bounded(host, port, timeout_s, type=socket.SOCK_DGRAM)
    family, _type, _proto, _name, sockaddr = answers[0]
    request = bytearray(48)
    request[0] = 0x23  # LI 0, version 4, mode 3 (client)
    sent = time.time()
    transmit = _to_ntp(sent)
    request[40:48] = transmit
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.sendto(bytes(request), sockaddr)
        try:
            data, _ = sock.recvfrom(512)
        except TimeoutError:
            raise TimeoutError(f"no answer within {timeout_s:g} s") from None
        received = time.time()
    if len(data) < 48:
        raise ValueError("short NTP answer")
    mode, stratum = data[0] & 0x7, data[1]
    if mode != 4 or stratum == 0:
        raise ValueError(f"unusable NTP answer (mode {mode}, stratum {stratum})")
    if data[24:32] != transmit:
        # Without the echo the answer may belong to another request or be forged.
        raise _NoEcho("NTP answer does not echo our request")
    server_received = _from_ntp(data[32:40])
    server_sent = _from_ntp(data[40:48])
    return ((sent - server_received) + (received - server_sent)) / 2


def http_date_offset_ms(url: str, timeout_s: float = HTTP_TIMEOUT_S) -> int:
    """Local clock minus the ``Date`` a web server sends, in milliseconds (±500 ms)."""
    source = f"http-date:{url}"
    request = urllib.request.Request(url, method="HEAD")
    sent = time.time()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            header = response.headers.get("Date")
    except urllib.error.HTTPError as exc:
        # An error page still carries the server's Date.
        header = exc.headers.get("Date") if exc.headers else None
    except (urllib.error.URLError, OSError) as exc:
        raise SourceError(_network_finding(source, exc), str(exc)) from exc
    received = time.time()
    if not header:
        finding = EnvironmentFinding.of(
            FindingCode.SOURCE_UNUSABLE, source=source, error="no Date header"
        )
        raise SourceError(finding, "no Date header")
    try:
        theirs = parsedate_to_datetime(header).timestamp() + HTTP_DATE_RESOLUTION_MS / 2000
    except (TypeError, ValueError) as exc:
        finding = EnvironmentFinding.of(FindingCode.SOURCE_UNUSABLE, source=source, error=header)
        raise SourceError(finding, f"bad Date header {header!r}") from exc
    return round(((sent + received) / 2 - theirs) * 1000)


def _to_ntp(unix: float) -> bytes:
    seconds = int(unix) + _NTP_EPOCH_OFFSET
    fraction = int((unix % 1) * 2**32)
    return struct.pack("!II", seconds & 0xFFFFFFFF, fraction)


def _from_ntp(data: bytes) -> float:
    seconds, fraction = struct.unpack("!II", data)
    return float(int(seconds) - _NTP_EPOCH_OFFSET) + int(fraction) / 2**32
