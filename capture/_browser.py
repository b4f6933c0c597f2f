"""Starting Chromium and bringing a page to a state worth photographing."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from capture._recorder import TrafficRecorder
from evidence.model.capture_options import CaptureOptions
from evidence.model.child_env import child_environment
from evidence.model.errors import BrowserUnavailableError, CaptureError

logger = logging.getLogger(__name__)

CHROMIUM_CANDIDATES = (Path("/usr/lib/chromium/chromium"), Path("/usr/bin/chromium"))
"""Searched in order when ``BrowserOptions.chromium_path`` is not set; the first
skips the Debian wrapper script and its warning."""

CHROMIUM_ARGS = (
    # Without these Chromium keeps calling outside hosts, which would show up
    # in a capture's traffic and leak that a capture is running.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    # QUIC traffic would bypass nothing here but is harder to account for.
    "--disable-quic",
    # Cross-site iframes otherwise run in processes the page's CDP session does
    # not see, and their traffic would be missing from the WARC.
    "--disable-site-isolation-trials",
    "--disable-features=IsolateOrigins,site-per-process",
)

SCROLL_STEP_DELAY_MS = 120
MAX_SCROLL_STEPS = 80
"""Default of ``InteractionOptions.max_scroll_steps``: bounds the scroll on endless pages
(80 viewports, about 10 s)."""
QUIET_PERIOD_S = 0.5
"""How long no request may be in flight before the page counts as settled."""
_POLL_MS = 100

# Chromium network error codes an officer can act on, in plain words.
_NET_ERRORS = {
    "ERR_NAME_NOT_RESOLVED": "host name could not be resolved (DNS)",
    "ERR_NAME_RESOLUTION_FAILED": "host name could not be resolved (DNS)",
    "ERR_CONNECTION_REFUSED": "connection refused",
    "ERR_CONNECTION_RESET": "connection reset by the server",
    "ERR_CONNECTION_CLOSED": "connection closed by the server",
    "ERR_CONNECTION_TIMED_OUT": "connection timed out",
    "ERR_TIMED_OUT": "the server did not answer in time",
    "ERR_ADDRESS_UNREACHABLE": "address unreachable",
    "ERR_NETWORK_UNREACHABLE": "network unreachable",
    "ERR_INTERNET_DISCONNECTED": "no network connection",
    "ERR_UNSAFE_PORT": "the browser refuses to connect to this port",
    "ERR_EMPTY_RESPONSE": "the server closed the connection without a response",
    "ERR_SSL_PROTOCOL_ERROR": "TLS handshake failed",
    "ERR_TOO_MANY_REDIRECTS": "too many redirects",
    "ERR_ABORTED": "navigation aborted (the URL may be a download, not a page)",
    "ERR_INVALID_RESPONSE": "the server sent an invalid response",
}
_NET_ERROR = re.compile(r"net::(ERR_[A-Z0-9_]+)")

_SCROLL_SCRIPT = """
async ({ stepPx, delayMs, maxSteps }) => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const root = document.scrollingElement || document.documentElement;
  const height = () => Math.max(root.scrollHeight, document.body ? document.body.scrollHeight : 0);
  let steps = 0;
  while (steps < maxSteps && window.scrollY + window.innerHeight < height()) {
    window.scrollBy(0, stepPx);
    steps += 1;
    await sleep(delayMs);
  }
  const reachedEnd = window.scrollY + window.innerHeight >= height() - 1;
  return { steps, reachedEnd, height: height() };
}
"""

_BACK_TO_TOP = """
async ({ delayMs }) => {
  window.scrollTo(0, 0);
  // Two frames: scroll handlers at the top (sticky headers) have run and
  // painted. Bounded, since a background page may get no frames.
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  await Promise.race([frame().then(frame), sleep(delayMs)]);
}
"""

_IMAGES_DONE = "() => Array.from(document.images).every((img) => img.complete)"

_IMAGE_STATE = """
() => {
  const images = Array.from(document.images);
  const src = (img) => img.currentSrc || img.src;
  return {
    total: images.length,
    pending: images.filter((img) => !img.complete).map(src),
    broken: images.filter((img) => img.complete && img.naturalWidth === 0 && src(img)).map(src),
  };
}
"""


def find_chromium(options: CaptureOptions) -> Path:
    chosen = options.browser.chromium_path
    if chosen is not None:
        if not chosen.is_file():
            raise BrowserUnavailableError(
                f"Chromium not found at {chosen}",
                hint="Set the Chromium path to an existing executable (apt-get install chromium).",
            )
        return chosen
    for candidate in CHROMIUM_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise BrowserUnavailableError(
        "Chromium not found (looked in " + ", ".join(str(c) for c in CHROMIUM_CANDIDATES) + ")",
        hint="Install it with `apt-get install chromium` or set the Chromium path.",
    )


def launch(playwright: Playwright, options: CaptureOptions) -> Browser:
    executable = find_chromium(options)
    try:
        return playwright.chromium.launch(
            executable_path=executable,
            args=[*CHROMIUM_ARGS, *options.browser.args],
            timeout=max(options.limits.navigation_timeout_s, 10.0) * 1000,
            env=dict(child_environment()),
        )
    except PlaywrightError as exc:
        raise BrowserUnavailableError(
            f"could not start Chromium at {executable}: {first_line(exc)}"
        ) from None


def navigate(page: Page, url: str, timeout_s: float) -> tuple[int | None, str, list[str], str]:
    """Go to ``url``; return ``(status, final response URL, redirect chain, server ip)``.

    Raises :class:`CaptureError` when no document arrives (DNS, refused,
    unreachable, TLS failure, timeout). An HTTP error status is not a failure.
    """
    try:
        response = page.goto(url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
    except PlaywrightTimeoutError:
        raise CaptureError(
            f"could not capture {url}: navigation timed out after {timeout_s:g} s"
        ) from None
    except PlaywrightError as exc:
        raise CaptureError(f"could not capture {url}: {describe_navigation_error(exc)}") from None
    if response is None:
        # Only same-document navigations have no response; a fresh page has none.
        return None, page.url, [url], ""
    chain = [response.url]
    request = response.request.redirected_from
    while request is not None:
        chain.append(request.url)
        request = request.redirected_from
    chain.reverse()
    server_ip = ""
    try:
        address = response.server_addr()
        if address:
            server_ip = str(address.get("ipAddress", "")).strip("[]")
    except PlaywrightError:
        logger.debug("no server address for %s", response.url, exc_info=True)
    return response.status, response.url, chain, server_ip


def settle(page: Page, recorder: TrafficRecorder, options: CaptureOptions) -> list[str]:
    """Scroll through the page, wait (bounded) for load, images and traffic.

    Scrolling starts at DOMContentLoaded, while the rest of the page still
    loads, so lazy content is requested early. If the page has grown by the
    time ``load`` fires (content rendered by script), scrolling goes on from
    where it stopped. Returns warnings for whatever did not finish in time.
    """
    warnings: list[str] = []
    settle_s = options.limits.settle_timeout_s
    scroll = _Scroll(page, options)
    scroll.down()
    try:
        page.wait_for_load_state("load", timeout=settle_s * 1000)
    except PlaywrightTimeoutError:
        warnings.append(f"the page's load event did not fire within {settle_s:g} s")
    except PlaywrightError as exc:
        warnings.append(f"could not wait for the page to load: {first_line(exc)}")
    scroll.down()
    warnings.extend(scroll.back_to_top())

    deadline = time.monotonic() + settle_s
    try:
        if not page.evaluate(_IMAGES_DONE):
            page.wait_for_function(_IMAGES_DONE, timeout=max(_remaining_ms(deadline), 1))
    except PlaywrightTimeoutError:
        pass  # reported below from the images' state
    except PlaywrightError as exc:
        warnings.append(f"could not check images: {first_line(exc)}")

    pending = _wait_for_quiet(page, recorder, deadline)
    if pending:
        warnings.append(
            f"page did not settle within {settle_s:g} s: "
            f"{len(pending)} request(s) still loading ({_sample(pending)})"
        )
    warnings.extend(_image_warnings(page))
    return warnings


class _Scroll:
    """Scrolls a page down a screen at a time, within ``max_scroll_steps`` in all."""

    def __init__(self, page: Page, options: CaptureOptions) -> None:
        self._page = page
        self._options = options
        self._steps_left = options.interaction.max_scroll_steps
        self._reached_end = True
        self._error = ""

    def down(self) -> None:
        """Scroll from where the page is now to its end (or until no steps are left)."""
        # Lazy images only load once scrolled near; a full-page screenshot alone
        # does not trigger them.
        if self._error or self._steps_left <= 0:
            return
        try:
            outcome = self._page.evaluate(
                _SCROLL_SCRIPT,
                {
                    "stepPx": max(self._options.rendering.viewport_height - 100, 200),
                    "delayMs": SCROLL_STEP_DELAY_MS,
                    "maxSteps": self._steps_left,
                },
            )
        except PlaywrightError as exc:
            self._error = f"could not scroll the page: {first_line(exc)}"
            return
        logger.debug("scrolled: %s", outcome)
        if isinstance(outcome, dict):
            self._steps_left -= int(outcome.get("steps", 0))
            self._reached_end = bool(outcome.get("reachedEnd", True))

    def back_to_top(self) -> list[str]:
        """Scroll back to the top; warnings for a page that could not be scrolled through."""
        if self._error:
            return [self._error]
        try:
            self._page.evaluate(_BACK_TO_TOP, {"delayMs": SCROLL_STEP_DELAY_MS})
        except PlaywrightError as exc:
            return [f"could not scroll the page: {first_line(exc)}"]
        if not self._reached_end:
            steps = self._options.interaction.max_scroll_steps
            return [
                f"stopped scrolling after {steps} screens; content "
                "further down (e.g. endless scrolling) may not have loaded"
            ]
        return []


def scroll_through(page: Page, options: CaptureOptions) -> list[str]:
    """Scroll a loaded page to its end and back to the top (for lazy content)."""
    scroll = _Scroll(page, options)
    scroll.down()
    return scroll.back_to_top()


def _wait_for_quiet(page: Page, recorder: TrafficRecorder, deadline: float) -> list[str]:
    """Poll until no request has been in flight for QUIET_PERIOD_S or the deadline passes.

    The quiet period counts from the recorder's last network event, so quiet
    time during the scroll counts too (as with Playwright's ``networkidle``),
    instead of always adding a full period at the end.
    """
    while True:
        pending = recorder.in_flight()
        now = time.monotonic()
        quiet_for = now - recorder.last_activity()
        if not pending and quiet_for >= QUIET_PERIOD_S:
            return []
        if now >= deadline:
            return pending
        wait_s = _POLL_MS / 1000 if pending else min(QUIET_PERIOD_S - quiet_for, _POLL_MS / 1000)
        # page.wait_for_timeout, not time.sleep: CDP events are only handled
        # while Playwright is waiting on the browser.
        page.wait_for_timeout(max(wait_s * 1000, 1))


def _image_warnings(page: Page) -> list[str]:
    try:
        state = page.evaluate(_IMAGE_STATE)
    except PlaywrightError as exc:
        return [f"could not check images: {first_line(exc)}"]
    warnings = []
    pending = [str(u) for u in state.get("pending", [])]
    broken = [str(u) for u in state.get("broken", [])]
    if pending:
        warnings.append(
            f"{len(pending)} of {state.get('total')} image(s) had not finished loading "
            f"({_sample(pending)})"
        )
    if broken:
        warnings.append(f"{len(broken)} image(s) failed to load ({_sample(broken)})")
    return warnings


def describe_navigation_error(exc: BaseException) -> str:
    message = str(exc)
    match = _NET_ERROR.search(message)
    if match:
        code = match.group(1)
        if code.startswith("ERR_CERT_"):
            return f"TLS certificate not accepted (net::{code})"
        plain = _NET_ERRORS.get(code)
        return f"{plain} (net::{code})" if plain else f"net::{code}"
    if "Download is starting" in message:
        return "the URL starts a download, not a page"
    return first_line(exc)


def first_line(exc: BaseException | str) -> str:
    """The first meaningful line of a Playwright error, without its call log."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    # Playwright prefixes the API name, e.g. "Page.goto: ".
    return re.sub(r"^[A-Za-z]+\.[A-Za-z_]+: ", "", line)


def _remaining_ms(deadline: float) -> float:
    return max(0.0, (deadline - time.monotonic()) * 1000)


def _sample(urls: list[str], limit: int = 3) -> str:
    shown = ", ".join(u if len(u) <= 120 else u[:119] + "…" for u in urls[:limit])
    return shown + (f", and {len(urls) - limit} more" if len(urls) > limit else "")
