"""Our WARC in the web-archiving world's own tools, run as an outsider would.

The tools live in ``.venv-interop`` (``scripts/setup-interop.sh``: wacz 0.6.0,
pywb 2.10.0, warcio), apart from the toolkit's environment because they pin
old libraries and pull in gevent. Missing tools skip locally and fail in CI.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from capture import capture_page
from evidence.model.capture_options import CaptureOptions, EnvironmentOptions, SafetyOptions
from evidence.model.capture_record import CaptureRecord
from evidence.services.demo_site import DemoSite
from tests.conftest import REPO, require

INTEROP_BIN = REPO / ".venv-interop" / "bin"
SITE = DemoSite.root


def tool(name: str) -> str:
    path = INTEROP_BIN / name
    require(path.is_file(), f"{path} is missing (run scripts/setup-interop.sh)")
    return str(path)


@dataclass(frozen=True)
class Captured:
    record: CaptureRecord
    warc: Path
    site_url: str


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    workdir = tmp_path_factory.mktemp("interop")
    with DemoSite() as site:
        record = capture_page(
            site.url_for("/old-listing"),
            workdir,
            CaptureOptions(
                safety=SafetyOptions(allow_private_targets=True),
                environment=EnvironmentOptions(ntp_servers=()),
            ),
        )
        yield Captured(record, workdir / "capture.warc", site.url)


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.slow
def test_interop_warcio_check_passes(captured: Captured) -> None:
    result = _run([tool("warcio"), "check", "-v", str(captured.warc)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest pass" in result.stdout
    assert "digest fail" not in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def wayback(captured: Captured, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """pywb serving a collection made from our WARC; yields its base URL."""
    wb_manager, wayback_bin = tool("wb-manager"), tool("wayback")
    root = tmp_path_factory.mktemp("pywb")
    for args in (["init", "evidence"], ["add", "evidence", str(captured.warc)]):
        result = _run([wb_manager, *args], cwd=root)
        assert result.returncode == 0, result.stdout + result.stderr
    port = _free_port()
    log = (root / "wayback.log").open("wb")
    process = subprocess.Popen(
        [wayback_bin, "-p", str(port), "-b", "127.0.0.1", "-d", str(root)],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "wayback did not start: " + (root / "wayback.log").read_text("utf-8")
                    )
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/evidence/"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _replay(wayback: str, captured: Captured, url: str) -> tuple[int, bytes, dict[str, str]]:
    stamp = captured.record.page.started_at.strftime("%Y%m%d%H%M%S")
    # id_ asks pywb for the archived bytes as they are, without rewriting.
    with urllib.request.urlopen(f"{wayback}{stamp}id_/{url}", timeout=30) as response:
        return response.status, response.read(), dict(response.headers.items())


@pytest.mark.slow
def test_pywb_replays_the_page_byte_for_byte(wayback: str, captured: Captured) -> None:
    status, body, _ = _replay(wayback, captured, captured.site_url + "index.html")
    assert status == 200
    assert body == (SITE / "index.html").read_bytes()


@pytest.mark.slow
def test_pywb_replays_decoded_subresources(wayback: str, captured: Captured) -> None:
    status, body, headers = _replay(wayback, captured, captured.site_url + "style.css")
    assert status == 200
    # The stylesheet was sent gzip-encoded and chunked; the archive holds it decoded.
    assert body == (SITE / "style.css").read_bytes()
    assert "gzip" not in headers.get("Content-Encoding", "")
    status, body, _ = _replay(wayback, captured, captured.site_url + "img/detail-lazy.jpg")
    assert (status, body) == (200, (SITE / "img/detail-lazy.jpg").read_bytes())


@pytest.mark.slow
def test_wacz_create_and_validate(captured: Captured, tmp_path: Path) -> None:
    wacz = tool("wacz")
    out = tmp_path / "capture.wacz"
    created = _run(
        [
            wacz,
            "create",
            "-o",
            str(out),
            "--detect-pages",
            "--url",
            captured.record.page.final_url,
            "--title",
            captured.record.page.title,
            str(captured.warc),
        ]
    )
    assert created.returncode == 0, created.stdout + created.stderr
    validated = _run([wacz, "validate", "-f", str(out)])
    assert validated.returncode == 0, validated.stdout + validated.stderr
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        assert {"datapackage.json", "archive/capture.warc"} <= names
        assert archive.read("archive/capture.warc") == captured.warc.read_bytes()
        pages = archive.read("pages/pages.jsonl").decode("utf-8")
    assert captured.record.page.final_url in pages
