"""The Playwright driver process, started per capture or shared by a batch worker.

``sync_playwright()`` starts a Node.js driver (about 0.3 s and 0.4 CPU-seconds
here) before any browser exists. A batch worker captures one URL after
another on its own thread, so :func:`shared_driver` keeps one driver for the
thread. Each capture still launches its own Chromium with a fresh profile and
closes it, so nothing a page leaves behind reaches the next capture; the
driver only relays protocol messages.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from playwright.sync_api import Playwright, sync_playwright

logger = logging.getLogger(__name__)

_thread = threading.local()


@contextlib.contextmanager
def shared_driver() -> Iterator[None]:
    """Captures on this thread inside the block share one Playwright driver."""
    if getattr(_thread, "shared", None) is not None:
        yield  # already inside an outer block on this thread
        return
    _thread.shared = _Shared()
    try:
        yield
    finally:
        _thread.shared.stop()
        _thread.shared = None


@contextlib.contextmanager
def driver() -> Iterator[Playwright]:
    """The thread's shared driver, or a driver of its own for this one capture."""
    shared: _Shared | None = getattr(_thread, "shared", None)
    if shared is None:
        with sync_playwright() as playwright:
            yield playwright
        return
    try:
        yield shared.get()
    except BaseException:
        # The driver may be what failed (it crashed, or a timeout left it
        # waiting on a dead browser); the next capture starts a new one.
        shared.stop()
        raise


class _Shared:
    def __init__(self) -> None:
        self._manager: contextlib.AbstractContextManager[Playwright] | None = None
        self._playwright: Playwright | None = None

    def get(self) -> Playwright:
        if self._playwright is None:
            self._manager = sync_playwright()
            self._playwright = self._manager.__enter__()
        return self._playwright

    def stop(self) -> None:
        manager, self._manager, self._playwright = self._manager, None, None
        if manager is not None:
            try:
                manager.__exit__(None, None, None)
            except Exception:
                logger.debug("the shared Playwright driver did not stop cleanly", exc_info=True)
