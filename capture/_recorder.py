"""Records the page's HTTP traffic over the DevTools protocol (CDP).

Bodies come from ``Fetch.getResponseBody`` at the response stage because it
returns the bytes the server sent (content-decoded); ``Network.getResponseBody``
and Playwright's ``response.body()`` re-encode non-UTF-8 text, which corrupts a
GBK page. The ``Network`` domain supplies what Fetch lacks: the raw header text
as received, the remote IP address, the protocol and TLS parameters.

Playwright's sync API runs each event handler in its own greenlet, so a handler
may wait on ``session.send`` while the capture goes on; every handler catches
its own errors because an exception there would surface in an unrelated call.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urldefrag, urlsplit

from playwright.sync_api import CDPSession

from evidence.model.records import Clock

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024 * 1024
"""Responses announcing a larger ``Content-Length`` are recorded without a body."""

# Long-lived streams whose body never completes; waiting for it would stall them.
_STREAMING_RESOURCE_TYPES = frozenset({"EventSource", "WebSocket"})

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RecordedExchange:
    """One request and its response as the browser saw them, ready for the WARC."""

    url: str
    method: str
    resource_type: str
    request_line_version: str
    request_headers: Headers
    request_body: bytes
    response_version: str
    status: int
    reason: str
    response_headers: Headers
    raw_response_headers: bool
    """True when the headers are the raw text received, in order and with duplicates."""
    body: bytes
    body_complete: bool
    body_note: str | None
    """Why the body is missing or partial; ``None`` when it is complete."""
    truncated: str | None
    """A ``WARC-Truncated`` reason when the recorded body is shorter than the server's."""
    recorded_at: datetime
    server_ip: str | None
    server_port: int | None
    protocol: str | None
    """The browser's protocol name, e.g. ``http/1.1`` or ``h2``."""
    tls_protocol: str | None
    tls_cipher: str | None
    mime_type: str


@dataclass(slots=True)
class _Paused:
    """A response held by Fetch, in the order the browser produced them."""

    network_id: str
    url: str
    method: str
    resource_type: str
    fetch_request_headers: Headers
    request_body: bytes
    status: int
    reason: str
    fetch_response_headers: Headers
    recorded_at: datetime
    body: bytes | None = None
    body_note: str | None = "the capture ended before the body was received"
    truncated: str | None = "time"


@dataclass(slots=True)
class _NetworkRequest:
    """What the Network domain reported about one network request id."""

    hops: list[dict[str, Any]] = field(default_factory=list)
    """``requestWillBeSent`` events: the first, then one per redirect."""
    request_extra: list[dict[str, Any]] = field(default_factory=list)
    response_extra: list[dict[str, Any]] = field(default_factory=list)
    response: dict[str, Any] | None = None
    finished: bool = False
    error: str | None = None
    blocked_private: bool = False
    consumed_hops: set[int] = field(default_factory=set)
    extra_cursor: int = 0


class TrafficRecorder:
    """Holds every response at the response stage, copies its bytes, lets it go on."""

    def __init__(
        self,
        session: CDPSession,
        clock: Clock,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        document_guard: Callable[[str], str | None] | None = None,
    ) -> None:
        """``document_guard(url)`` returns why a page or frame document must not be
        requested (or ``None``); such requests are failed before anything is sent."""
        self._session = session
        self._clock = clock
        self._max_body_bytes = max_body_bytes
        self._document_guard = document_guard
        self._refused: list[tuple[str, str]] = []
        self._paused: list[_Paused] = []
        self._requests: dict[str, _NetworkRequest] = {}
        self._stopped = False
        self._last_activity = time.monotonic()

    def start(self) -> None:
        session = self._session
        session.on("Network.requestWillBeSent", self._on_request)
        session.on("Network.requestWillBeSentExtraInfo", self._on_request_extra)
        session.on("Network.responseReceived", self._on_response)
        session.on("Network.responseReceivedExtraInfo", self._on_response_extra)
        session.on("Network.loadingFinished", self._on_finished)
        session.on("Network.loadingFailed", self._on_failed)
        session.on("Fetch.requestPaused", self._on_paused)
        # The browser cache stays on: the context starts empty, so a cached
        # response is one already recorded, and disabling the cache would add
        # no-cache headers a normal visit does not send.
        session.send("Network.enable")
        patterns: list[dict[str, str]] = [{"urlPattern": "*", "requestStage": "Response"}]
        if self._document_guard is not None:
            # Documents (pages, frames, every redirect hop) are checked before they
            # are requested; other resources are left to Chromium's Local Network
            # Access, which checks the address actually connected to.
            patterns.append(
                {"urlPattern": "*", "resourceType": "Document", "requestStage": "Request"}
            )
        session.send("Fetch.enable", {"patterns": patterns})

    def stop(self) -> None:
        """Stop recording; responses still held are let go without being recorded."""
        self._stopped = True

    # --- what the capture asks while it waits ------------------------------

    def in_flight(self) -> list[str]:
        """URLs of requests that have neither finished nor failed."""
        return [
            entry.hops[-1]["request"]["url"]
            for entry in self._requests.values()
            if entry.hops and not entry.finished and entry.error is None
        ]

    def last_activity(self) -> float:
        """``time.monotonic()`` of the last request, response or failure seen."""
        return self._last_activity

    def failures(self) -> list[tuple[str, str]]:
        """``(url, net error)`` for requests the network failed (page aborts and
        :meth:`blocked_private` and :meth:`refused_documents` excluded)."""
        refused = {url for url, _ in self._refused}
        return [
            (entry.hops[-1]["request"]["url"], entry.error)
            for entry in self._requests.values()
            if entry.hops
            and entry.error is not None
            and entry.error != "net::ERR_ABORTED"
            and not entry.blocked_private
            and entry.hops[-1]["request"]["url"] not in refused
        ]

    def refused_documents(self) -> list[tuple[str, str]]:
        """``(url, reason)`` of document requests the ``document_guard`` stopped."""
        return list(self._refused)

    def blocked_private(self) -> list[str]:
        """URLs the browser refused because a public page asked for a private or
        loopback address (Chromium's Local Network Access); nothing was sent."""
        return [
            entry.hops[-1]["request"]["url"]
            for entry in self._requests.values()
            if entry.hops and entry.blocked_private
        ]

    def unrecorded(self) -> list[str]:
        """URLs with a response the browser used but Fetch never held (so not in the WARC)."""
        held = {paused.network_id for paused in self._paused}
        held_urls = {urldefrag(paused.url).url for paused in self._paused}
        urls = []
        for network_id, entry in self._requests.items():
            if entry.response is None or network_id in held:
                continue
            url = str(entry.response.get("url", ""))
            if urlsplit(url).scheme in ("http", "https") and urldefrag(url).url not in held_urls:
                urls.append(url)
        return urls

    def exchanges(self) -> list[RecordedExchange]:
        """Every held response, in the order the browser received them."""
        for entry in self._requests.values():
            entry.consumed_hops.clear()
            entry.extra_cursor = 0
        return [self._assemble(paused) for paused in self._paused]

    def security_details(self) -> dict[str, dict[str, Any]]:
        """The browser's ``securityDetails`` per HTTPS origin (the first response from each)."""
        details: dict[str, dict[str, Any]] = {}
        for entry in self._requests.values():
            responses = [h.get("redirectResponse") for h in entry.hops[1:]] + [entry.response]
            for response in responses:
                if not isinstance(response, dict):
                    continue
                security = response.get("securityDetails")
                origin = origin_of(str(response.get("url", "")))
                if isinstance(security, dict) and origin and origin not in details:
                    details[origin] = security
        return details

    def network_log(self) -> list[dict[str, Any]]:
        """Every network request the page made, as the Network domain reported it.

        Unlike the WARC this includes requests that failed or were never held
        by Fetch, with the browser's own timing, remote address and TLS details.
        """
        log = []
        for network_id, entry in self._requests.items():
            hops = []
            for index, hop in enumerate(entry.hops):
                response = _network_response(entry, index)
                request = hop.get("request", {})
                item: dict[str, Any] = {
                    "url": request.get("url"),
                    "method": request.get("method"),
                    "resource_type": hop.get("type"),
                    "wall_time": hop.get("wallTime"),
                    "initiator": (hop.get("initiator") or {}).get("type"),
                    "frame_id": hop.get("frameId"),
                }
                if response:
                    item["response"] = {
                        key: response.get(key)
                        for key in (
                            "status",
                            "statusText",
                            "mimeType",
                            "remoteIPAddress",
                            "remotePort",
                            "protocol",
                            "securityState",
                            "fromDiskCache",
                            "fromServiceWorker",
                            "encodedDataLength",
                        )
                        if key in response
                    }
                    security = response.get("securityDetails")
                    if isinstance(security, dict):
                        item["response"]["security_details"] = {
                            key: value
                            for key, value in security.items()
                            if key not in ("signedCertificateTimestampList", "certificateId")
                        }
                hops.append(item)
            log.append(
                {
                    "request_id": network_id,
                    "hops": hops,
                    "finished": entry.finished,
                    "error": entry.error,
                }
            )
        return log

    # --- Fetch ---------------------------------------------------------------

    def _on_paused(self, event: dict[str, Any]) -> None:
        self._last_activity = time.monotonic()
        fetch_id = event.get("requestId", "")
        if "responseStatusCode" not in event and "responseErrorReason" not in event:
            if not self._refuse_document(fetch_id, event):
                self._release(fetch_id)  # the request stage: let it be sent
            return
        try:
            if self._stopped or "responseStatusCode" not in event:
                # A network error (responseErrorReason) has no response to record;
                # Network.loadingFailed reports it.
                return
            paused = self._hold(event)
            self._paused.append(paused)
            self._copy_body(fetch_id, paused, event)
        except Exception:
            logger.debug("recording %s failed", event.get("request", {}).get("url"), exc_info=True)
        finally:
            self._release(fetch_id)

    def _refuse_document(self, fetch_id: str, event: dict[str, Any]) -> bool:
        url = str(event.get("request", {}).get("url", ""))
        reason = self._document_guard(url) if self._document_guard is not None else None
        if reason is None:
            return False
        self._refused.append((url, reason))
        logger.warning("blocked a document request to %s: %s", url, reason)
        try:
            # Aborted, not BlockedByClient: a blocked navigation would replace the
            # page with Chromium's error page; an aborted one leaves it as it was.
            self._session.send(
                "Fetch.failRequest", {"requestId": fetch_id, "errorReason": "Aborted"}
            )
        except Exception:
            logger.debug("could not fail %s", fetch_id, exc_info=True)
        return True

    def _hold(self, event: dict[str, Any]) -> _Paused:
        request = event.get("request", {})
        status = int(event["responseStatusCode"])
        return _Paused(
            network_id=str(event.get("networkId") or event.get("requestId")),
            url=str(request.get("url", "")),
            method=str(request.get("method", "GET")),
            resource_type=str(event.get("resourceType", "Other")),
            fetch_request_headers=_header_pairs(request.get("headers", {})),
            request_body=self._request_body(event, request),
            status=status,
            reason=str(event.get("responseStatusText") or ""),
            fetch_response_headers=tuple(
                (str(h["name"]), str(h["value"])) for h in event.get("responseHeaders", [])
            ),
            recorded_at=self._clock(),
        )

    def _request_body(self, event: Mapping[str, Any], request: Mapping[str, Any]) -> bytes:
        body = _post_data(request)
        if body or not request.get("hasPostData"):
            return body
        # Chromium leaves large bodies out of the event; the Network domain
        # still holds them under the network request id.
        network_id = event.get("networkId")
        if not network_id:
            return b""
        try:
            reply = self._session.send("Network.getRequestPostData", {"requestId": network_id})
        except Exception:
            logger.debug("no post data for %s", request.get("url"), exc_info=True)
            return b""
        data = str(reply.get("postData", ""))
        if reply.get("base64Encoded"):
            return base64.b64decode(data)
        return data.encode("utf-8")

    def _copy_body(self, fetch_id: str, paused: _Paused, event: dict[str, Any]) -> None:
        if paused.resource_type in _STREAMING_RESOURCE_TYPES:
            paused.body_note = f"{paused.resource_type} stream not recorded"
            paused.truncated = "unspecified"
            return
        announced = _content_length(paused.fetch_response_headers)
        if announced is not None and announced > self._max_body_bytes:
            paused.body_note = f"body of {announced} bytes exceeds the recording limit"
            paused.truncated = "length"
            return
        try:
            reply = self._session.send("Fetch.getResponseBody", {"requestId": fetch_id})
        except Exception as exc:
            paused.body = b""
            paused.body_note = _first_line(str(exc))
            # Fetch gives no body for redirects; most carry none worth keeping.
            paused.truncated = None if announced == 0 else "unspecified"
            return
        body = reply.get("body", "")
        if reply.get("base64Encoded"):
            paused.body = base64.b64decode(body)
        else:
            # Chromium sends a body as text only when it is valid UTF-8, so
            # encoding it again yields the original bytes.
            paused.body = str(body).encode("utf-8")
        paused.body_note = None
        paused.truncated = None

    def _release(self, fetch_id: str) -> None:
        if not fetch_id:
            return
        try:
            self._session.send("Fetch.continueRequest", {"requestId": fetch_id})
        except Exception:
            # The page or browser is gone, or the request was cancelled meanwhile.
            logger.debug("could not release %s", fetch_id, exc_info=True)

    # --- Network -------------------------------------------------------------

    def _entry(self, event: Mapping[str, Any]) -> _NetworkRequest:
        return self._requests.setdefault(str(event.get("requestId")), _NetworkRequest())

    def _on_request(self, event: dict[str, Any]) -> None:
        self._last_activity = time.monotonic()
        try:
            entry = self._entry(event)
            entry.hops.append(event)
            entry.finished = False
            entry.error = None
        except Exception:
            logger.debug("bad requestWillBeSent event", exc_info=True)

    def _on_request_extra(self, event: dict[str, Any]) -> None:
        try:
            self._entry(event).request_extra.append(event)
        except Exception:
            logger.debug("bad requestWillBeSentExtraInfo event", exc_info=True)

    def _on_response(self, event: dict[str, Any]) -> None:
        self._last_activity = time.monotonic()
        try:
            self._entry(event).response = event.get("response")
        except Exception:
            logger.debug("bad responseReceived event", exc_info=True)

    def _on_response_extra(self, event: dict[str, Any]) -> None:
        try:
            self._entry(event).response_extra.append(event)
        except Exception:
            logger.debug("bad responseReceivedExtraInfo event", exc_info=True)

    def _on_finished(self, event: dict[str, Any]) -> None:
        self._last_activity = time.monotonic()
        try:
            self._entry(event).finished = True
        except Exception:
            logger.debug("bad loadingFinished event", exc_info=True)

    def _on_failed(self, event: dict[str, Any]) -> None:
        self._last_activity = time.monotonic()
        try:
            entry = self._entry(event)
            entry.error = str(event.get("errorText") or "failed")
            cors = event.get("corsErrorStatus") or {}
            entry.blocked_private = (
                str(cors.get("corsError", "")).startswith(
                    ("LocalNetworkAccess", "PrivateNetworkAccess")
                )
                or "LOCAL_NETWORK_ACCESS" in entry.error
            )
        except Exception:
            logger.debug("bad loadingFailed event", exc_info=True)

    # --- assembling ----------------------------------------------------------

    def _assemble(self, paused: _Paused) -> RecordedExchange:
        entry = self._requests.get(paused.network_id, _NetworkRequest())
        hop = _match_hop(entry, paused.url)
        request_event = entry.hops[hop] if hop is not None else None
        network_response = _network_response(entry, hop)
        request_extra, response_extra = _match_extra(entry, paused.status)

        request_headers = paused.fetch_request_headers
        if request_extra is not None:
            request_headers = _header_pairs(request_extra.get("headers", {}))
        elif request_event is not None:
            request_headers = _header_pairs(request_event["request"].get("headers", {}))
        request_headers = _without_pseudo_headers(request_headers, paused.url)

        protocol = _optional_str((network_response or {}).get("protocol"))
        version = _http_version(protocol)
        reason = paused.reason or _reason_phrase(paused.status)
        response_headers = paused.fetch_response_headers
        raw = False
        headers_text = (response_extra or {}).get("headersText")
        if headers_text:
            parsed = _parse_header_text(str(headers_text))
            if parsed is not None:
                version, status_text, response_headers = parsed
                reason = status_text.partition(" ")[2]
                raw = True

        security = (network_response or {}).get("securityDetails") or {}
        return RecordedExchange(
            url=paused.url,
            method=paused.method,
            resource_type=paused.resource_type,
            request_line_version=_http_version(protocol),
            request_headers=request_headers,
            request_body=paused.request_body,
            response_version=version,
            status=paused.status,
            reason=reason,
            response_headers=response_headers,
            raw_response_headers=raw,
            body=paused.body or b"",
            body_complete=paused.body_note is None,
            body_note=paused.body_note,
            truncated=paused.truncated,
            recorded_at=paused.recorded_at,
            server_ip=_ip(network_response),
            server_port=_port(network_response),
            protocol=protocol,
            tls_protocol=_optional_str(security.get("protocol")),
            tls_cipher=_optional_str(security.get("cipher")),
            mime_type=_mime_type(network_response, response_headers),
        )


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL, or ``""``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"


def _match_hop(entry: _NetworkRequest, url: str) -> int | None:
    """The first not yet matched ``requestWillBeSent`` hop for ``url``."""
    wanted = urldefrag(url).url
    for index, event in enumerate(entry.hops):
        if index in entry.consumed_hops:
            continue
        if urldefrag(str(event.get("request", {}).get("url", ""))).url == wanted:
            entry.consumed_hops.add(index)
            return index
    return None


def _network_response(entry: _NetworkRequest, hop: int | None) -> dict[str, Any] | None:
    # A hop's response arrives as the next hop's redirectResponse, or, for the
    # last hop, in responseReceived.
    if hop is None:
        return None
    if hop + 1 < len(entry.hops):
        redirect = entry.hops[hop + 1].get("redirectResponse")
        return redirect if isinstance(redirect, dict) else None
    return entry.response


def _match_extra(
    entry: _NetworkRequest, status: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    # ExtraInfo events exist only for hops that went to the network (not for
    # internal redirects), in order; the status code keeps the pairing honest.
    for index in range(entry.extra_cursor, len(entry.response_extra)):
        extra = entry.response_extra[index]
        if extra.get("statusCode") == status:
            entry.extra_cursor = index + 1
            request_extra = entry.request_extra[index] if index < len(entry.request_extra) else None
            return request_extra, extra
    return None, None


def _parse_header_text(text: str) -> tuple[str, str, Headers] | None:
    """Split raw ``HTTP/1.1 200 OK\\r\\nName: value...`` into version, status, headers."""
    lines = text.replace("\r\n", "\n").split("\n")
    version, _, status_text = lines[0].partition(" ")
    if not version.upper().startswith("HTTP/") or not status_text:
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:
            # Obsolete line folding continues the previous header's value.
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return version, status_text.strip(), tuple(headers)


def _header_pairs(headers: Mapping[str, Any]) -> Headers:
    # CDP joins repeated headers with newlines in its header objects.
    pairs: list[tuple[str, str]] = []
    for name, value in headers.items():
        for part in str(value).split("\n"):
            pairs.append((str(name), part))
    return tuple(pairs)


def _without_pseudo_headers(headers: Headers, url: str) -> Headers:
    """Drop HTTP/2 pseudo-headers, keeping ``:authority`` as ``Host``."""
    authority = next((v for n, v in headers if n == ":authority"), None)
    kept = tuple((n, v) for n, v in headers if not n.startswith(":"))
    if not any(n.lower() == "host" for n, _ in kept):
        host = authority or urlsplit(url).netloc
        kept = (("Host", host), *kept)
    return kept


def _post_data(request: Mapping[str, Any]) -> bytes:
    entries = request.get("postDataEntries")
    if isinstance(entries, list) and entries:
        return b"".join(base64.b64decode(e.get("bytes", "")) for e in entries)
    data = request.get("postData")
    return str(data).encode("utf-8") if data else b""


def _content_length(headers: Headers) -> int | None:
    for name, value in headers:
        if name.lower() == "content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def _http_version(protocol: str | None) -> str:
    # Replay tools expect an HTTP/1.x message; the real protocol goes into
    # WARC-Protocol.
    if protocol and protocol.lower() == "http/1.0":
        return "HTTP/1.0"
    return "HTTP/1.1"


def _reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _ip(response: Mapping[str, Any] | None) -> str | None:
    if not response:
        return None
    address = str(response.get("remoteIPAddress") or "").strip("[]")
    return address or None


def _port(response: Mapping[str, Any] | None) -> int | None:
    if not response:
        return None
    port = response.get("remotePort")
    return int(port) if isinstance(port, int) and port > 0 else None


def _mime_type(response: Mapping[str, Any] | None, headers: Headers) -> str:
    if response and response.get("mimeType"):
        return str(response["mimeType"])
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def _optional_str(value: object) -> str | None:
    return str(value) if value else None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
