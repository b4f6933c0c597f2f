"""The verifier's replay browser reaches no network, runs sandboxed, and holds no secret.

A bundle's page is someone else's code. The page of ``tests/sites/leaky.py``
tries fetch, a WebSocket, images from another port, WebRTC with a STUN
server on a UDP port, DNS (prefetch, preconnect and an image from host names
that exist nowhere) and navigation away; the test's listeners on 127.0.0.1,
and a packet sniffer for the DNS names, must hear nothing while it is
replayed. A control run in an ordinary browser shows the same page *is*
heard, so silence means the fences held, not that the page did nothing.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Route, sync_playwright

import capture._sandbox as sandbox_module
from capture._browser import CHROMIUM_ARGS, find_chromium
from capture._sandbox import sealed_chromium
from capture.replay import ReplayIsolation, WarcIndex, replay, replay_screenshot
from evidence.model.capture_options import CaptureOptions
from tests.sites.leaky import Listeners, write_leaky_warc

VIEWPORT = (800, 600)
NAVIGATION_WAIT_S = 15.0
"""How long the page may take to reach its last attempt, navigating away."""
SETTLE_MS = 500


def _namespace_available() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    command = [unshare, "--net", "true"] if os.geteuid() == 0 else [unshare, "-Ucn", "true"]
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def _user_namespaces_for_the_browser() -> bool:
    """What Chromium's sandbox needs, for the user the replay browser runs as."""
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if unshare is None or setpriv is None:
        return False
    as_nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    command = [*(as_nobody if os.geteuid() == 0 else []), unshare, "-Upf", "true"]
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


NAMESPACE = _namespace_available()
SANDBOX = _user_namespaces_for_the_browser()
FENCES = [
    pytest.param(True, id="namespace"),
    pytest.param(False, id="flags-only"),
]


@pytest.fixture
def ears() -> Iterator[Listeners]:
    with Listeners() as listening:
        yield listening


@pytest.fixture
def warc(ears: Listeners, tmp_path: Path) -> Path:
    return write_leaky_warc(tmp_path / "leaky.warc.gz", ears)


def _open_leaky_page(browser: Browser, ears: Listeners, warc: Path) -> list[str]:
    """Show the page with nothing but the page itself intercepted; the URLs it asked for."""
    # Local network access granted, so Chromium's own check of loopback
    # requests is no part of what keeps them in.
    context = browser.new_context(permissions=["local-network-access"])
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    index = WarcIndex(warc)
    page.route(ears.page_url, lambda route: _fulfil(route, index))
    page.goto(ears.page_url)
    deadline = time.monotonic() + NAVIGATION_WAIT_S
    while not any(url.endswith("/nav") for url in requested) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    page.wait_for_timeout(SETTLE_MS)
    context.close()
    return requested


def _fulfil(route: Route, index: WarcIndex) -> None:
    recorded = index.response(route.request.url)
    assert recorded is not None, route.request.url
    status, headers, body = recorded
    route.fulfill(status=status, headers=headers, body=body)


def _heard_after(ears: Listeners) -> list[str]:
    # Give a late packet or connection time to arrive before concluding none did.
    time.sleep(0.5)
    return ears.heard.snapshot()


def test_control_an_unfenced_browser_is_heard(ears: Listeners, warc: Path) -> None:
    executable = find_chromium(CaptureOptions())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            _open_leaky_page(browser, ears, warc)
        finally:
            browser.close()
    heard = "\n".join(_heard_after(ears))
    tcp, image = f"tcp:{ears.tcp_port}", f"tcp:{ears.image_port}"
    assert f"{tcp} GET /fetch-0 " in heard, heard
    assert f"{tcp} GET /ws-0 " in heard, heard
    assert f"{tcp} GET /nav " in heard, heard
    assert f"{image} GET /img.png " in heard, heard
    assert f"udp:{ears.udp_port} from 127.0.0.1" in heard, heard
    if ears.sniffing:
        # Headless Chromium makes no DNS query for dns-prefetch or preconnect
        # by itself, so only the image's host name is heard here.
        assert "dns:image" in heard, heard


@pytest.mark.parametrize("network_namespace", FENCES)
def test_the_fences_hold_without_interception(
    ears: Listeners, warc: Path, network_namespace: bool
) -> None:
    """Only the page is served from the WARC; every other request meets the fences alone."""
    executable = find_chromium(CaptureOptions())
    with (
        sync_playwright() as playwright,
        sealed_chromium(
            playwright,
            executable,
            args=CHROMIUM_ARGS,
            timeout_ms=30_000,
            network_namespace=network_namespace,
        ) as (browser, seal),
    ):
        requested = _open_leaky_page(browser, ears, warc)
    assert f"http://127.0.0.1:{ears.tcp_port}/nav" in requested, "the page did not run to its end"
    assert _heard_after(ears) == []
    expected = network_namespace and NAMESPACE
    assert (seal.isolation is ReplayIsolation.NETWORK_NAMESPACE) is expected


@pytest.mark.parametrize("network_namespace", FENCES)
def test_nothing_leaves_a_replay(
    ears: Listeners, warc: Path, tmp_path: Path, network_namespace: bool
) -> None:
    out = tmp_path / "replay.png"
    result = replay(warc, ears.page_url, out, VIEWPORT, network_namespace=network_namespace)
    assert _heard_after(ears) == []
    assert result.png == out
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width == VIEWPORT[0]
    # The page tried: what it asked for is listed as missing from the WARC.
    # (Its later attempts may come after the shot; the test above waits for them.)
    tried = {url.rsplit("/", 1)[-1] for url in result.missing}
    assert {"fetch-0", "img.png"} <= tried, result.missing
    expected = ReplayIsolation.NETWORK_NAMESPACE if network_namespace and NAMESPACE else None
    assert result.isolation is (expected or ReplayIsolation.FLAGS_ONLY)
    assert ("network namespace" in result.summary()) is (expected is not None)
    assert f"{len(result.missing)} missing" in result.summary()


SECRET = "planted-replay-secret-" + secrets.token_hex(4)


@dataclass(frozen=True)
class Seen:
    """One Chromium process as last seen while the replay ran."""

    pid: int
    uid: int
    net_namespace: str
    seccomp: int
    environ: str
    cmdline: list[str]


class ChromiumWatcher:
    """Looks at this process's Chromium descendants every few milliseconds.

    A process counts once it runs a program from Chromium's own directory:
    before that it may still be the wrapper that starts it.
    """

    def __init__(self) -> None:
        self.home = find_chromium(CaptureOptions()).resolve().parent
        self.seen: dict[int, Seen] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChromiumWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for pid in _descendants(os.getpid()):
                # Looked at again on every pass: a renderer turns its
                # seccomp filter on only after it has started.
                seen = _look_at(pid, self.home)
                if seen is not None:
                    self.seen[pid] = seen
            time.sleep(0.02)


def _descendants(pid: int) -> Iterator[int]:
    try:
        children = [c.read_text() for c in Path(f"/proc/{pid}/task").glob("*/children")]
    except OSError:
        return
    for text in children:
        for value in text.split():
            yield int(value)
            yield from _descendants(int(value))


def _look_at(pid: int, chromium_home: Path) -> Seen | None:
    proc = Path(f"/proc/{pid}")
    try:
        if Path(os.readlink(proc / "exe")).parent != chromium_home:
            return None
        status = (proc / "status").read_text()
        uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
        seccomp = re.search(r"^Seccomp:\s+(\d+)", status, re.M)
        assert uid is not None and seccomp is not None
        return Seen(
            pid=pid,
            uid=int(uid.group(1)),
            net_namespace=os.readlink(proc / "ns" / "net"),
            seccomp=int(seccomp.group(1)),
            environ=(proc / "environ").read_bytes().replace(b"\0", b"\n").decode(),
            # Chromium rewrites its children's titles into one space-separated string.
            cmdline=(proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().split(),
        )
    except (OSError, ValueError):
        return None  # gone between listing and reading


@pytest.fixture
def own_tempdir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temp directory of the test's own (reachable by the browser's user), checked after."""
    base = Path(tempfile.mkdtemp(prefix="replay-sealed-test-", dir="/tmp"))
    base.chmod(0o755)
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    yield base
    shutil.rmtree(base)


def test_the_replay_browser_is_unprivileged_sandboxed_and_clean(
    ears: Listeners,
    warc: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    own_tempdir: Path,
) -> None:
    monkeypatch.setenv("EVIDENCE_OFFICER_PASSPHRASE", SECRET)
    monkeypatch.setenv("EVIDENCE_CHAIN_PRIVATE_KEY", SECRET)
    out = tmp_path / "replay.png"
    with ChromiumWatcher() as watcher:
        assert replay_screenshot(warc, ears.page_url, out, VIEWPORT) == out
    assert out.is_file()
    assert _heard_after(ears) == []
    processes = list(watcher.seen.values())
    assert processes, "no Chromium process was seen during the replay"
    ours = os.readlink("/proc/self/ns/net")
    for process in processes:
        assert SECRET not in process.environ, process.pid
        assert f"HOME={os.environ.get('HOME')}\n" not in process.environ, process.pid
        assert ("--no-sandbox" in process.cmdline) is not SANDBOX, process.cmdline[:3]
        if os.geteuid() == 0:
            assert process.uid != 0, process.cmdline[:3]
        if NAMESPACE:
            assert process.net_namespace != ours, process.cmdline[:3]
    renderers = [p for p in processes if "--type=renderer" in p.cmdline]
    assert renderers, "no renderer was seen"
    if SANDBOX:
        assert all(p.seccomp == 2 for p in renderers), "renderers run without seccomp"
    # The private profile lived in the temp directory and is gone.
    assert any(own_tempdir.as_posix() in arg for p in processes for arg in p.cmdline)
    assert list(own_tempdir.iterdir()) == []


def test_without_user_namespaces_the_sandbox_is_off_and_said_so(
    ears: Listeners, warc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a kernel that refuses unprivileged user namespaces.
    monkeypatch.setattr(sandbox_module, "_user_namespace_probe", lambda: ("false",))
    result = replay(warc, ears.page_url, tmp_path / "replay.png", VIEWPORT)
    assert result.sandboxed is False
    assert result.png.is_file()
    assert _heard_after(ears) == []
    if os.geteuid() == 0 and shutil.which("setpriv"):
        assert result.browser_uid != 0


@pytest.mark.skipif(os.geteuid() != 0, reason="Chromium refuses its sandbox only as root")
def test_a_sandbox_that_does_not_start_is_retried_without(
    ears: Listeners,
    warc: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A probe that says yes where Chromium then refuses: root, sandbox asked for.
    def optimistic(network_namespace: bool) -> sandbox_module._Plan:
        seal = sandbox_module.Seal(ReplayIsolation.FLAGS_ONLY, sandboxed=True, uid=0)
        return sandbox_module._Plan(seal, prefix=(), gid=0)

    monkeypatch.setattr(sandbox_module, "_plan", optimistic)
    result = replay(warc, ears.page_url, tmp_path / "replay.png", VIEWPORT)
    assert (result.sandboxed, result.browser_uid) == (False, 0)
    assert "sandbox did not start" in caplog.text
    assert result.png.is_file()
    assert _heard_after(ears) == []
