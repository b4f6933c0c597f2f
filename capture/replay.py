"""Replaying a captured WARC offline in Chromium, for the verifier's consistency check.

Every request the page makes is answered from the WARC through Playwright's
request interception; nothing reaches the network. A request the WARC has no
response for is aborted, so the replay shows only what the capture received.
As a second fence the browser is pointed at a proxy on a closed loopback
port: any request that escaped interception would fail rather than go out.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from urllib.parse import urldefrag

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from capture._browser import CHROMIUM_ARGS, find_chromium, first_line, scroll_through
from evidence.model.child_env import child_environment
from evidence.model.errors import CaptureError
from evidence.model.records import CaptureOptions

logger = logging.getLogger(__name__)

MAX_REPLAY_BODY = 64 * 1024 * 1024
"""A single replayed response is read into memory to hand it to the browser; cap it."""
MAX_INDEXED_RECORDS = 100_000

_DEAD_PROXY = "http://127.0.0.1:9"
# Length and transfer framing describe the bytes on the wire, not the decoded
# payload the WARC holds; the browser must not apply them again.
_DROPPED_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding"})


class WarcIndex:
    """URL -> offset of the first ``response`` record for it; payloads read on demand."""

    def __init__(self, warc_path: Path) -> None:
        self.path = warc_path
        self._offsets: dict[str, int] = {}
        try:
            with warc_path.open("rb") as stream:
                records = ArchiveIterator(stream)
                for count, record in enumerate(records):
                    if count >= MAX_INDEXED_RECORDS:
                        raise CaptureError(f"{warc_path.name}: too many records to replay")
                    if record.rec_type != "response":
                        continue
                    uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                    key = _key(uri)
                    if key and key not in self._offsets:
                        self._offsets[key] = records.get_record_offset()
        except (ArchiveLoadFailed, OSError, ValueError) as exc:
            raise CaptureError(f"{warc_path.name}: not a readable WARC ({exc})") from exc

    def __contains__(self, url: str) -> bool:
        return _key(url) in self._offsets

    def __len__(self) -> int:
        return len(self._offsets)

    def response(self, url: str) -> tuple[int, dict[str, str], bytes] | None:
        """(status, headers, decoded body) recorded for ``url``, or None."""
        offset = self._offsets.get(_key(url))
        if offset is None:
            return None
        with self.path.open("rb") as stream:
            stream.seek(offset)
            record = next(iter(ArchiveIterator(stream)))
            if record.http_headers is None:
                return None
            status = int(record.http_headers.get_statuscode() or 200)
            headers: dict[str, str] = {}
            for name, value in record.http_headers.headers:
                if name.lower() not in _DROPPED_HEADERS:
                    headers[name] = value
            body = record.content_stream().read(MAX_REPLAY_BODY + 1)
        if len(body) > MAX_REPLAY_BODY:
            return None
        return status, headers, body


def _key(url: str) -> str:
    return urldefrag(url).url


def replay_screenshot(
    warc_path: Path,
    url: str,
    out_png: Path,
    viewport: tuple[int, int],
    *,
    options: CaptureOptions | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """Render ``url`` from ``warc_path`` alone and write a full-page PNG to ``out_png``.

    ``options`` supplies the browser, user agent, locale and time zone (use the
    capture's own, from the manifest, for a like-for-like rendering); the
    viewport is given separately because it decides the layout. Raises
    :class:`CaptureError` when Chromium is missing or the page cannot be shown.
    """
    opts = options or CaptureOptions()
    index = WarcIndex(warc_path)
    if url not in index:
        raise CaptureError(f"{warc_path.name} holds no response for {url}")
    executable = find_chromium(opts)
    served = 0
    missing: list[str] = []

    def answer(route: Route) -> None:
        nonlocal served
        request_url = route.request.url
        recorded = index.response(request_url)
        if recorded is None:
            missing.append(request_url)
            route.abort("blockedbyclient")
            return
        status, headers, body = recorded
        served += 1
        route.fulfill(status=status, headers=headers, body=body)

    deadline_ms = timeout_s * 1000
    started = time.monotonic()
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable,
                args=list(CHROMIUM_ARGS),
                proxy={"server": _DEAD_PROXY},
                timeout=deadline_ms,
                env=dict(child_environment()),
            )
        except PlaywrightError as exc:
            raise CaptureError(
                f"could not start Chromium at {executable}: {first_line(exc)}"
            ) from None
        try:
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                user_agent=opts.user_agent,
                locale=opts.locale,
                timezone_id=opts.timezone_id,
                service_workers="block",
                accept_downloads=False,
            )
            context.route("**/*", answer)
            page = context.new_page()
            try:
                page.goto(url, wait_until="load", timeout=deadline_ms)
            except PlaywrightTimeoutError:
                logger.warning("replay of %s: load did not finish in %g s", url, timeout_s)
            scroll_through(page, opts)
            # A never-finishing request was aborted or is absent: shoot anyway.
            with contextlib.suppress(PlaywrightTimeoutError):
                page.wait_for_load_state("networkidle", timeout=3000)
            out_png.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=out_png, full_page=True, type="png", timeout=deadline_ms)
        except PlaywrightError as exc:
            raise CaptureError(f"could not replay {url}: {first_line(exc)}") from None
        finally:
            browser.close()
    logger.info(
        "replayed %s from %s: %d responses served, %d missing, %.1f s",
        url,
        warc_path.name,
        served,
        len(missing),
        time.monotonic() - started,
    )
    return out_png


__all__ = ["WarcIndex", "replay_screenshot"]
