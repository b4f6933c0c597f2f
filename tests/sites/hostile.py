"""A local web server of awkward and hostile pages for the capture tests.

Everything is generated on the fly (the 100 MB response is streamed, never
held in memory) and every slow answer is bounded, so a test that gives up
early does not leave a thread sleeping for long.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

HUGE_BYTES = 100 * 1024 * 1024
DOWNLOAD_BYTES = 256 * 1024
SLOW_LIMIT_S = 20.0
"""No slow answer (hang, slow-loris, endless download) lasts longer than this."""

BAND_HEIGHT = 100


def band_colour(index: int) -> tuple[int, int, int]:
    """A distinct, deterministic colour for the ``index``-th band of a tall page."""
    return ((index * 67 + 40) % 256, (index * 151 + 90) % 256, (index * 29 + 160) % 256)


def _page(title: str, body: str, head: str = "") -> bytes:
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
        f"{head}</head><body>{body}</body></html>"
    ).encode()


def _bands(height: int) -> bytes:
    count = -(-height // BAND_HEIGHT)
    rows = "".join(
        f'<div style="height:{min(BAND_HEIGHT, height - i * BAND_HEIGHT)}px;'
        f'background:rgb{band_colour(i)}"></div>'
        for i in range(count)
    )
    style = "<style>html,body{margin:0;padding:0}</style>"
    return _page(f"{height} px", rows, style)


_ENV_PAGE = _page(
    "env",
    '<pre id="env"></pre><script>document.getElementById("env").textContent = JSON.stringify({'
    "language: navigator.language, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,"
    "userAgent: navigator.userAgent, innerWidth: window.innerWidth,"
    "devicePixelRatio: window.devicePixelRatio,"
    "touch: navigator.maxTouchPoints, cookie: document.cookie})</script>",
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
)

_ENDLESS = _page(
    "endless",
    '<div id="feed"></div><script>'
    "const feed = document.getElementById('feed'); let n = 0;"
    "function more(){ for (let i=0;i<5;i++){ const d=document.createElement('div');"
    "d.style.height='300px'; d.textContent='item '+(n++); feed.appendChild(d);} }"
    "more(); window.addEventListener('scroll', () => {"
    " if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 50) more(); });"
    "</script>",
)

_STEPS_SEARCH = _page(
    "搜索",
    '<form action="/steps/results"><input id="q" name="q"><button id="go">搜索</button></form>'
    '<a id="next" href="/steps/results?q=link">下一页</a>',
)


def _bomb_png(side: int) -> bytes:
    """A tiny PNG that claims ``side`` x ``side`` grey pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    compressor = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    parts = [compressor.compress(row) for _ in range(side)]
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


class HostileSite:
    """``with HostileSite() as site: site.url_for("/redirect-loop")``."""

    def __init__(self) -> None:
        self._bomb: bytes | None = None
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.requests.append(self.path)
                # The browser giving up on a slow or huge answer is expected here.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
                    site._route(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def url_for(self, path: str) -> str:
        return self.url + path.lstrip("/")

    def __enter__(self) -> HostileSite:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- routes ---------------------------------------------------------------

    def _route(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        routes: dict[str, Callable[[], None]] = {
            "/ok": lambda: self._send(h, 200, _page("普通页面", "<h1>普通页面</h1>")),
            "/env": lambda: self._send(h, 200, _ENV_PAGE),
            "/bands": lambda: self._send(h, 200, _bands(int(query.get("h", "3500")))),
            "/redirect-loop": lambda: self._redirect(h, "/redirect-loop"),
            "/never-loads": lambda: self._send(
                h, 200, _page("never", '<h1>loading</h1><img src="/hang?s=15" width="10">')
            ),
            "/hang": lambda: self._hang(h, float(query.get("s", "15"))),
            "/no-answer": lambda: self._no_answer(h),
            "/slowloris": lambda: self._slowloris(h),
            "/endless": lambda: self._send(h, 200, _ENDLESS),
            "/huge-subresource": lambda: self._send(
                h, 200, _page("huge", '<h1>huge</h1><img src="/huge.bin" width="10">')
            ),
            "/huge.bin": lambda: self._stream(h, HUGE_BYTES, "image/png"),
            "/huge-download": lambda: self._stream(h, HUGE_BYTES, "application/octet-stream", True),
            "/bomb": lambda: self._send(
                h, 200, _page("bomb", '<h1>bomb</h1><img src="/bomb.png" width="200">')
            ),
            "/bomb.png": lambda: self._send(h, 200, self._bomb_bytes(), "image/png"),
            "/download": lambda: self._stream(h, DOWNLOAD_BYTES, "application/pdf", True),
            "/download-link": lambda: self._send(
                h,
                200,
                _page(
                    "附件",
                    '<a id="a" href="/download">附件.pdf</a>'
                    "<script>setTimeout(() => document.getElementById('a').click(), 100)</script>",
                ),
            ),
            "/alert-loop": lambda: self._send(
                h,
                200,
                _page(
                    "alerts",
                    "<h1>alerts</h1><script>"
                    "for (let i = 0; i < 60; i++) { alert('提示 ' + i); }"
                    "confirm('确定吗'); prompt('输入', 'x');</script>",
                ),
            ),
            "/alert-forever": lambda: self._send(
                h,
                200,
                _page(
                    "alerts forever",
                    "<h1>alerts forever</h1><script>"
                    "setInterval(() => alert('again'), 30);</script>",
                ),
            ),
            "/closes-itself": lambda: self._send(
                h,
                200,
                _page("bye", "<h1>bye</h1><script>window.close();</script>"),
            ),
            "/popup": lambda: self._send(
                h,
                200,
                _page("popup", "<h1>popup</h1><script>window.open('/ok?popup=1');</script>"),
            ),
            "/status": lambda: self._send(
                h,
                int(query.get("code", "404")),
                _page("错误", f"<h1>Error {query.get('code', '404')}</h1>"),
            ),
            "/challenge": lambda: self._send(
                h,
                403,
                _page(
                    "Just a moment...",
                    '<div id="cf-challenge-running">请完成安全验证 (captcha)</div>',
                ),
            ),
            "/steps/search": lambda: self._send(h, 200, _STEPS_SEARCH),
            "/steps/results": lambda: self._send(
                h, 200, _page("结果", f'<h1 id="results">结果: {_escape(query.get("q", ""))}</h1>')
            ),
            "/account": lambda: self._account(h),
        }
        route = routes.get(parts.path)
        if route is None:
            self._send(h, 404, _page("not found", "<h1>not found</h1>"))
        else:
            route()

    def _bomb_bytes(self) -> bytes:
        if self._bomb is None:
            self._bomb = _bomb_png(10_000)
        return self._bomb

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    @staticmethod
    def _redirect(h: BaseHTTPRequestHandler, location: str) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    @staticmethod
    def _hang(h: BaseHTTPRequestHandler, seconds: float) -> None:
        time.sleep(min(seconds, SLOW_LIMIT_S))
        HostileSite._send(h, 200, b"", "image/png")

    @staticmethod
    def _no_answer(h: BaseHTTPRequestHandler) -> None:
        # Accept the request and never answer (until the bound).
        time.sleep(SLOW_LIMIT_S)
        h.close_connection = True

    @staticmethod
    def _slowloris(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.write(b"<!doctype html><title>slow</title><h1>slow</h1>")
        h.wfile.flush()
        end = time.monotonic() + SLOW_LIMIT_S
        while time.monotonic() < end:
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.5)
        h.close_connection = True

    @staticmethod
    def _stream(
        h: BaseHTTPRequestHandler, size: int, content_type: str, attachment: bool = False
    ) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(size))
        if attachment:
            h.send_header("Content-Disposition", 'attachment; filename="evidence-file.bin"')
        h.end_headers()
        block = b"\x5a" * (1024 * 1024)
        sent = 0
        while sent < size:
            piece = block[: min(len(block), size - sent)]
            h.wfile.write(piece)
            sent += len(piece)

    @staticmethod
    def _account(h: BaseHTTPRequestHandler) -> None:
        cookie = h.headers.get("Cookie", "")
        if "session=officer-test" in cookie:
            HostileSite._send(h, 200, _page("账户", '<h1 id="who">欢迎, 测试账户</h1>'))
        else:
            HostileSite._send(h, 403, _page("登录", '<h1 id="who">请登录</h1>'))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def closed_port() -> int:
    """A local TCP port nothing listens on (bound and released just now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
