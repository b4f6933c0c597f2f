"""End-to-end tests of ``capture`` against real Chromium and the bundled demo site.

One capture per page is shared by many assertions (module-scoped fixtures), so
the file stays fast while still driving the real browser.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from capture import capture_page, validate_url
from evidence.model.capture_options import (
    CaptureOptions,
    LimitOptions,
    ProvenanceOptions,
    SafetyOptions,
)
from evidence.model.capture_record import CaptureRecord
from evidence.model.errors import CaptureError, InvalidURLError
from evidence.services.demo_site import DemoSite
from tests.warc_reading import WarcRecord, read_warc

SITE = DemoSite.root
LAZY_IMAGE_COLOUR = (0, 128, 128)
"""The teal background of ``img/detail-lazy.jpg``, the below-the-fold lazy image."""
CLOCK_START = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass(frozen=True)
class Captured:
    record: CaptureRecord
    workdir: Path
    site_url: str
    warc: list[WarcRecord]
    record_ids: list[str]

    def file(self, role: str) -> Path:
        return next(f.path for f in self.record.files if f.role == role)

    def responses(self, path: str) -> list[WarcRecord]:
        url = self.site_url + path.lstrip("/")
        return [
            r for r in self.warc if r.rec_type == "response" and r.header("WARC-Target-URI") == url
        ]


def _stepping_clock() -> Callable[[], datetime]:
    ticks = iter(range(1_000_000))
    return lambda: CLOCK_START + timedelta(milliseconds=next(ticks))


def _counting_ids(issued: list[str]) -> Callable[[], str]:
    def make() -> str:
        value = str(uuid.UUID(int=len(issued) + 1))
        issued.append(value)
        return value

    return make


def _capture(site: DemoSite, path: str, workdir: Path, settle_timeout_s: float = 5.0) -> Captured:
    issued: list[str] = []
    options = CaptureOptions(
        provenance=ProvenanceOptions(operator="测试执法员 001", software_version="test"),
        limits=LimitOptions(settle_timeout_s=settle_timeout_s),
        safety=SafetyOptions(allow_private_targets=True),
    )
    record = capture_page(
        site.url_for(path),
        workdir,
        options,
        clock=_stepping_clock(),
        id_factory=_counting_ids(issued),
    )
    warc = read_warc(workdir / "capture.warc")
    return Captured(record, workdir, site.url, warc, issued)


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(scope="module")
def listing(site: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> Captured:
    """The listing page, reached through the ``/old-listing`` redirect."""
    return _capture(site, "/old-listing", tmp_path_factory.mktemp("listing"))


@pytest.fixture(scope="module")
def gbk(site: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> Captured:
    return _capture(site, "/gbk.html", tmp_path_factory.mktemp("gbk"))


# --- the record --------------------------------------------------------------


@pytest.mark.slow
def test_redirect_is_followed_and_recorded(listing: Captured) -> None:
    record = listing.record
    assert record.page.requested_url == listing.site_url + "old-listing"
    assert record.page.final_url == listing.site_url + "index.html"
    assert record.page.redirect_chain == (record.page.requested_url, record.page.final_url)
    assert record.page.http_status == 200
    assert record.page.server_ip == "127.0.0.1"
    assert [e.status for e in record.exchanges[:2]] == [302, 200]


@pytest.mark.slow
def test_record_describes_the_capture(listing: Captured) -> None:
    record = listing.record
    assert record.page.title == "某品牌运动鞋 限时特价 ¥199 - 鑫达体育用品专营店"
    assert record.provenance.user_agent == CaptureOptions().rendering.user_agent
    assert record.provenance.browser_version.split(".")[0].isdigit()
    assert record.rendering.viewport == (1280, 800)
    assert CLOCK_START <= record.page.started_at < record.page.finished_at
    assert record.warnings == ()
    files = {f.role: (f.name, f.media_type, f.path) for f in record.files}
    assert {role: files[role] for role in ("screenshot", "warc", "dom")} == {
        "screenshot": ("screenshot.png", "image/png", listing.workdir / "screenshot.png"),
        "warc": ("capture.warc", "application/warc", listing.workdir / "capture.warc"),
        "dom": ("dom.html", "text/html; charset=utf-8", listing.workdir / "dom.html"),
    }
    assert files["viewport-screenshot"][0] == "viewport.png"
    assert all(path.is_file() and path.stat().st_size > 0 for _, _, path in files.values())
    # Every file in the working directory is an artifact of the record: nothing stray.
    assert sorted(p.name for p in listing.workdir.iterdir()) == sorted(
        f.name for f in record.files
    )


@pytest.mark.slow
def test_exchanges_summarise_every_response(listing: Captured) -> None:
    by_url = {e.url: e for e in listing.record.exchanges}
    lazy = by_url[listing.site_url + "img/detail-lazy.jpg"]
    assert (lazy.status, lazy.mime_type) == (200, "image/jpeg")
    assert lazy.body_size == (SITE / "img/detail-lazy.jpg").stat().st_size
    assert all(e.server_ip == "127.0.0.1" and e.method == "GET" for e in by_url.values())
    responses = [r for r in listing.warc if r.rec_type == "response"]
    assert len(responses) == len(listing.record.exchanges)


# --- the WARC ----------------------------------------------------------------


@pytest.mark.slow
def test_warcio_check_passes(listing: Captured) -> None:
    warcio = Path(sys.executable).with_name("warcio")
    result = subprocess.run(
        [str(warcio), "check", "-v", str(listing.file("warc"))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("digest pass") == len(listing.warc)


@pytest.mark.slow
def test_warc_starts_with_warcinfo(listing: Captured) -> None:
    info = listing.warc[0]
    assert info.rec_type == "warcinfo"
    assert sum(r.rec_type == "warcinfo" for r in listing.warc) == 1
    fields = dict(line.split(": ", 1) for line in info.payload.decode("utf-8").splitlines() if line)
    assert fields["software"] == "evidence-toolkit/test"
    assert fields["format"] == "WARC File Format 1.1"
    assert fields["operator"] == "测试执法员 001"
    assert fields["http-header-user-agent"] == CaptureOptions().rendering.user_agent
    assert fields["browser"] == f"Chromium {listing.record.provenance.browser_version}"
    assert fields["hostname"] == socket.gethostname()
    assert "content-decoded" in fields["description"]


@pytest.mark.slow
def test_every_record_has_sha256_digests_that_match(listing: Captured) -> None:
    for record in listing.warc:
        block = record.header("WARC-Block-Digest")
        assert block is not None and block.startswith("sha256:")
        if record.rec_type in ("response", "resource"):
            digest = record.header("WARC-Payload-Digest")
            assert digest is not None and digest.startswith("sha256:")
            expected = base64.b32encode(hashlib.sha256(record.payload).digest()).decode()
            assert digest == "sha256:" + expected


@pytest.mark.slow
def test_records_use_injected_ids_and_dates(listing: Captured) -> None:
    ids = [r.header("WARC-Record-ID") for r in listing.warc]
    assert len(set(ids)) == len(ids)
    issued = {f"<urn:uuid:{value}>" for value in listing.record_ids}
    assert set(ids) <= issued
    for record in listing.warc:
        date = record.header("WARC-Date")
        assert date is not None and date.startswith("2030-01-02T03:04:"), date
        assert record.headers["warc-date"] == [date]


@pytest.mark.slow
def test_requests_are_linked_to_their_responses(listing: Captured) -> None:
    responses = {r.header("WARC-Record-ID"): r for r in listing.warc if r.rec_type == "response"}
    requests = [r for r in listing.warc if r.rec_type == "request"]
    assert len(requests) == len(responses)
    linked = set()
    for request in requests:
        target = request.header("WARC-Concurrent-To")
        assert target in responses
        response = responses[target]
        assert request.header("WARC-Target-URI") == response.header("WARC-Target-URI")
        assert request.header("WARC-Date") == response.header("WARC-Date")
        linked.add(target)
    assert linked == set(responses)


@pytest.mark.slow
def test_redirect_response_is_in_the_warc(listing: Captured) -> None:
    (redirect,) = listing.responses("/old-listing")
    assert redirect.http_status == "302"
    assert redirect.http_header("Location") == "/index.html"
    assert redirect.http_header("Content-Length") == "0"
    assert redirect.http_header("X-Archive-Orig-Content-Length") == "31"
    assert redirect.header("WARC-IP-Address") == "127.0.0.1"
    assert redirect.payload == b""


@pytest.mark.slow
def test_payloads_equal_the_served_files(listing: Captured) -> None:
    served = {
        "/index.html": "index.html",
        "/style.css": "style.css",
        "/img/banner.jpg": "img/banner.jpg",
        "/img/shoe-1.png": "img/shoe-1.png",
        "/img/certificate.png": "img/certificate.png",
        "/img/detail-lazy.jpg": "img/detail-lazy.jpg",
    }
    for path, name in served.items():
        (response,) = listing.responses(path)
        assert response.http_status == "200"
        assert response.payload == (SITE / name).read_bytes(), path
        assert response.http_header("Content-Length") == str(len(response.payload))
        assert response.header("WARC-IP-Address") == "127.0.0.1"
        assert response.headers["warc-protocol"] == ["http/1.1"]


@pytest.mark.slow
def test_decoded_payload_keeps_original_encoding_headers(listing: Captured) -> None:
    (css,) = listing.responses("/style.css")
    names = [name.lower() for name, _ in css.http_headers]
    assert "content-encoding" not in names
    assert "transfer-encoding" not in names
    assert css.http_header("X-Archive-Orig-Content-Encoding") == "gzip"
    assert css.http_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert css.http_header("Content-Length") == str((SITE / "style.css").stat().st_size)


@pytest.mark.slow
def test_screenshot_and_dom_are_resource_records(listing: Captured) -> None:
    resources = {r.header("WARC-Target-URI"): r for r in listing.warc if r.rec_type == "resource"}
    final = listing.record.page.final_url
    shot = resources[f"urn:evidence:screenshot:{final}"]
    dom = resources[f"urn:evidence:dom:{final}"]
    viewport = resources[f"urn:evidence:viewport-screenshot:{final}"]
    assert viewport.payload == listing.file("viewport-screenshot").read_bytes()
    assert shot.header("Content-Type") == "image/png"
    assert shot.payload == listing.file("screenshot").read_bytes()
    assert dom.header("Content-Type") == "text/html; charset=utf-8"
    assert dom.payload == listing.file("dom").read_bytes()


# --- GBK ---------------------------------------------------------------------


@pytest.mark.slow
def test_gbk_page_is_archived_byte_for_byte(gbk: Captured) -> None:
    (response,) = gbk.responses("/gbk.html")
    original = (SITE / "gbk.html").read_bytes()
    assert response.payload == original
    assert response.http_header("Content-Type") == "text/html; charset=gbk"
    assert gbk.record.page.title == "鑫达体育用品专营店 店铺公告（GBK 编码页面）"


@pytest.mark.slow
def test_gbk_page_dom_is_saved_as_utf8(gbk: Captured) -> None:
    dom = gbk.file("dom").read_bytes()
    assert dom.startswith(b"\xef\xbb\xbf")
    text = dom.decode("utf-8-sig")
    assert "繁體字與生僻字測試：鑫、犇、淼、龘、〇。" in text


# --- screenshot and DOM ------------------------------------------------------


@pytest.mark.slow
def test_screenshot_is_a_full_page_png(listing: Captured) -> None:
    path = listing.file("screenshot")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width == 1280
        assert image.height > 800 * 3


@pytest.mark.slow
def test_lazy_image_is_in_the_screenshot(listing: Captured) -> None:
    with Image.open(listing.file("screenshot")) as image:
        lower = image.convert("RGB").crop((0, image.height // 2, image.width, image.height))
        # Sampling every 4th pixel keeps this quick on a ~6,000 px tall page.
        pixels = lower.resize((lower.width // 4, lower.height // 4), Image.Resampling.NEAREST)
        data = pixels.tobytes()
        teal = sum(
            1
            for i in range(0, len(data), 3)
            if abs(data[i] - LAZY_IMAGE_COLOUR[0]) <= 16
            and abs(data[i + 1] - LAZY_IMAGE_COLOUR[1]) <= 16
            and abs(data[i + 2] - LAZY_IMAGE_COLOUR[2]) <= 16
        )
    # The 800x400 image is mostly teal: well over half its area when loaded,
    # none at all when the lazy image was left blank.
    assert teal * 16 > 800 * 400 // 2, teal
    assert not any("image" in warning for warning in listing.record.warnings)


@pytest.mark.slow
def test_dom_is_the_rendered_page(listing: Captured) -> None:
    text = listing.file("dom").read_text(encoding="utf-8-sig")
    assert "<title>某品牌运动鞋 限时特价 ¥199 - 鑫达体育用品专营店</title>" in text
    assert "鑫达体育用品专营店" in text
    assert "正品保证，假一赔十" in text
    assert 'id="lazy-detail"' in text


# --- other pages and failures -----------------------------------------------


@pytest.mark.slow
def test_http_error_pages_are_still_captured(site: DemoSite, tmp_path: Path) -> None:
    captured = _capture(site, "/no-such-page", tmp_path)
    assert captured.record.page.http_status == 404
    assert captured.record.page.final_url == site.url_for("/no-such-page")
    (response,) = captured.responses("/no-such-page")
    assert response.http_status == "404"
    assert "404 页面不存在" in captured.file("dom").read_text(encoding="utf-8-sig")


@pytest.mark.slow
def test_unsettled_page_is_captured_with_a_warning(site: DemoSite, tmp_path: Path) -> None:
    captured = _capture(site, "/slow", tmp_path, settle_timeout_s=0.5)
    warnings = captured.record.warnings
    assert any("did not settle within 0.5 s" in w and "slow-image.png" in w for w in warnings)
    assert all("\n" not in w for w in warnings)
    (image,) = captured.responses("/slow-image.png")
    assert image.header("WARC-Truncated") == "time"
    assert captured.file("screenshot").is_file()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.slow
@pytest.mark.parametrize(
    ("url", "reasons"),
    [
        ("http://127.0.0.1:1/", ("net::ERR_UNSAFE_PORT",)),
        (f"http://127.0.0.1:{_closed_port()}/", ("connection refused",)),
        # A resolver that does not answer for .invalid turns this into a timeout.
        ("http://host.invalid/", ("could not be resolved", "timed out")),
    ],
)
def test_unreachable_pages_raise_one_line_capture_error(
    url: str, reasons: tuple[str, ...], tmp_path: Path
) -> None:
    with pytest.raises(CaptureError) as caught:
        capture_page(
            url,
            tmp_path,
            CaptureOptions(
                safety=SafetyOptions(allow_private_targets=True),
                limits=LimitOptions(navigation_timeout_s=10),
            ),
        )
    message = caught.value.message
    assert "\n" not in message
    assert url in message
    assert any(reason in message for reason in reasons), message
    assert "Traceback" not in message and "Call log" not in message
    assert list(tmp_path.iterdir()) == []


# --- URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x",
        "not a url",
        "http://",
        "",
        "javascript:alert(1)",
        "http://a b/",
        "http://x:99999/",
    ],
)
def test_validate_url_rejects(url: str) -> None:
    with pytest.raises(InvalidURLError) as caught:
        validate_url(url)
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("HTTP://Example.COM", "http://example.com/"),
        ("https://example.com:443/a?b=1#c", "https://example.com/a?b=1#c"),
        ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
        (
            "  http://例子.测试/商品?id=1  ",
            "http://xn--fsqu00a.xn--0zwm56d/%E5%95%86%E5%93%81?id=1",
        ),
        ("http://[::1]:8080", "http://[::1]:8080/"),
    ],
)
def test_validate_url_normalises(url: str, normalised: str) -> None:
    assert validate_url(url) == normalised


def test_invalid_url_is_rejected_before_the_browser_starts(tmp_path: Path) -> None:
    with pytest.raises(InvalidURLError):
        capture_page("ftp://example.com/", tmp_path / "out", CaptureOptions())
    assert not (tmp_path / "out").exists()
