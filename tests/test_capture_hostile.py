"""Hostile and broken pages: each ends in a flagged capture or a one-line error.

Never a traceback, never a hang past the total timeout, never a lost earlier
capture. Timeouts are small (options), so the file stays quick.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from capture import capture_page
from evidence.model.capture_options import (
    BrowserOptions,
    CaptureOptions,
    InteractionOptions,
    LimitOptions,
    SafetyOptions,
)
from evidence.model.capture_record import CaptureRecord
from evidence.model.config import Settings
from evidence.model.errors import CaptureError, EvidenceError, InvalidURLError
from evidence.model.tables import ItemStatus
from evidence.services.toolkit import Toolkit
from tests.helpers import capture_as_officer
from tests.sites.hostile import DOWNLOAD_BYTES, HostileSite, closed_port

FAST = CaptureOptions(
    safety=SafetyOptions(allow_private_targets=True),
    interaction=InteractionOptions(
        record_video=False, step_timeout_s=2.0, max_scroll_steps=5, max_dialogs=5
    ),
    limits=LimitOptions(
        navigation_timeout_s=5.0,
        settle_timeout_s=2.0,
        total_timeout_s=40.0,
        max_response_bytes=8 * 1024 * 1024,
        max_download_bytes=8 * 1024 * 1024,
    ),
)
PRIVATE_REFUSED = replace(FAST, safety=SafetyOptions())


@pytest.fixture(scope="module")
def site() -> Iterator[HostileSite]:
    with HostileSite() as running:
        yield running


def run(url: str, workdir: Path, options: CaptureOptions = FAST) -> CaptureRecord | EvidenceError:
    """The capture's outcome; anything but a record or an EvidenceError fails the test."""
    started = time.monotonic()
    try:
        record = capture_page(url, workdir, options)
    except EvidenceError as exc:
        assert "\n" not in exc.message and "Traceback" not in exc.message
        assert exc.message.strip() == exc.message and exc.message
        outcome: CaptureRecord | EvidenceError = exc
    else:
        outcome = record
    # The total timeout is a hard bound (plus browser start-up and clean-up).
    assert time.monotonic() - started < options.limits.total_timeout_s + 15
    return outcome


def flagged(outcome: CaptureRecord | EvidenceError) -> CaptureRecord:
    assert isinstance(outcome, CaptureRecord), f"expected a capture, got {outcome!r}"
    assert outcome.warnings, "a hostile page must be flagged"
    return outcome


def error(outcome: CaptureRecord | EvidenceError, kind: type[EvidenceError]) -> str:
    assert isinstance(outcome, kind), f"expected {kind.__name__}, got {outcome!r}"
    return outcome.message


def roles(record: CaptureRecord, role: str) -> list[Path]:
    return [f.path for f in record.files if f.role == role]


# --- refused before the browser starts ---------------------------------------------


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("javascript:alert(1)", "not an absolute URL"),
        ("file:///etc/passwd", "unsupported URL scheme 'file'"),
        ("data:text/html,<h1>x</h1>", "not an absolute URL"),
        ("ftp://example.com/x", "unsupported URL scheme 'ftp'"),
        ("http://", "no host"),
        ("http://exa mple.com/", "spaces or control characters"),
        ("http://example.com:99999/", "invalid port"),
        ("http://a..b/", "invalid host name"),
        ("", "empty"),
        ("www.example.com/no-scheme", "not an absolute URL"),
    ],
)
def test_bad_urls_are_refused_in_one_line(url: str, complaint: str, tmp_path: Path) -> None:
    message = error(run(url, tmp_path / "w"), InvalidURLError)
    assert complaint in message
    assert not (tmp_path / "w").exists()


def test_loopback_refused_unless_allowed(site: HostileSite, tmp_path: Path) -> None:
    message = error(run(site.url_for("/ok"), tmp_path, PRIVATE_REFUSED), InvalidURLError)
    assert "private or loopback address 127.0.0.1" in message


class _Server:
    """A loopback HTTP server answering every GET with ``page(path)`` (HTML) or a pixel."""

    def __init__(
        self, page: Callable[[str], str] | None = None, redirects: dict[str, str] | None = None
    ) -> None:
        self.paths: list[str] = []
        moves = redirects or {}
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server_self.paths.append(self.path)
                if self.path in moves:
                    self.send_response(302)
                    self.send_header("Location", moves[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                html = page(self.path) if page is not None else None
                body = html.encode("utf-8") if html is not None else b"intranet secret"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def intranet() -> Iterator[_Server]:
    server = _Server()
    yield server
    server.close()


def _public(server: _Server) -> tuple[str, ...]:
    # Chromium's switch for tests of Local Network Access: the loopback server
    # counts as a public web site, as a real shop would.
    return (f"--ip-address-space-overrides=127.0.0.1:{server.port}=public",)


def test_a_public_page_cannot_reach_the_intranet(intranet: _Server, tmp_path: Path) -> None:
    shop = _Server(
        lambda path: (
            f'<title>shop</title><img src="{intranet.url}router.png">'
            f'<iframe src="{intranet.url}admin"></iframe>'
            f'<script>fetch("{intranet.url}api").catch(() => {{}})</script>'
        )
    )
    try:
        record = run(shop.url, tmp_path, replace(FAST, browser=BrowserOptions(args=_public(shop))))
    finally:
        shop.close()
    assert isinstance(record, CaptureRecord)
    assert intranet.paths == []  # nothing was sent to the private address
    assert "private-network-blocked" in record.flags
    (warning,) = [w for w in record.warnings if "private or loopback" in w]
    assert "blocked 3 request(s)" in warning and intranet.url + "admin" in warning
    assert not any(e.url.startswith(intranet.url) for e in record.exchanges)


def test_a_page_navigating_itself_to_the_intranet_is_stopped_before_sending(
    intranet: _Server, tmp_path: Path
) -> None:
    shop = _Server(
        lambda path: (
            "<title>shop</title><p>listing</p>"
            f'<script>setTimeout(() => location.href = "{intranet.url}admin", 50)</script>'
        )
    )
    try:
        options = replace(
            FAST,
            browser=BrowserOptions(args=_public(shop)),
            safety=SafetyOptions(allowed_private_hosts=(f"127.0.0.1:{shop.port}",)),
        )
        outcome = run(shop.url, tmp_path, options)
    finally:
        shop.close()
    assert isinstance(outcome, CaptureRecord)
    assert intranet.paths == []  # the navigation was failed before it was sent
    assert outcome.page.final_url == shop.url and outcome.page.title == "shop"
    assert "private-network-blocked" in outcome.flags
    (warning,) = [w for w in outcome.warnings if "navigation(s)" in w]
    assert intranet.url + "admin" in warning
    assert not any("request(s) failed" in w for w in outcome.warnings)


def test_a_redirect_into_the_intranet_is_refused_before_sending(
    intranet: _Server, tmp_path: Path
) -> None:
    shop = _Server(lambda path: "<p>never shown</p>", redirects={"/go": intranet.url + "admin"})
    try:
        options = replace(
            FAST, safety=SafetyOptions(allowed_private_hosts=(f"127.0.0.1:{shop.port}",))
        )
        outcome = run(shop.url + "go", tmp_path, options)
    finally:
        shop.close()
    message = error(outcome, InvalidURLError)
    assert message.startswith(f"refusing to capture {shop.url}go: ")
    assert "private or loopback address 127.0.0.1" in message
    assert shop.paths == ["/go"] and intranet.paths == []
    assert not any(tmp_path.iterdir())  # no half capture left behind


def test_an_allowed_private_host_allows_only_itself(intranet: _Server, tmp_path: Path) -> None:
    allowed = (f"127.0.0.1:{intranet.port}",)
    only_allowed = replace(FAST, safety=SafetyOptions(allowed_private_hosts=allowed))
    record = run(intranet.url + "page", tmp_path / "ok", only_allowed)
    assert isinstance(record, CaptureRecord) and record.page.http_status == 200
    other = _Server()
    try:
        message = error(
            run(other.url, tmp_path / "no", only_allowed),
            InvalidURLError,
        )  # fmt: skip
    finally:
        other.close()
    assert "private or loopback address 127.0.0.1" in message and other.paths == []


def test_idn_host_is_sent_as_punycode(tmp_path: Path) -> None:
    # .invalid never resolves (RFC 6761): the browser's DNS error names the punycode host.
    message = error(run("http://例子.invalid/商品", tmp_path), CaptureError)
    assert "xn--fsqu00a.invalid" in message
    assert "could not be resolved" in message


# --- no page arrives ------------------------------------------------------------------


def test_connection_refused(tmp_path: Path) -> None:
    message = error(run(f"http://127.0.0.1:{closed_port()}/", tmp_path), CaptureError)
    assert "connection refused" in message


def test_unreachable_host(tmp_path: Path) -> None:
    message = error(run("http://no-such-host.invalid/", tmp_path), CaptureError)
    assert "could not be resolved" in message


def test_redirect_loop(site: HostileSite, tmp_path: Path) -> None:
    message = error(run(site.url_for("/redirect-loop"), tmp_path), CaptureError)
    assert "too many redirects" in message


def test_server_that_never_answers(site: HostileSite, tmp_path: Path) -> None:
    message = error(run(site.url_for("/no-answer"), tmp_path), CaptureError)
    assert "timed out" in message


@pytest.mark.slow
def test_tls_error_is_recorded_or_refused(tmp_path: Path) -> None:
    from tests.sites.tls import HttpsDemoSite, make_pki

    with HttpsDemoSite(make_pki(tmp_path / "pki")) as https:
        outcome = run(https.url_for("/index.html"), tmp_path / "w")
    if isinstance(outcome, CaptureRecord):
        assert any("certificate" in w.lower() for w in outcome.warnings)
    else:
        assert "certificate" in error(outcome, CaptureError).lower()


# --- pages that misbehave while loading ------------------------------------------


def test_page_that_never_finishes_loading_is_flagged(site: HostileSite, tmp_path: Path) -> None:
    record = flagged(run(site.url_for("/never-loads"), tmp_path))
    assert "unsettled" in record.flags
    assert roles(record, "screenshot")


def test_slow_loris_body(site: HostileSite, tmp_path: Path) -> None:
    outcome = run(site.url_for("/slowloris"), tmp_path)
    if isinstance(outcome, CaptureRecord):
        assert "unsettled" in flagged(outcome).flags
    else:
        assert "timed out" in error(outcome, CaptureError)


def test_endless_scroll_is_bounded_and_flagged(site: HostileSite, tmp_path: Path) -> None:
    record = flagged(run(site.url_for("/endless"), tmp_path))
    assert any("stopped scrolling after 5 screens" in w for w in record.warnings)


@pytest.mark.slow
def test_100_mb_response_is_truncated_and_marked(site: HostileSite, tmp_path: Path) -> None:
    record = flagged(run(site.url_for("/huge-subresource"), tmp_path))
    assert "truncated" in record.flags
    assert any("exceeds the recording limit" in w for w in record.warnings)
    huge = [e for e in record.exchanges if e.url.endswith("/huge.bin")]
    assert huge and huge[0].body_size == 0
    assert roles(record, "warc")[0].stat().st_size < 8 * 1024 * 1024


@pytest.mark.slow
def test_30000_px_page_is_tiled_at_the_default_limit(site: HostileSite, tmp_path: Path) -> None:
    record = run(site.url_for("/bands?h=30000"), tmp_path)
    assert isinstance(record, CaptureRecord)
    assert [t.y for t in record.screenshots.tiles] == [0, 16_384]
    assert record.screenshots.stitched
    with Image.open(roles(record, "screenshot")[0]) as image:
        assert image.size == (1280, 30_000)


@pytest.mark.slow
def test_image_decompression_bomb(site: HostileSite, tmp_path: Path) -> None:
    outcome = run(site.url_for("/bomb"), tmp_path)
    if isinstance(outcome, CaptureRecord):
        assert outcome.page.http_status == 200 and roles(outcome, "screenshot")
    else:
        error(outcome, CaptureError)


# --- downloads, dialogs, pop-ups, self-closing --------------------------------------


def test_download_link_is_saved_as_an_artifact(site: HostileSite, tmp_path: Path) -> None:
    record = flagged(run(site.url_for("/download-link"), tmp_path))
    (saved,) = roles(record, "download")
    assert saved.name == "download-01-evidence-file.bin"
    assert saved.stat().st_size == DOWNLOAD_BYTES
    assert record.interaction.downloads == (saved.name,) and "download" in record.flags


def test_url_that_is_a_download(site: HostileSite, tmp_path: Path) -> None:
    record = flagged(run(site.url_for("/download"), tmp_path))
    assert any("is a download, not a page" in w for w in record.warnings)
    (saved,) = roles(record, "download")
    assert saved.stat().st_size == DOWNLOAD_BYTES


@pytest.mark.slow
def test_download_over_the_size_limit_is_not_kept(site: HostileSite, tmp_path: Path) -> None:
    record = flagged(run(site.url_for("/huge-download"), tmp_path))
    assert not roles(record, "download")
    assert any(
        "download" in w and ("limit" in w or "did not complete" in w) for w in record.warnings
    )


def test_alert_loop_is_dismissed_and_capped(site: HostileSite, tmp_path: Path) -> None:
    record = flagged(run(site.url_for("/alert-loop"), tmp_path))
    assert len(record.interaction.dialogs) == 5
    assert record.interaction.dialogs[0] == "alert: 提示 0"
    assert any("opened 62 dialog(s)" in w and "only the first 5" in w for w in record.warnings)


def test_endless_alerts_still_end(site: HostileSite, tmp_path: Path) -> None:
    shorter = replace(FAST, limits=replace(FAST.limits, total_timeout_s=20.0))
    outcome = run(site.url_for("/alert-forever"), tmp_path, shorter)
    if isinstance(outcome, CaptureRecord):
        assert "dialogs" in flagged(outcome).flags
    else:
        error(outcome, CaptureError)


def test_popup_is_recorded_and_closed(site: HostileSite, tmp_path: Path) -> None:
    record = flagged(run(site.url_for("/popup"), tmp_path))
    assert record.interaction.popups and record.interaction.popups[0].endswith("/ok?popup=1")
    assert "popups" in record.flags


def test_page_that_closes_itself(site: HostileSite, tmp_path: Path) -> None:
    outcome = run(site.url_for("/closes-itself"), tmp_path)
    if isinstance(outcome, CaptureError):
        assert "closed its own window" in outcome.message
        assert not any(tmp_path.iterdir())
    else:
        assert isinstance(outcome, CaptureRecord) and roles(outcome, "screenshot")


# --- error and challenge pages are recorded as what they are ------------------------


@pytest.mark.parametrize("code", [404, 500])
def test_http_error_pages_are_captured_and_flagged(
    site: HostileSite, tmp_path: Path, code: int
) -> None:
    record = flagged(run(site.url_for(f"/status?code={code}"), tmp_path))
    assert record.page.http_status == code
    assert "http-error" in record.flags and "bot-challenge" not in record.flags
    assert any(f"HTTP {code}" in w for w in record.warnings)


def test_bot_challenge_is_flagged(site: HostileSite, tmp_path: Path) -> None:
    record = flagged(run(site.url_for("/challenge"), tmp_path))
    assert record.page.http_status == 403
    assert "bot-challenge" in record.flags
    assert any("bot challenge" in w for w in record.warnings)


# --- hard bounds and earlier captures -------------------------------------------------


def test_total_timeout_kills_the_browser(site: HostileSite, tmp_path: Path) -> None:
    started = time.monotonic()
    limits = replace(
        FAST.limits, total_timeout_s=3.0, settle_timeout_s=20.0, navigation_timeout_s=20.0
    )
    outcome = run(site.url_for("/never-loads"), tmp_path, replace(FAST, limits=limits))
    message = error(outcome, CaptureError)
    assert "total timeout of 3 s" in message
    assert time.monotonic() - started < 15
    assert not any(tmp_path.iterdir()), "a failed capture leaves no evidence-looking files"


@pytest.mark.slow
def test_failing_captures_never_lose_an_earlier_item(site: HostileSite, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(settings) as kit:
        kit.create_case("H-1", "hostile")
        first = capture_as_officer(kit, "H-1", site.url_for("/ok"), FAST)
        with pytest.raises(CaptureError):
            capture_as_officer(kit, "H-1", site.url_for("/redirect-loop"), FAST)
        with pytest.raises(InvalidURLError):
            capture_as_officer(kit, "H-1", "file:///etc/passwd", FAST)
        again = kit.get_item(first.id)
        assert again.status is ItemStatus.SEALED
        assert again.manifest_sha256 == first.manifest_sha256
        statuses = sorted(i.status for i in kit.list_items("H-1"))
        assert statuses == sorted([ItemStatus.SEALED, ItemStatus.FAILED])


def test_toolkit_refuses_private_targets_when_not_allowed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(
        home=home,
        database_url=f"sqlite:///{home / 'evidence.db'}",
        allow_private_targets=False,
    )
    with Toolkit(settings) as kit:
        kit.create_case("H-2", "private")
        with pytest.raises(InvalidURLError, match="private or loopback"):
            capture_as_officer(kit, "H-2", "http://192.168.1.1/admin")
        assert kit.list_items("H-2") == []
