"""The capture record's manifest form is fixed: sealed bundles must keep verifying.

The fixtures in ``tests/fixtures/capture_records`` were written by the toolkit
while the record was still one flat class; the grouped record must give the
same bytes, and reading them back must give the same record.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from evidence.model.capture_options import StepAction
from evidence.model.capture_record import (
    CapturedFile,
    CapturedPage,
    CaptureFlag,
    CaptureRecord,
    EnvironmentCheck,
    EnvironmentStatus,
    EnvironmentSummary,
    HostRecord,
    HttpExchange,
    Interaction,
    PageRendering,
    Provenance,
    ScreenshotLayout,
    ScreenshotTile,
    StepResult,
    TlsOrigin,
)
from evidence.model.manifest import canonical_json, capture_from_json, capture_to_json

FIXTURES = Path(__file__).parent / "fixtures" / "capture_records"
T0 = datetime(2026, 11, 26, 18, 30, 0, 123000, tzinfo=UTC)


def full_record() -> CaptureRecord:
    """Every field set to something other than its default."""
    return CaptureRecord(
        page=CapturedPage(
            requested_url="http://shop.example.test/商品?id=1",
            final_url="https://www.shop.example.test/item/1",
            redirect_chain=(
                "http://shop.example.test/商品?id=1",
                "https://www.shop.example.test/item/1",
            ),
            title="限时特价 & <更多>",
            http_status=200,
            server_ip="203.0.113.7",
            started_at=T0,
            finished_at=T0 + timedelta(seconds=3, milliseconds=417),
        ),
        rendering=PageRendering(
            viewport=(390, 844),
            device="iphone-13",
            device_scale_factor=3,
            is_mobile=True,
            locale="en-US",
            timezone_id="Europe/Berlin",
        ),
        provenance=Provenance(
            user_agent="Mozilla/5.0 test agent",
            browser_version="Chromium 156.0.7435.2",
            capture_host="evidence-ws-01",
            outbound_ip="198.51.100.23",
            hosts=(
                HostRecord("www.shop.example.test", "www.shop.example.test", ("203.0.113.7",)),
                HostRecord(
                    "xn--fiqs8s.example.test", "中国.example.test", ("203.0.113.9", "2001:db8::9")
                ),
                HostRecord("gone.example.test", "gone.example.test", (), "NXDOMAIN"),
            ),
            tls=(
                TlsOrigin(
                    "https://www.shop.example.test",
                    "TLS 1.3",
                    "AES_128_GCM",
                    "CN=www.shop.example.test",
                    "CN=Example CA",
                    datetime(2026, 1, 1, tzinfo=UTC),
                    datetime(2027, 1, 31, 23, 59, 59, tzinfo=UTC),
                    ("www.shop.example.test",),
                    ("cd" * 32, "ef" * 32),
                    None,
                ),
                TlsOrigin(
                    "https://bad.example.test:8443",
                    "TLS 1.2",
                    "CHACHA20",
                    "CN=bad",
                    "CN=bad",
                    None,
                    None,
                    (),
                    (),
                    "self-signed certificate",
                ),
            ),
        ),
        files=(
            CapturedFile(
                Path("/tmp/x/screenshot.png"), "screenshot.png", "screenshot", "image/png"
            ),
        ),
        exchanges=(
            HttpExchange(
                "https://www.shop.example.test/item/1", "GET", 200, "203.0.113.7", "text/html", 5120
            ),
            HttpExchange(
                "https://cdn.example.test/a.js", "GET", 304, None, "application/javascript", 0
            ),
        ),
        warnings=("页面未静止", "second warning"),
        flags=(CaptureFlag.HTTP_ERROR, CaptureFlag.UNSETTLED, CaptureFlag.DIALOGS),
        screenshots=ScreenshotLayout(
            page_height=40000,
            tiles=(
                ScreenshotTile(1, "screenshot-tile-001.png", 0, 16384, 0, 49152),
                ScreenshotTile(2, "screenshot-tile-002.png", 16384, 16384, 49152, 49152),
            ),
            stitched=False,
        ),
        interaction=Interaction(
            steps=(
                StepResult(
                    1,
                    StepAction.GOTO,
                    "打开 https://www.shop.example.test/",
                    T0,
                    T0 + timedelta(seconds=1),
                    "ok",
                ),
                StepResult(
                    2,
                    StepAction.SCREENSHOT,
                    "截图 cart",
                    T0 + timedelta(seconds=1),
                    T0 + timedelta(seconds=2),
                    "failed: timeout",
                    "step-02-cart.png",
                ),
            ),
            account_label="买家账号 A",
            storage_state_sha256="ab" * 32,
            dialogs=("alert: hello",),
            popups=("https://popup.example.test/",),
            downloads=("download-1.bin",),
            video_note="ffmpeg not installed",
        ),
        environment=EnvironmentSummary(
            checks=(
                EnvironmentCheck("proxy", EnvironmentStatus.PASS, "no proxy"),
                EnvironmentCheck("clock", EnvironmentStatus.WARN, "本机时钟快 1.2 秒"),
            ),
            clock_offset_ms=-1200,
            clock_source="ntp.ntsc.ac.cn",
        ),
    )


def minimal_record() -> CaptureRecord:
    """Only what a record cannot do without: every group at its defaults."""
    return CaptureRecord(
        page=CapturedPage(
            requested_url="http://example.test/a",
            final_url="http://example.test/a",
            redirect_chain=(),
            title="",
            http_status=None,
            server_ip=None,
            started_at=T0,
            finished_at=T0,
        ),
        rendering=PageRendering(viewport=(1280, 800)),
        provenance=Provenance(user_agent="test", browser_version="none"),
        files=(),
    )


@pytest.mark.parametrize(
    ("name", "record"), [("full", full_record()), ("minimal", minimal_record())]
)
def test_manifest_form_is_byte_identical_to_the_flat_record(
    name: str, record: CaptureRecord
) -> None:
    expected = (FIXTURES / f"capture-{name}.json").read_bytes().rstrip(b"\n")
    assert canonical_json(capture_to_json(record)) == expected


@pytest.mark.parametrize(
    ("name", "record"), [("full", full_record()), ("minimal", minimal_record())]
)
def test_manifest_form_reads_back_into_the_same_record(name: str, record: CaptureRecord) -> None:
    raw = json.loads((FIXTURES / f"capture-{name}.json").read_bytes())
    back = capture_from_json(raw)
    # Local paths never reach the manifest; everything else comes back.
    assert back == CaptureRecord(
        page=record.page,
        rendering=record.rendering,
        provenance=record.provenance,
        files=(),
        exchanges=record.exchanges,
        warnings=record.warnings,
        flags=record.flags,
        screenshots=record.screenshots,
        interaction=record.interaction,
        environment=record.environment,
    )
    assert isinstance(back.flags[0] if back.flags else CaptureFlag.HTTP_ERROR, CaptureFlag)


def test_kinds_are_stored_as_their_plain_values() -> None:
    form = capture_to_json(full_record())
    assert form["flags"] == ["http-error", "unsettled", "dialogs"]
    assert all(type(flag) is str for flag in form["flags"])
    assert [type(step["action"]) for step in form["steps"]] == [str, str]
    assert [type(check["status"]) for check in form["environment"]] == [str, str]


def test_a_kind_this_toolkit_never_writes_is_refused_on_reading() -> None:
    raw = json.loads((FIXTURES / "capture-full.json").read_bytes())
    raw["flags"] = ["http-error", "made-up"]
    with pytest.raises(ValueError, match="made-up"):
        capture_from_json(raw)


def test_a_kind_this_toolkit_never_writes_is_refused_on_sealing() -> None:
    # A caller that ignores the types cannot put an unknown flag into a manifest.
    record = replace(minimal_record(), flags=(cast(CaptureFlag, "made-up"),))
    with pytest.raises(ValueError, match="made-up"):
        capture_to_json(record)
