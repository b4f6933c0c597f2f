"""The web console (/console) in real Chromium against a real uvicorn server.

One server per module on a tmp data directory (agencies, users, cases and a sealed
item set up directly, as tests/test_api.py does); no broker runs, so a capture job
submitted from the console stays queued. Each page is screenshotted into the tmp dir.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from capture._browser import CHROMIUM_ARGS
from evidence.api.console_text import CONSOLE_MESSAGES
from evidence.model.config import Settings
from evidence.services.toolkit import Toolkit
from tests.helpers import TEST_PASSPHRASE, seal_synthetic_item
from tests.test_api import CASE, OTHER_CASE, PASSWORD, _setup, free_port, wait_for_api

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "evidence" / "api" / "templates"


@dataclass
class Console:
    url: str
    home: Path
    item_id: str
    other_item_id: str
    shots: Path
    pictured_item_id: str
    job_url: str = ""


def _seal_item_with_a_real_screenshot(kit: Toolkit, home: Path) -> str:
    """A sealed item whose screenshot decodes (the helper's is synthetic bytes), so its
    thumbnail draws and its report and bundle can be made."""
    picture = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 90, 160)).save(picture, "PNG")
    real_write = Path.write_bytes

    def write(self: Path, data: bytes) -> int:
        return real_write(self, picture.getvalue() if self.name == "screenshot.png" else data)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "write_bytes", write)
        return seal_synthetic_item(kit, CASE, home / "work-c", "c").id


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    home = tmp_path_factory.mktemp("console-home")
    kit = Toolkit(Settings.from_env(str(home)))
    item_id, other_id, _token, _token_id = _setup(kit, home)
    pictured = _seal_item_with_a_real_screenshot(kit, home)
    kit.close()
    port = free_port()
    env = {
        **os.environ,
        "EVIDENCE_HOME": str(home),
        "EVIDENCE_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    log = (home / "api.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "api", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(url, proc, home / "api.log")
        shots = home / "shots"
        shots.mkdir()
        yield Console(url, home, item_id, other_id, shots, pictured)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    args = [*CHROMIUM_ARGS, *(["--no-sandbox"] if os.geteuid() == 0 else [])]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def _sign_in(page: Page, console: Console, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{console.url}/console/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_sign_in_cases_capture_job_and_item(page: Page, console: Console) -> None:
    _sign_in(page, console, "alice")
    page.screenshot(path=console.shots / "cases.png")
    assert page.url == f"{console.url}/console/"
    assert page.locator("h1").inner_text() == "案件"
    body = page.content()
    assert CASE in body and OTHER_CASE not in body
    cookie = next(c for c in page.context.cookies() if c["name"] == "evidence_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.click(f"text={CASE}")
    page.screenshot(path=console.shots / "case.png")
    page.fill("input[name=url]", "https://example.com/shop/item-1")
    page.click("form[action$='/capture'] button")
    page.wait_for_url(re.compile(r".*/console/jobs/[^/]+$"))
    console.job_url = page.url
    page.screenshot(path=console.shots / "job.png")
    assert page.locator("#job-status").inner_text() == "已排队"
    assert page.locator("meta[http-equiv=refresh]").count() == 1

    # The sealed test item's screenshot is a synthetic (not decodable) PNG: its
    # thumbnail is checked as served, not as drawn.
    with page.expect_response(re.compile(r".*/artifact\?name=.*")) as shot:
        page.goto(f"{console.url}/console/items/{console.item_id}")
    assert shot.value.status == 200 and shot.value.headers["content-type"] == "image/png"
    page.screenshot(path=console.shots / "item.png")
    assert re.fullmatch(r"[0-9a-f]{64}", page.locator("#manifest-sha256").inner_text())
    assert page.locator(".stages span.done").all_inner_texts() == ["已采集", "已封存"]
    assert page.locator("a[href$='/report']").count() == 1

    page.goto(console.job_url)
    page.click("#cancel-job")
    page.wait_for_url(console.job_url)
    assert page.locator("#job-status").inner_text() == "已取消"
    assert page.locator("meta[http-equiv=refresh]").count() == 0, "finished: no more reloads"
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    again = httpx.post(
        f"{console.job_url}/cancel", cookies=cookies,
        data={"csrf": page.locator("header input[name=csrf]").get_attribute("value")},
    )  # fmt: skip
    assert again.status_code == 303, "cancelling a cancelled job again changes nothing"
    forged = httpx.post(f"{console.job_url}/cancel", cookies=cookies, data={"csrf": "x"})
    assert forged.status_code == 403

    page.goto(f"{console.url}/console/?lang=en")
    assert page.locator("h1").inner_text() == "Cases"
    page.goto(f"{console.url}/console/")
    assert page.locator("h1").inner_text() == "Cases", "the language cookie is kept"

    page.click("header button[type=submit]")
    page.wait_for_url(re.compile(r".*/console/login$"))
    page.goto(f"{console.url}/console/")
    assert page.url.endswith("/console/login"), "signed out: back to the sign-in page"


def test_another_agencys_case_and_item_are_not_found(page: Page, console: Console) -> None:
    _sign_in(page, console, "alice")
    page.wait_for_url(f"{console.url}/console/")
    response = page.goto(f"{console.url}/console/cases/{OTHER_CASE}")
    assert response is not None and response.status == 404
    response = page.goto(f"{console.url}/console/items/{console.other_item_id}")
    assert response is not None and response.status == 404
    page.screenshot(path=console.shots / "not-found.png")
    assert "未找到" in page.content()


def test_another_agencys_user_cannot_see_the_job(page: Page, console: Console) -> None:
    assert console.job_url, "runs after the capture test"
    _sign_in(page, console, "mallory")
    page.wait_for_url(f"{console.url}/console/")
    assert CASE not in page.content() and OTHER_CASE in page.content()
    response = page.goto(console.job_url)
    assert response is not None and response.status == 404


def test_an_expert_may_not_list_cases_and_pages_are_not_framed(
    page: Page, console: Console
) -> None:
    _sign_in(page, console, "eve")
    page.wait_for_url(f"{console.url}/console/")
    response = page.goto(f"{console.url}/console/")
    assert response is not None and response.status == 403
    assert "无权执行此操作" in page.content()
    headers = response.headers
    assert (
        headers["x-frame-options"] == "DENY"
        and "frame-ancestors 'none'" in headers["content-security-policy"]
    )
    assert headers["cache-control"] == "no-store"


def test_a_post_without_the_csrf_token_is_refused(page: Page, console: Console) -> None:
    _sign_in(page, console, "alice")
    page.wait_for_url(f"{console.url}/console/")
    page.goto(f"{console.url}/console/cases/{CASE}")
    page.evaluate("document.querySelector('form[action$=\"/capture\"] input[name=csrf]').remove()")
    page.fill("input[name=url]", "https://example.com/forged")
    with page.expect_response(re.compile(r".*/capture$")) as answer:
        page.click("form[action$='/capture'] button")
    assert answer.value.status == 403
    page.screenshot(path=console.shots / "csrf.png")
    # Nor with a token of another session, nor on the sign-in form.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    forged = httpx.post(
        f"{console.url}/console/cases/{CASE}/capture", cookies=cookies,
        data={"csrf": "0" * 64, "url": "https://example.com/x", "idempotency_key": "k1"},
    )  # fmt: skip
    assert forged.status_code == 403
    no_token = httpx.post(
        f"{console.url}/console/login", data={"username": "alice", "password": PASSWORD}
    )
    assert no_token.status_code == 403 and "evidence_console" not in no_token.cookies


def test_a_wrong_password_shows_an_error_and_gives_no_session(page: Page, console: Console) -> None:
    _sign_in(page, console, "bob", "not-the-password")
    page.screenshot(path=console.shots / "wrong-password.png")
    assert page.locator("p.error").inner_text() == "用户名或密码错误。"
    assert not [c for c in page.context.cookies() if c["name"] == "evidence_console"]
    page.goto(f"{console.url}/console/")
    assert page.url.endswith("/console/login")


def test_an_officer_downloads_the_signed_bundle(page: Page, console: Console) -> None:
    _sign_in(page, console, "alice")
    page.wait_for_url(f"{console.url}/console/")
    page.goto(f"{console.url}/console/items/{console.pictured_item_id}")
    thumb = page.locator("img.thumb").element_handle()
    assert page.evaluate("(img) => img.complete && img.naturalWidth", thumb) == 320
    page.screenshot(path=console.shots / "item-pictured.png")
    page.fill("#bundle-form input[name=passphrase]", "wrong-passphrase")
    page.fill("#bundle-form input[name=reason]", "移送法院")
    with page.expect_response(re.compile(r".*/bundle$")) as refused:
        page.click("#bundle-form button")
    assert refused.value.status >= 400 and "wrong-passphrase" not in page.content()
    page.screenshot(path=console.shots / "bundle-refused.png")

    page.goto(f"{console.url}/console/items/{console.pictured_item_id}")
    page.fill("#bundle-form input[name=passphrase]", TEST_PASSPHRASE)
    page.fill("#bundle-form input[name=reason]", "移送法院")
    with page.expect_download() as download:
        page.click("#bundle-form button")
    saved = console.shots / "bundle.zip"
    download.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"
    log = (console.home / "api.log").read_text(errors="replace")
    assert TEST_PASSPHRASE not in log


def test_every_template_string_is_in_the_catalogue_list() -> None:
    shown = set()
    for template in TEMPLATES.glob("*.html"):
        shown |= set(re.findall(r"""_\(["']([^"']+)["']\)""", template.read_text()))
    assert shown <= set(CONSOLE_MESSAGES), shown - set(CONSOLE_MESSAGES)
