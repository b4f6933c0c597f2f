"""A bundled sample shop listing served on 127.0.0.1, for the demo and the tests.

The pages are fictitious (a counterfeit-looking sneaker listing in Simplified
Chinese) and live as static files in ``evidence/services/_demo_site/``. The server adds
the few things a plain static server would not show a capture tool: a 302
redirect, a GBK-encoded page with its charset in the header, a gzip-encoded and
chunked stylesheet, a 404, and a page whose image never finishes loading.
"""

from __future__ import annotations

import gzip
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import ClassVar
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

SITE_ROOT = Path(__file__).resolve().parent / "_demo_site"
"""Directory holding the demo site's static files."""

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".ico": "image/x-icon",
}

# Files that carry their own charset, which the header must state truthfully.
_MEDIA_TYPE_OVERRIDES = {"/gbk.html": "text/html; charset=gbk"}

_ALIASES = {"/": "/index.html"}
_REDIRECTS = {"/old-listing": "/index.html"}
_CHUNKED_GZIP = frozenset({"/style.css"})

_SLOW_PAGE = (
    "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
    "<title>加载缓慢的页面</title></head><body><h1>加载缓慢的页面</h1>"
    "<p>下面的图片永远不会加载完成。</p>"
    "<img src='/slow-image.png' width='200' height='100' alt='永不完成'>"
    "</body></html>"
).encode()

SLOW_IMAGE_HOLD_S = 20.0
"""How long ``/slow-image.png`` keeps its connection open without finishing."""


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so the browser keeps connections and chunked encoding is legal.
    protocol_version = "HTTP/1.1"
    server_version = "EvidenceDemoSite/1.0"
    stop_event: ClassVar[threading.Event]

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("demo site: " + format, *args)

    def do_HEAD(self) -> None:
        self._serve(head_only=True)

    def do_GET(self) -> None:
        self._serve(head_only=False)

    def _serve(self, *, head_only: bool) -> None:
        path = urlsplit(self.path).path
        path = _ALIASES.get(path, path)
        if path in _REDIRECTS:
            self._send_bytes(
                HTTPStatus.FOUND,
                b"<html><body>Moved</body></html>",
                "text/html; charset=utf-8",
                head_only,
                extra=(("Location", _REDIRECTS[path]),),
            )
        elif path == "/slow":
            self._send_bytes(HTTPStatus.OK, _SLOW_PAGE, _MEDIA_TYPES[".html"], head_only)
        elif path == "/slow-image.png":
            self._hold_open()
        else:
            self._serve_file(path, head_only)

    def _serve_file(self, path: str, head_only: bool) -> None:
        file = _resolve(path)
        if file is None:
            self._send_bytes(
                HTTPStatus.NOT_FOUND,
                "<html><body><h1>404 页面不存在</h1></body></html>".encode(),
                _MEDIA_TYPES[".html"],
                head_only,
            )
            return
        data = file.read_bytes()
        media_type = _MEDIA_TYPE_OVERRIDES.get(
            path, _MEDIA_TYPES.get(file.suffix.lower(), "application/octet-stream")
        )
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if path in _CHUNKED_GZIP and accepts_gzip:
            self._send_chunked_gzip(data, media_type, head_only)
        else:
            self._send_bytes(HTTPStatus.OK, data, media_type, head_only)

    def _send_bytes(
        self,
        status: HTTPStatus,
        body: bytes,
        media_type: str,
        head_only: bool,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _send_chunked_gzip(self, data: bytes, media_type: str, head_only: bool) -> None:
        # mtime=0 keeps the compressed bytes stable from run to run.
        compressed = gzip.compress(data, mtime=0)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if head_only:
            return
        step = max(1, len(compressed) // 3)
        for start in range(0, len(compressed), step):
            chunk = compressed[start : start + step]
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def _hold_open(self) -> None:
        # Headers go out, the body never completes: the page cannot settle.
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"\x89PNG\r\n\x1a\n")
        self.wfile.flush()
        self.stop_event.wait(SLOW_IMAGE_HOLD_S)
        self.close_connection = True


def _resolve(path: str) -> Path | None:
    """Map a URL path to a file inside the site root, refusing anything outside it."""
    relative = path.lstrip("/")
    if not relative:
        return None
    candidate = (SITE_ROOT / relative).resolve()
    if not candidate.is_relative_to(SITE_ROOT) or not candidate.is_file():
        return None
    return candidate


class DemoSite:
    """Serves the demo site on an ephemeral 127.0.0.1 port while the context is open.

    >>> with DemoSite() as site:  # doctest: +SKIP
    ...     site.url_for("/old-listing")
    'http://127.0.0.1:43817/old-listing'
    """

    root: Path = SITE_ROOT

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        """Base URL with a trailing slash, e.g. ``http://127.0.0.1:43817/``."""
        if self._server is None:
            raise RuntimeError("DemoSite is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def url_for(self, path: str) -> str:
        return self.url + path.lstrip("/")

    def start(self) -> DemoSite:
        if self._server is not None:
            return self
        self._stop.clear()
        handler = type("_BoundHandler", (_Handler,), {"stop_event": self._stop})
        server = ThreadingHTTPServer((self._host, self._port), handler)
        server.daemon_threads = True
        thread = threading.Thread(
            target=server.serve_forever, name="evidence-demo-site", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        logger.info("demo site serving %s at %s", SITE_ROOT, self.url)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stop.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
