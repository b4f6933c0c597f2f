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

from evidence.model.child_env import driver_environment

logger = logging.getLogger(__name__)

_thread = threading.local()

_HOOK = "get_driver_env"
"""What ``playwright._impl.transport`` calls for the driver's environment (1.4x-1.65)."""


def start_driver() -> contextlib.AbstractContextManager[Playwright]:
    """``sync_playwright()``, whose Node.js driver gets an allow-listed environment."""
    _allow_list_driver_environment()
    return sync_playwright()


def _allow_list_driver_environment() -> None:
    """Wrap Playwright's driver-environment function with the allow-list (once).

    Playwright offers no option for the driver's environment and copies the
    whole of ``os.environ`` into it. The command line has already withdrawn
    the secrets (evidence.model.secrets), so this is the second fence, for
    library callers too. It wraps a private function: when a Playwright
    upgrade moves it, the driver keeps working with the full environment, a
    warning says so, and tests/test_secrets_leak.py fails.
    """
    from playwright._impl import transport

    original = getattr(transport, _HOOK, None)
    if not callable(original):
        logger.warning(
            "this Playwright has no %s: its driver inherits the whole environment", _HOOK
        )
        return
    if getattr(original, "allow_listed", False):
        return

    def allow_listed() -> dict[str, str]:
        return driver_environment(original())

    allow_listed.allow_listed = True  # type: ignore[attr-defined]
    setattr(transport, _HOOK, allow_listed)


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
        with start_driver() as playwright:
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
            self._manager = start_driver()
            self._playwright = self._manager.__enter__()
        return self._playwright

    def stop(self) -> None:
        manager, self._manager, self._playwright = self._manager, None, None
        if manager is not None:
            try:
                manager.__exit__(None, None, None)
            except Exception:
                logger.debug("the shared Playwright driver did not stop cleanly", exc_info=True)
