"""The HTTP side of an openssl-backed TSA: ``POST /tsr`` with a DER TimeStampReq.

A bounded server: at most :data:`MAX_CONNECTIONS` connections at once (more are
refused with 503), each cut after :data:`MAX_CONNECTION_S` however slowly its
client trickles bytes, and every query screened before openssl sees it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import subprocess
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final

import rfc3161ng
from pyasn1.error import PyAsn1Error

from anchoring.tsa import QUERY_MEDIA_TYPE, REPLY_MEDIA_TYPE
from evidence.model.errors import ConfigurationError, TimestampError
from evidence.model.redaction import redact_target

if TYPE_CHECKING:
    from anchoring.devtsa import OpensslTSA

logger = logging.getLogger("anchoring.devtsa")

MAX_QUERY_BYTES: Final = 64 * 1024
MAX_CONNECTIONS: Final = 16
"""Connections served at once; further ones are answered 503 and closed at once."""
MAX_CONNECTION_S: Final = 15.0
"""Total time one connection may take, however slowly its client trickles bytes."""
"""A TimeStampReq is a few hundred bytes; anything this big is not one."""

TSR_PATH: Final = "/tsr"


class TSAServer(ThreadingHTTPServer):
    """One thread per connection, but never more than :data:`MAX_CONNECTIONS`.

    A client that opens many connections and trickles bytes into them
    (slow-loris) would otherwise hold one thread each for as long as it
    likes: the socket timeout only bounds the wait for the *next* byte.
    """

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        tsa: OpensslTSA,
    ) -> None:
        super().__init__(address, handler)
        self.tsa = tsa
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        deadline = threading.Timer(MAX_CONNECTION_S, _cut, args=(request,))
        deadline.daemon = True
        deadline.start()
        try:
            super().process_request_thread(request, client_address)
        finally:
            deadline.cancel()
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up or is cut at the deadline is not a server fault:
        # no traceback on the operator's terminal for it, one debug line instead.
        if isinstance(sys.exc_info()[1], OSError):
            logger.debug("TSA connection from %s ended abnormally", client_address, exc_info=True)
        else:
            logger.exception("TSA handler failed for %s", client_address)


def _refuse_busy(request: socket.socket) -> None:
    with contextlib.suppress(OSError):
        request.settimeout(1.0)
        request.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
            b"Connection: close\r\nRetry-After: 1\r\n\r\n"
        )


def _cut(request: socket.socket) -> None:
    # Shutting the socket down wakes the handler's blocked read with EOF/error,
    # so the thread ends and its slot is freed.
    with contextlib.suppress(OSError):
        request.shutdown(socket.SHUT_RDWR)


_REQUEST_TARGET: Final = re.compile(r"/[^\s'\"]*")


class TSARequestHandler(BaseHTTPRequestHandler):
    server: TSAServer
    server_version = "EvidenceToolkitTSA/1"
    # Bounds how long a stalled client can hold a handler thread.
    timeout = 30

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != TSR_PATH:
            self._fail(HTTPStatus.NOT_FOUND, "unknown path")
            return
        media_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if media_type != QUERY_MEDIA_TYPE:
            self._fail(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"expected {QUERY_MEDIA_TYPE}")
            return
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            self._fail(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
            return
        try:
            length = int(raw_length)
        except ValueError:
            self._fail(HTTPStatus.BAD_REQUEST, "bad Content-Length")
            return
        if length < 0:
            self._fail(HTTPStatus.BAD_REQUEST, "bad Content-Length")
            return
        if length > MAX_QUERY_BYTES:
            self._fail(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "query too large")
            return
        body = self.rfile.read(length)
        if len(body) != length or not _looks_like_query(body):
            self._fail(HTTPStatus.BAD_REQUEST, "body is not a DER TimeStampReq")
            return
        try:
            reply = self.server.tsa.reply(body)
        except (TimestampError, ConfigurationError, OSError, subprocess.SubprocessError):
            logger.exception("%s could not answer a query", self.server.tsa.label)
            self._fail(HTTPStatus.INTERNAL_SERVER_ERROR, "TSA failure")
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", REPLY_MEDIA_TYPE)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def do_GET(self) -> None:
        self._fail(HTTPStatus.METHOD_NOT_ALLOWED, "POST an application/timestamp-query")

    def _fail(self, status: HTTPStatus, reason: str) -> None:
        body = f"{status.value} {status.phrase}: {reason}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        # The request line (also quoted in error lines, possibly before it
        # parsed) holds the client's API key if its URL carries one.
        line = _REQUEST_TARGET.sub(lambda found: redact_target(found.group()), format % args)
        logger.debug("devtsa %s - %s", self.address_string(), line)


def _looks_like_query(body: bytes) -> bool:
    # openssl answers garbage with a rejection response; screening it here lets
    # HTTP clients see a plain 400 instead, as for any malformed request.
    try:
        rfc3161ng.decode_timestamp_request(body)
    except (PyAsn1Error, ValueError, TypeError):
        return False
    return True
