"""Two small sites: a page on 127.0.0.1 that embeds a cross-site iframe from
``localhost`` on another port, and POSTs data, so a capture must record both
the iframe's subresources and request bodies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

from evidence.services.demo_site import SITE_ROOT

CHILD_IMAGE = (SITE_ROOT / "img" / "shoe-1.png").read_bytes()
CHILD_CSS = b"body { background: #fafafa; } h2 { color: #a00; }\n"
PARENT_POST_BODY = "keyword=运动鞋&page=1".encode()
BULK_POST_BODY = bytes((i * 7) % 256 for i in range(3 * 1024 * 1024))
CHILD_POST_BODY = bytes(range(256)) * 4
"""Binary, not UTF-8: the recorder must keep it byte for byte."""


def _parent_page(child_url: str) -> bytes:
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>跨站框架测试页</title></head><body><h1>父页面</h1>
<iframe id="child" src="{child_url}" width="600" height="300"></iframe>
<script>
fetch("/search", {{method: "POST", headers: {{"Content-Type":
  "application/x-www-form-urlencoded; charset=utf-8"}}, body: "keyword=运动鞋&page=1"}})
  .then((r) => r.text()).then((t) => {{ document.title = document.title + " " + t; }});
// Large bodies are left out of CDP request events; the recorder must fetch them.
const bulk = new Uint8Array(3 * 1024 * 1024);
for (let i = 0; i < bulk.length; i++) bulk[i] = (i * 7) % 256;
const form = new FormData();
form.append("note", "证据");
form.append("file", new Blob([bulk.subarray(0, 300)]), "photo.bin");
fetch("/bulk", {{method: "POST", body: bulk}}).then((r) => r.text());
fetch("/form", {{method: "POST", body: form}}).then((r) => r.text());
</script></body></html>""".encode()


_CHILD_PAGE = b"""<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/child.css"><title>child</title></head>
<body><h2>Cross-site child frame</h2><img src="/child.png" width="100" height="100">
<script>
const bytes = new Uint8Array(1024);
for (let i = 0; i < 1024; i++) bytes[i] = i % 256;
fetch("/upload", {method: "POST", headers: {"Content-Type": "application/octet-stream"},
  body: bytes}).then((r) => r.text());
</script></body></html>"""


Route = Callable[[BaseHTTPRequestHandler, bytes], tuple[int, str, bytes]]


class _Server:
    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.posted: list[tuple[str, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                outer.posted.append((self.path, body))
                self._answer(body)

            def _answer(self, body: bytes) -> None:
                route = outer.routes.get(urlsplit(self.path).path)
                if route is None:
                    status, media_type, payload = 404, "text/plain", b"not found"
                else:
                    status, media_type, payload = route(self, body)
                self.send_response(status)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port: int = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FramedSite:
    """``parent_url`` on 127.0.0.1 embeds ``child_url`` on ``localhost`` (another site)."""

    def __enter__(self) -> FramedSite:
        self.child = _Server(
            {
                "/child.html": lambda h, b: (200, "text/html; charset=utf-8", _CHILD_PAGE),
                "/child.png": lambda h, b: (200, "image/png", CHILD_IMAGE),
                "/child.css": lambda h, b: (200, "text/css", CHILD_CSS),
                "/upload": lambda h, b: (200, "text/plain", f"got {len(b)}".encode()),
            }
        )
        self.child_url = f"http://localhost:{self.child.port}/child.html"
        parent_page = _parent_page(self.child_url)
        self.parent = _Server(
            {
                "/frame.html": lambda h, b: (200, "text/html; charset=utf-8", parent_page),
                "/search": lambda h, b: (200, "text/plain; charset=utf-8", "找到 3 件".encode()),
                "/bulk": lambda h, b: (200, "text/plain", str(len(b)).encode()),
                "/form": lambda h, b: (200, "text/plain", b"ok"),
            }
        )
        self.parent_url = f"http://127.0.0.1:{self.parent.port}/frame.html"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.parent.close()
        self.child.close()
