"""Replaying a captured WARC offline in Chromium, for the verifier's consistency check.

Every request the page makes is answered from the WARC through Playwright's
request interception; a request the WARC has no response for is aborted, so
the replay shows only what the capture received. The page is untrusted, so
the browser itself is sealed off the network too (see :mod:`capture._sandbox`):
an empty network namespace where the kernel allows one, flags that leave no
route out otherwise, Chromium's own sandbox, an unprivileged user, and none
of the caller's environment. :class:`ReplayResult` says which fences held.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urldefrag

from playwright.sync_api import Browser, Route
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from capture._browser import CHROMIUM_ARGS, find_chromium, first_line, scroll_through
from capture._driver import start_driver
from capture._sandbox import ReplayIsolation, sealed_chromium
from evidence.model.capture_options import CaptureOptions
from evidence.model.errors import CaptureError

logger = logging.getLogger(__name__)

MAX_REPLAY_BODY = 64 * 1024 * 1024
"""A single replayed response is read into memory to hand it to the browser; cap it."""
MAX_INDEXED_RECORDS = 100_000

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


@dataclass(frozen=True)
class ReplayResult:
    """A finished replay: the picture and how it was made."""

    png: Path
    isolation: ReplayIsolation
    """How the browser was kept off the network."""
    sandboxed: bool
    """Whether Chromium's own sandbox was on."""
    browser_uid: int
    """The user the browser ran as (not 0 when the sandbox could be had)."""
    served: int
    """Requests answered from the WARC."""
    missing: tuple[str, ...]
    """Requests the WARC had no response for (aborted), in the order made."""

    def summary(self) -> str:
        """One line for a log or a report's detail: the fences, then the traffic."""
        fence = (
            "no network (empty network namespace)"
            if self.isolation is ReplayIsolation.NETWORK_NAMESPACE
            else "no namespace available: dead proxy, no DNS, no direct UDP"
        )
        sandbox = "Chromium sandbox on" if self.sandboxed else "Chromium sandbox OFF"
        return (
            f"{fence}; {sandbox}; browser uid {self.browser_uid}; "
            f"{self.served} responses from the WARC, {len(self.missing)} missing"
        )


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

    The same as :func:`replay`, for callers that need only the picture.
    """
    return replay(warc_path, url, out_png, viewport, options=options, timeout_s=timeout_s).png


def replay(
    warc_path: Path,
    url: str,
    out_png: Path,
    viewport: tuple[int, int],
    *,
    options: CaptureOptions | None = None,
    timeout_s: float = 30.0,
    network_namespace: bool = True,
) -> ReplayResult:
    """Render ``url`` from ``warc_path`` alone, in a sealed browser, into ``out_png``.

    ``options`` supplies the browser, user agent, locale and time zone (use the
    capture's own, from the manifest, for a like-for-like rendering); the
    viewport is given separately because it decides the layout.
    ``network_namespace=False`` leaves the network fence to the flags alone
    (for testing the fallback). Raises :class:`CaptureError` when Chromium is
    missing or the page cannot be shown.
    """
    opts = options or CaptureOptions()
    index = WarcIndex(warc_path)
    if url not in index:
        raise CaptureError(f"{warc_path.name} holds no response for {url}")
    executable = find_chromium(opts)
    feed = _WarcFeed(index)
    started = time.monotonic()
    with (
        start_driver() as playwright,
        sealed_chromium(
            playwright,
            executable,
            args=CHROMIUM_ARGS,
            timeout_ms=timeout_s * 1000,
            network_namespace=network_namespace,
        ) as (browser, seal),
    ):
        try:
            _shoot(browser, feed, url, out_png, viewport, opts, timeout_s)
        except PlaywrightError as exc:
            raise CaptureError(f"could not replay {url}: {first_line(exc)}") from None
    result = ReplayResult(
        png=out_png,
        isolation=seal.isolation,
        sandboxed=seal.sandboxed,
        browser_uid=seal.uid,
        served=feed.served,
        missing=tuple(feed.missing),
    )
    elapsed = time.monotonic() - started
    logger.info("replayed %s from %s: %s, %.1f s", url, warc_path.name, result.summary(), elapsed)
    return result


class _WarcFeed:
    """Answers the browser's requests from the WARC, counting what it could not."""

    def __init__(self, index: WarcIndex) -> None:
        self.index = index
        self.served = 0
        self.missing: list[str] = []

    def answer(self, route: Route) -> None:
        request_url = route.request.url
        recorded = self.index.response(request_url)
        if recorded is None:
            self.missing.append(request_url)
            route.abort("blockedbyclient")
            return
        status, headers, body = recorded
        self.served += 1
        route.fulfill(status=status, headers=headers, body=body)


def _shoot(
    browser: Browser,
    feed: _WarcFeed,
    url: str,
    out_png: Path,
    viewport: tuple[int, int],
    opts: CaptureOptions,
    timeout_s: float,
) -> None:
    deadline_ms = timeout_s * 1000
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]},
        user_agent=opts.rendering.user_agent,
        locale=opts.rendering.locale,
        timezone_id=opts.rendering.timezone_id,
        service_workers="block",
        accept_downloads=False,
    )
    context.route("**/*", feed.answer)
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


__all__ = ["ReplayIsolation", "ReplayResult", "WarcIndex", "replay", "replay_screenshot"]
