"""Screenshots (tiles, stitching, viewport), devices, locale, video, steps and log-in state.

Real Chromium against the local hostile/test site; captures shared per module.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

import capture._visit as visit_module
from capture import capture_page, check_target, is_private_address, load_steps, shared_driver
from evidence.model.capture_options import (
    CaptureOptions,
    CaptureStep,
    InteractionOptions,
    LimitOptions,
    RenderingOptions,
    SafetyOptions,
    ScreenshotOptions,
    StepAction,
)
from evidence.model.capture_record import CaptureRecord
from evidence.model.errors import CaptureError, InvalidURLError, StepsFileError
from evidence.model.manifest import canonical_json, capture_from_json, capture_to_json
from evidence.model.records import isoformat
from tests.conftest import require_tool
from tests.helpers import ensure_officer
from tests.sites.hostile import BAND_HEIGHT, HostileSite, band_colour, closed_port

FAST = CaptureOptions(
    safety=SafetyOptions(allow_private_targets=True),
    interaction=InteractionOptions(record_video=False),
    limits=LimitOptions(settle_timeout_s=2.0, navigation_timeout_s=10.0, total_timeout_s=60.0),
)


@pytest.fixture(scope="module")
def site() -> Iterator[HostileSite]:
    with HostileSite() as running:
        yield running


def _files(record: CaptureRecord, role: str) -> list[Path]:
    return [f.path for f in record.files if f.role == role]


def _dom(record: CaptureRecord) -> str:
    return _files(record, "dom")[0].read_text(encoding="utf-8")


def _env(record: CaptureRecord) -> dict[str, object]:
    dom = _dom(record)
    start = dom.index('<pre id="env">') + len('<pre id="env">')
    text = dom[start : dom.index("</pre>", start)].replace("&quot;", '"').replace("&amp;", "&")
    value: dict[str, object] = json.loads(text)
    return value


# --- tall pages: tiles and stitching ------------------------------------------------

PAGE_HEIGHT = 3_450
TILE = 1_000


@pytest.fixture(scope="module")
def tiled(site: HostileSite, tmp_path_factory: pytest.TempPathFactory) -> CaptureRecord:
    return capture_page(
        site.url_for(f"/bands?h={PAGE_HEIGHT}"),
        tmp_path_factory.mktemp("tiled"),
        replace(FAST, screenshots=ScreenshotOptions(tile_height=TILE)),
    )


@pytest.mark.slow
def test_tall_page_is_photographed_in_numbered_tiles(tiled: CaptureRecord) -> None:
    tiles = tiled.screenshots.tiles
    assert tiled.screenshots.page_height == PAGE_HEIGHT
    assert [t.name for t in tiles] == [f"screenshot-tile-{n:03d}.png" for n in (1, 2, 3, 4)]
    assert [(t.y, t.height) for t in tiles] == [(0, 1000), (1000, 1000), (2000, 1000), (3000, 450)]
    assert [t.pixel_y for t in tiles] == [0, 1000, 2000, 3000]
    assert [p.name for p in _files(tiled, "screenshot-tile")] == [t.name for t in tiles]
    for path, tile in zip(_files(tiled, "screenshot-tile"), tiles, strict=True):
        with Image.open(path) as image:
            assert image.size == (1280, tile.pixel_height)
    assert tiled.screenshots.stitched


@pytest.mark.slow
def test_stitched_screenshot_has_every_band_and_clean_seams(tiled: CaptureRecord) -> None:
    with Image.open(_files(tiled, "screenshot")[0]) as stitched:
        image = stitched.convert("RGB")
    assert image.size == (1280, PAGE_HEIGHT)
    for band in range(-(-PAGE_HEIGHT // BAND_HEIGHT)):
        y = band * BAND_HEIGHT + BAND_HEIGHT // 2
        assert image.getpixel((640, min(y, PAGE_HEIGHT - 1))) == band_colour(band), band
    # Either side of each seam: the last row of one tile and the first of the next
    # belong to the bands the page has there (no repeated or missing rows).
    for seam in (1000, 2000, 3000):
        assert image.getpixel((10, seam - 1)) == band_colour((seam - 1) // BAND_HEIGHT)
        assert image.getpixel((10, seam)) == band_colour(seam // BAND_HEIGHT)
    # The stitched rows are the tiles' rows, pixel for pixel.
    for path, tile in zip(_files(tiled, "screenshot-tile"), tiled.screenshots.tiles, strict=True):
        with Image.open(path) as piece:
            rgb = piece.convert("RGB")
            for row in (0, tile.pixel_height - 1):
                assert rgb.getpixel((700, row)) == image.getpixel((700, tile.pixel_y + row))


@pytest.mark.slow
def test_tiles_and_viewport_are_in_the_manifest_form(tiled: CaptureRecord) -> None:
    form = capture_to_json(tiled)
    canonical_json(form)  # integers and strings only: no floats sneak in
    assert [t["y"] for t in form["screenshot_tiles"]] == [0, 1000, 2000, 3000]
    back = capture_from_json(json.loads(canonical_json(form)))
    assert back.screenshots.tiles == tiled.screenshots.tiles
    assert back.screenshots.page_height == tiled.screenshots.page_height
    assert back.rendering.locale == "zh-CN" and back.rendering.timezone_id == "Asia/Shanghai"


@pytest.mark.slow
def test_viewport_screenshot_is_what_the_window_shows(tiled: CaptureRecord) -> None:
    (viewport,) = _files(tiled, "viewport-screenshot")
    with Image.open(viewport) as image:
        assert image.size == (1280, 800)
        assert image.convert("RGB").getpixel((640, 50)) == band_colour(0)


@pytest.mark.slow
def test_too_large_to_stitch_keeps_tiles_and_says_so(site: HostileSite, tmp_path: Path) -> None:
    record = capture_page(
        site.url_for("/bands?h=2500"),
        tmp_path,
        replace(
            FAST,
            screenshots=ScreenshotOptions(tile_height=1000, max_stitch_pixels=1280 * 2000),
        ),
    )
    assert not record.screenshots.stitched
    assert len(record.screenshots.tiles) == 3
    assert any("only the first tile" in w for w in record.warnings)
    shot = _files(record, "screenshot")[0]
    assert shot.read_bytes() == _files(record, "screenshot-tile")[0].read_bytes()


# --- devices, locale, time zone --------------------------------------------------------


@pytest.mark.slow
def test_default_locale_and_time_zone_are_chinese(site: HostileSite, tmp_path: Path) -> None:
    record = capture_page(site.url_for("/env"), tmp_path, FAST)
    env = _env(record)
    assert env["language"] == "zh-CN"
    assert env["timeZone"] == "Asia/Shanghai"
    assert env["innerWidth"] == 1280
    assert record.rendering.device == "desktop" and not record.rendering.is_mobile
    assert record.rendering.viewport == (1280, 800)


@pytest.mark.slow
def test_iphone_preset_emulates_a_phone(site: HostileSite, tmp_path: Path) -> None:
    record = capture_page(
        site.url_for("/env"),
        tmp_path,
        replace(FAST, rendering=RenderingOptions(device="iphone-13")),
    )
    env = _env(record)
    assert "iPhone" in str(env["userAgent"]) and record.provenance.user_agent == env["userAgent"]
    assert env["innerWidth"] == 390 and env["devicePixelRatio"] == 3
    assert env["language"] == "zh-CN"
    assert (
        record.rendering.is_mobile
        and record.rendering.device == "iphone-13"
        and record.rendering.device_scale_factor == 3
    )
    assert record.rendering.viewport == (390, 664)
    with Image.open(_files(record, "viewport-screenshot")[0]) as image:
        assert image.size == (390 * 3, 664 * 3)


def test_unknown_device_is_one_line_error(site: HostileSite, tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="unknown device 'nokia-3310'") as info:
        capture_page(
            site.url_for("/ok"),
            tmp_path,
            replace(FAST, rendering=RenderingOptions(device="nokia-3310")),
        )
    assert "\n" not in info.value.message
    assert not any(tmp_path.iterdir())


# --- process recording --------------------------------------------------------------------


@pytest.mark.slow
def test_session_video_with_frame_times(site: HostileSite, tmp_path: Path) -> None:
    require_tool("ffmpeg")
    ffprobe = require_tool("ffprobe")
    record = capture_page(
        site.url_for("/endless"),
        tmp_path,
        replace(
            FAST,
            interaction=replace(FAST.interaction, record_video=None, max_scroll_steps=8),
        ),
    )
    (video,) = _files(record, "video")
    (frames_file,) = _files(record, "video-frames")
    assert video.name == "session.mkv" and record.interaction.video_note == ""
    listing = json.loads(frames_file.read_text(encoding="utf-8"))
    frames = listing["frames"]
    assert len(frames) >= 2
    assert [f["index"] for f in frames] == list(range(len(frames)))
    stamps = [f["timestamp"] for f in frames]
    assert stamps == sorted(stamps) and frames[0]["offset_s"] == 0
    probe = subprocess.run(
        [ffprobe, "-v", "error", "-show_entries", "stream=codec_name,width,height",
         "-of", "json", str(video)],
        capture_output=True, check=True, text=True,
    )  # fmt: skip
    stream = json.loads(probe.stdout)["streams"][0]
    assert stream["codec_name"] == "mjpeg" and stream["width"] == listing["width"] == 1280
    assert not (tmp_path / "video-frames").exists()

    # The frame times in the video are the browser's paint times (1 ms time base).
    packets = subprocess.run(
        [ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
         "-of", "csv=p=0", str(video)],
        capture_output=True, check=True, text=True,
    ).stdout.split()  # fmt: skip
    assert [round(float(p), 3) for p in packets] == [f["offset_s"] for f in frames]

    # Not re-encoded: stock ffmpeg gets back each frame the browser sent, byte for byte.
    out = tmp_path / "extracted"
    out.mkdir()
    subprocess.run(
        [require_tool("ffmpeg"), "-v", "error", "-i", str(video), "-c", "copy", "-f", "image2",
         str(out / "f%06d.jpg")],
        check=True,
    )  # fmt: skip
    extracted = sorted(out.iterdir())
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in extracted] == [
        f["sha256"] for f in frames
    ]


@pytest.mark.slow
def test_without_ffmpeg_the_record_says_why(
    site: HostileSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injection: the machine has no ffmpeg.
    monkeypatch.setattr(visit_module, "ffmpeg_path", lambda: None)
    record = capture_page(
        site.url_for("/ok"),
        tmp_path,
        replace(FAST, interaction=replace(FAST.interaction, record_video=None)),
    )
    assert not _files(record, "video")
    assert record.interaction.video_note == "ffmpeg is not installed"
    assert "no session video: ffmpeg is not installed" in record.warnings


# --- repeatable navigation (进入步骤) -------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_steps_reads_json_and_toml(tmp_path: Path) -> None:
    steps_json = _write(
        tmp_path,
        "steps.json",
        json.dumps(
            {
                "steps": [
                    {"goto": "http://127.0.0.1:1/steps/search"},
                    {"type": "#q", "text": "运动鞋"},
                    {"press": "Enter", "selector": "#q"},
                    {"click": "#go"},
                    {"wait": "#results"},
                    {"wait": 200},
                    {"scroll": "bottom"},
                    {"scroll": 400},
                    {"screenshot": "结果 results!"},
                ]
            },
            ensure_ascii=False,
        ),
    )
    steps = load_steps(steps_json)
    assert steps[1] == CaptureStep(StepAction.TYPE, target="#q", value="运动鞋")
    assert steps[2] == CaptureStep(StepAction.PRESS, target="#q", value="Enter")
    assert steps[5] == CaptureStep(StepAction.WAIT, amount=200)
    assert steps[6] == CaptureStep(StepAction.SCROLL, amount=0)
    assert steps[8] == CaptureStep(StepAction.SCREENSHOT, target="results")
    steps_toml = _write(
        tmp_path, "steps.toml", '[[steps]]\nclick = "#go"\n\n[[steps]]\nwait = 100\n'
    )
    assert load_steps(steps_toml) == (
        CaptureStep(StepAction.CLICK, "#go"),
        CaptureStep(StepAction.WAIT, amount=100),
    )


@pytest.mark.parametrize(
    ("name", "text", "complaint"),
    [
        ("a.json", "{not json", "is malformed"),
        ("b.json", "[]", "has no steps"),
        ("c.json", '{"steps": 3}', "expected a list"),
        ("d.json", '[{"click": "#a", "wait": 1}]', "exactly one action"),
        ("e.json", '[{"fly": "#a"}]', "exactly one action"),
        ("f.json", '[{"type": "#q"}]', "needs a 'text' string"),
        ("g.json", '[{"wait": -5}]', "whole number"),
        ("h.json", '[{"goto": "javascript:alert(1)"}]', "step 1: not an absolute URL"),
        (
            "h2.json",
            '[{"wait": 1}, {"goto": "ftp://x.example/"}]',
            "step 2: unsupported URL scheme",
        ),
        ("i.json", '[{"click": "#a", "colour": "red"}]', "unknown key"),
        ("j.toml", "steps = [", "is malformed"),
        ("k.json", '["click"]', "is not an object"),
    ],
)
def test_malformed_steps_files_are_one_line_errors(
    tmp_path: Path, name: str, text: str, complaint: str
) -> None:
    with pytest.raises(StepsFileError, match=complaint) as info:
        load_steps(_write(tmp_path, name, text))
    assert "\n" not in info.value.message


def test_missing_steps_file_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(StepsFileError, match="cannot read steps file"):
        load_steps(tmp_path / "absent.json")


@pytest.mark.slow
def test_steps_are_run_and_recorded(site: HostileSite, tmp_path: Path) -> None:
    steps = (
        CaptureStep(StepAction.TYPE, target="#q", value="运动鞋"),
        CaptureStep(StepAction.CLICK, target="#go"),
        CaptureStep(StepAction.WAIT, target="#results"),
        CaptureStep(StepAction.SCREENSHOT, target="results"),
        CaptureStep(StepAction.GOTO, target=site.url_for("/ok")),
    )
    record = capture_page(
        site.url_for("/steps/search"),
        tmp_path / "work",
        replace(FAST, interaction=replace(FAST.interaction, steps=steps)),
    )
    assert [s.outcome for s in record.interaction.steps] == ["ok"] * 5
    assert [s.index for s in record.interaction.steps] == [1, 2, 3, 4, 5]
    assert record.interaction.steps[0].description == "type '运动鞋' into #q"
    assert all(s.started_at <= s.finished_at for s in record.interaction.steps)
    # The named screenshot, and a shot after every step that changes the page.
    shots = [p.name for p in _files(record, "step-screenshot")]
    assert shots == [
        "step-01-after.png", "step-02-after.png", "step-04-results.png", "step-05-after.png"
    ]  # fmt: skip
    assert [s.artifact for s in record.interaction.steps] == [
        "step-01-after.png", "step-02-after.png", "", "step-04-results.png", "step-05-after.png"
    ]  # fmt: skip
    assert record.page.final_url == site.url_for("/ok")
    form = capture_to_json(record)
    assert [s["outcome"] for s in form["steps"]] == ["ok"] * 5
    back = capture_from_json(json.loads(canonical_json(form))).interaction.steps
    assert [(s.index, s.action, s.outcome, isoformat(s.started_at)) for s in back] == [
        (s.index, s.action, s.outcome, isoformat(s.started_at)) for s in record.interaction.steps
    ]


@pytest.mark.slow
def test_failed_step_is_recorded_and_the_rest_skipped(site: HostileSite, tmp_path: Path) -> None:
    steps = (
        CaptureStep(StepAction.CLICK, target="#does-not-exist"),
        CaptureStep(StepAction.CLICK, target="#go"),
    )
    record = capture_page(
        site.url_for("/steps/search"),
        tmp_path,
        replace(FAST, interaction=replace(FAST.interaction, steps=steps, step_timeout_s=1.0)),
    )
    assert record.interaction.steps[0].outcome.startswith("failed: timed out")
    assert record.interaction.steps[1].outcome == "skipped"
    assert any("navigation step 1 (click #does-not-exist) failed" in w for w in record.warnings)
    assert _files(record, "screenshot")


@pytest.mark.slow
def test_storage_state_logs_in_and_the_account_is_recorded(
    site: HostileSite, tmp_path: Path
) -> None:
    state = _write(
        tmp_path,
        "state.json",
        json.dumps(
            {
                "cookies": [
                    {
                        "name": "session",
                        "value": "officer-test",
                        "domain": "127.0.0.1",
                        "path": "/",
                        "expires": -1,
                        "httpOnly": False,
                        "secure": False,
                        "sameSite": "Lax",
                    }
                ],
                "origins": [],
            }
        ),
    )
    record = capture_page(
        site.url_for("/account"),
        tmp_path / "work",
        replace(
            FAST,
            interaction=replace(
                FAST.interaction, storage_state_path=state, account_label="测试账号 A"
            ),
        ),
    )
    assert record.page.http_status == 200
    assert "欢迎, 测试账户" in _dom(record)
    assert record.interaction.account_label == "测试账号 A"
    assert len(record.interaction.storage_state_sha256) == 64
    assert capture_to_json(record)["account"]["label"] == "测试账号 A"


@pytest.mark.parametrize(
    ("text", "complaint"), [("{", "is not JSON"), ('{"cookies": 5}', "not a Playwright")]
)
def test_bad_storage_state_is_one_line_error(
    site: HostileSite, tmp_path: Path, text: str, complaint: str
) -> None:
    state = _write(tmp_path, "state.json", text)
    with pytest.raises(CaptureError, match=complaint):
        capture_page(
            site.url_for("/ok"),
            tmp_path / "w",
            replace(FAST, interaction=replace(FAST.interaction, storage_state_path=state)),
        )


# --- private targets ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
     "169.254.169.254", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1"],
)  # fmt: skip
def test_private_addresses_are_recognised(address: str) -> None:
    assert is_private_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "172.32.0.1", "8.8.8.8", "2001:db8::1"])
def test_public_addresses_are_not_private(address: str) -> None:
    assert not is_private_address(address)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/", "http://localhost/", "http://[::1]/", "http://10.0.0.1/admin",
     "http://169.254.169.254/latest/meta-data/"],
)  # fmt: skip
def test_private_targets_are_refused_by_default(url: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidURLError, match="private or loopback") as info:
        capture_page(url, tmp_path, CaptureOptions())
    assert "\n" not in info.value.message
    assert not any(tmp_path.iterdir())


def test_private_targets_allowed_explicitly() -> None:
    check_target("http://127.0.0.1:8080/", allow_private=True)
    check_target("http://93.184.216.34/", allow_private=False)


# --- batch capture ------------------------------------------------------------------------


@pytest.mark.slow
def test_capture_many_is_resumable(site: HostileSite, tmp_path: Path) -> None:
    from evidence.model.config import Settings
    from evidence.model.tables import ItemStatus
    from evidence.services.results import BatchCaptureResult
    from evidence.services.toolkit import Toolkit

    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    urls = [site.url_for("/ok"), "file:///etc/passwd", site.url_for("/env")]
    state = tmp_path / "batch.jsonl"
    seen: list[BatchCaptureResult] = []
    with Toolkit(settings) as kit:
        kit.create_case("B-1", "batch")
        officer = ensure_officer(kit, "B-1")
        first = kit.capture_many(
            "B-1", urls, FAST, jobs=2, on_result=seen.append, state_path=state, officer=officer
        )
        assert [r.url for r in first] == urls and len(seen) == 3
        assert first[0].item is not None and first[0].item.status is ItemStatus.SEALED
        assert first[1].item is None and "unsupported URL scheme 'file'" in str(first[1].error)
        assert first[2].item is not None and not first[2].skipped
        assert first[0].item.id != first[2].item.id  # each URL its own item
        assert len(state.read_text(encoding="utf-8").splitlines()) == 2
        # Interrupted or not, a re-run skips what is sealed and retries the rest.
        again = kit.capture_many("B-1", urls, FAST, jobs=2, state_path=state, officer=officer)
        assert [r.skipped for r in again] == [True, False, True]
        assert again[0].item is not None and again[0].item.id == first[0].item.id
        assert len(kit.list_items("B-1")) == 2


def _driver_processes() -> list[int]:
    """Our child Node.js processes: the Playwright driver."""
    mine = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if stat[stat.rindex(")") + 2 :].split()[1] == mine and name.startswith("node"):
            found.append(int(entry.name))
    return sorted(found)


def test_a_batch_worker_shares_the_driver_but_never_a_browser(
    site: HostileSite, tmp_path: Path
) -> None:
    drivers: list[list[int]] = []
    profiles: list[str] = []
    with shared_driver():
        for n in range(3):
            record = capture_page(site.url_for("/ok"), tmp_path / str(n), FAST)
            drivers.append(_driver_processes())
            profiles.append(
                next(c.detail for c in record.environment.checks if c.name == "browser_profile")
            )
        # A failed capture restarts the driver; the next one still works.
        with pytest.raises(CaptureError):
            capture_page(f"http://127.0.0.1:{closed_port()}/", tmp_path / "x", FAST)
        after_failure = capture_page(site.url_for("/ok"), tmp_path / "y", FAST)
        assert after_failure.page.http_status == 200
    assert len(drivers[0]) == 1 and drivers == [drivers[0]] * 3
    assert len(set(profiles)) == 3 and all("fresh temporary profile" in p for p in profiles)
    assert _driver_processes() == []  # stopped with the block


@pytest.mark.slow
def test_cli_batch_capture_prints_results_and_summary(site: HostileSite, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli import main
    from evidence.model.config import Settings
    from evidence.services.toolkit import Toolkit

    home = tmp_path / "home"
    url_list = tmp_path / "urls.txt"
    url_list.write_text(
        f"# 待取证网址\n{site.url_for('/ok')}\n\nftp://bad.example/\n", encoding="utf-8"
    )
    runner = CliRunner()
    result = runner.invoke(main, ["--home", str(home), "case", "create", "C-1", "--title", "批量"])
    assert result.exit_code == 0, result.output
    with Toolkit(Settings.from_env(home)) as kit:
        officer = ensure_officer(kit, "C-1")
    args = ["--home", str(home), "capture", "C-1", "--from", str(url_list), "--no-complete"]
    args += ["--officer", officer]
    result = runner.invoke(main, [*args, "--jobs", "2"])
    assert result.exit_code == 1, result.output
    assert f"OK   {site.url_for('/ok')} -> " in result.output
    assert "FAIL ftp://bad.example/: unsupported URL scheme 'ftp'" in result.output
    assert "1 captured, 0 skipped (already sealed), 1 failed" in result.output
    again = runner.invoke(main, args)
    assert f"SKIP {site.url_for('/ok')} (already sealed as " in again.output
    assert "0 captured, 1 skipped (already sealed), 1 failed" in again.output


def test_cli_capture_needs_a_url_or_a_list(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, ["--home", str(tmp_path), "capture", "C-1"])
    assert result.exit_code == 2
    assert "give either a URL or --from FILE" in result.output
