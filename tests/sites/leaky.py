"""A page that tries every way out of a browser, and the listeners that would hear it.

The page is written into a WARC under a host name that resolves nowhere, so
it can only be shown by a replay that serves it from the WARC. Once shown it
tries, at once and again after a moment: ``fetch``, a WebSocket, an image
from a second port, WebRTC with a STUN server on a UDP port, DNS prefetch and
preconnect to a unique host name, and finally navigation away. Every target
is a listener on 127.0.0.1 run by the test, or (for DNS) a name the
:class:`Sniffer` watches for on every interface.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from types import TracebackType

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

_ETH_P_ALL = 0x0003
DNS_PROBES = ("prefetch", "preconnect", "image")
"""What each probe host name is used for: ``<link rel=dns-prefetch>``,
``<link rel=preconnect>``, ``<img src>``."""


@dataclass
class Heard:
    """What the listeners received, each entry naming the listener that heard it."""

    events: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, event: str) -> None:
        with self.lock:
            self.events.append(event)

    def snapshot(self) -> list[str]:
        with self.lock:
            return list(self.events)


class Listeners:
    """Two TCP ports (answering a bare HTTP 200), one UDP port, and a sniffer.

    ``with Listeners() as ears: ...; ears.heard.snapshot()``. The probe token
    is unique per instance, so traffic of other tests on this machine never
    counts.
    """

    def __init__(self) -> None:
        self.heard = Heard()
        self.token = "evprobe" + secrets.token_hex(6)
        self._stop = threading.Event()
        self._tcp = [_bound(socket.SOCK_STREAM) for _ in range(2)]
        self._udp = _bound(socket.SOCK_DGRAM)
        self._sniffer = _raw_socket()
        self._threads: list[threading.Thread] = []

    @property
    def tcp_port(self) -> int:
        return int(self._tcp[0].getsockname()[1])

    @property
    def image_port(self) -> int:
        return int(self._tcp[1].getsockname()[1])

    def host_for(self, purpose: str) -> str:
        """A host name that exists nowhere and is used only for ``purpose``."""
        return f"{self.token}-{purpose}.example.com"

    @property
    def page_url(self) -> str:
        """Where the page claims to live: a listener, so fetching it for real is heard."""
        return f"http://127.0.0.1:{self.tcp_port}/leaky"

    @property
    def udp_port(self) -> int:
        return int(self._udp.getsockname()[1])

    @property
    def sniffing(self) -> bool:
        """Whether DNS packets can be watched (needs CAP_NET_RAW)."""
        return self._sniffer is not None

    def __enter__(self) -> Listeners:
        for sock in self._tcp:
            sock.listen(16)
            self._start(self._serve_tcp, sock)
        self._start(self._serve_udp, self._udp)
        if self._sniffer is not None:
            self._start(self._sniff, self._sniffer)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in [*self._tcp, self._udp, self._sniffer]:
            if sock is not None:
                sock.close()

    def _start(self, target: Callable[[socket.socket], None], sock: socket.socket) -> None:
        sock.settimeout(0.1)
        thread = threading.Thread(target=target, args=(sock,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _serve_tcp(self, sock: socket.socket) -> None:
        port = sock.getsockname()[1]
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.settimeout(0.5)
                first = conn.recv(200).split(b"\r\n", 1)[0].decode("latin-1")
                self.heard.add(f"tcp:{port} {first}")
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def _serve_udp(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                _, peer = sock.recvfrom(2048)
            except TimeoutError:
                continue
            self.heard.add(f"udp:{self.udp_port} from {peer[0]}")

    def _sniff(self, sock: socket.socket) -> None:
        # Any packet on any interface of this namespace that names the probe
        # token: a DNS query for the prefetch host, wherever it was sent.
        names = {purpose: self.host_for(purpose).encode() for purpose in DNS_PROBES}
        while not self._stop.is_set():
            try:
                frame = sock.recv(65535)
            except TimeoutError:
                continue
            for purpose, name in names.items():
                # A DNS query spells the name as length-prefixed labels.
                if name.split(b".")[0] in frame:
                    self.heard.add(f"dns:{purpose}")


def _bound(kind: socket.SocketKind) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))
    return sock


def _raw_socket() -> socket.socket | None:
    try:
        return socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
    except (OSError, AttributeError):
        return None


def leaky_page(ears: Listeners) -> bytes:
    """The page's HTML, aimed at ``ears``."""
    tcp = f"127.0.0.1:{ears.tcp_port}"
    stun = f"stun:127.0.0.1:{ears.udp_port}"
    script = f"""
      function tryEverything(round) {{
        fetch('http://{tcp}/fetch-' + round, {{mode: 'no-cors'}}).catch(() => {{}});
        try {{ new WebSocket('ws://{tcp}/ws-' + round); }} catch (e) {{}}
        try {{
          const pc = new RTCPeerConnection({{iceServers: [{{urls: '{stun}'}}]}});
          pc.createDataChannel('probe');
          pc.createOffer().then((offer) => pc.setLocalDescription(offer)).catch(() => {{}});
        }} catch (e) {{}}
        const img = new Image();
        img.src = 'http://127.0.0.1:{ears.image_port}/img-' + round + '.png';
        document.body.appendChild(img);
      }}
      tryEverything(0);
      setTimeout(() => tryEverything(1), 200);
      setTimeout(() => {{ location.href = 'http://{tcp}/nav'; }}, 400);
    """
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>leaky</title>'
        f'<link rel="dns-prefetch" href="//{ears.host_for("prefetch")}">'
        f'<link rel="preconnect" href="http://{ears.host_for("preconnect")}/">'
        f'<link rel="preconnect" href="http://{tcp}/">'
        '</head><body style="margin:0;background:#2a6">'
        '<div style="height:900px;font:40px sans-serif">leaky page</div>'
        f'<img src="http://127.0.0.1:{ears.image_port}/img.png">'
        f'<img src="http://{ears.host_for("image")}/img.png">'
        f"<script>{script}</script></body></html>"
    ).encode()


def write_leaky_warc(path: Path, ears: Listeners) -> Path:
    """A WARC holding only the leaky page, as a capture would have recorded it."""
    body = leaky_page(ears)
    headers = StatusAndHeaders(
        "200 OK",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
        protocol="HTTP/1.1",
    )
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        record = writer.create_warc_record(
            ears.page_url, "response", payload=BytesIO(body), http_headers=headers
        )
        writer.write_record(record)
    return path
