"""``capture`` in-process: one URL, a URL list (resumable), and the ways each is refused.

Two real captures of the bundled sample shop (Chromium, development TSA,
anvil) for the module; the refusals happen before any browser starts.
test_capture_screens.py drives a parallel list with a failing URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence.services.demo_site import DemoSite
from tests.cli_support import (
    CHINESE,
    one_line_error,
    put_officer_on_case,
    run,
    stop_local_chain,
    succeeded,
    usage_error,
)
from tests.conftest import require, require_tool
from tests.helpers import TEST_OFFICER_ID

CASE = "案-CLI-CAPTURE"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("capture-home")
    succeeded(run(path, "case", "create", CASE, "--title", "采集"))
    put_officer_on_case(path, CASE)
    yield path
    stop_local_chain(path)


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("anvil")
    require_tool("openssl")
    with DemoSite() as served:
        yield served


def test_capture_one_url_to_anchored(home: Path, site: DemoSite) -> None:
    officer = ("--officer", TEST_OFFICER_ID)
    result = succeeded(run(home, "capture", CASE, site.url, *officer, lang=CHINESE))
    lines = result.stdout.splitlines()
    assert lines[0].startswith("证据编号: ") and lines[1] == "状态: anchored"
    assert lines[2] == f"URL: {site.url} -> {site.url}"
    assert lines[3].startswith("清单 SHA-256: ")
    assert lines[4].startswith("时间戳（genTime）: ") and lines[4].endswith(" [DEVELOPMENT TSA]")
    assert lines[5].startswith("区块链锚定: chain 31337 tx 0x")


def test_capture_a_list_then_resume_it(home: Path, site: DemoSite, tmp_path: Path) -> None:
    good = site.url_for("/old-listing")
    url_list = tmp_path / "urls.txt"
    url_list.write_text(f"# 待取证网址\n{good}\n\nftp://bad.example/\n", encoding="utf-8")
    args: tuple[str, ...] = (
        "capture",
        CASE,
        "--from",
        str(url_list),
        "--jobs",
        "1",
        "--no-complete",
    )
    args += ("--officer", TEST_OFFICER_ID)
    first = run(home, *args)
    assert first.exit_code == 1 and "Traceback" not in first.output
    assert first.stderr.startswith("2 URL(s), 1 at a time; progress kept in ")
    assert f"OK   {good} -> " in first.stdout and first.stdout.count(" sealed\n") == 1
    assert "FAIL ftp://bad.example/: unsupported URL scheme 'ftp'" in first.stdout
    assert first.stdout.endswith("1 captured, 0 skipped (already sealed), 1 failed\n")
    again = run(home, *args, "--json")
    assert again.exit_code == 1
    data = json.loads(again.stdout)
    assert (data["captured"], data["skipped"], data["failed"]) == (0, 1, 1)
    skipped = next(r for r in data["results"] if r["skipped"])
    assert skipped["url"] == good and skipped["item"]["status"] == "sealed"


def test_capture_refusals(home: Path, tmp_path: Path) -> None:
    assert "no case" in one_line_error(run(home, "capture", "NO-SUCH-CASE", "http://127.0.0.1/"))
    assert "scheme" in one_line_error(run(home, "capture", CASE, "ftp://example.com/x"))
    assert "URL or --from FILE" in usage_error(run(home, "capture", CASE))
    both = run(home, "capture", CASE, "http://127.0.0.1/", "--from", __file__)
    assert "URL or --from FILE" in usage_error(both)
    unreadable = tmp_path / "urls.txt"
    unreadable.write_bytes(b"\xff\xfe not UTF-8")
    assert "cannot read" in usage_error(run(home, "capture", CASE, "--from", str(unreadable)))
    steps = tmp_path / "steps.json"
    steps.write_text('{"steps": [', encoding="utf-8")
    bad_steps = run(home, "capture", CASE, "http://127.0.0.1/", "--steps", str(steps))
    assert "malformed" in one_line_error(bad_steps)
    assert "--jobs" in usage_error(run(home, "capture", CASE, "--jobs", "0", "http://x/"))
