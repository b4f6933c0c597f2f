"""Load modules a command will need while it waits on something else.

``evidence capture`` spends seconds waiting on Chromium, then needs the chain
client (web3 and eth_account take about a second to import) to anchor. On a
machine with a core to spare, importing them in the meantime takes that
second off what the officer waits for.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Sequence

logger = logging.getLogger(__name__)


def preload(modules: Sequence[str]) -> threading.Thread:
    """Import ``modules`` in a background thread; join it before relying on the result.

    An import that fails here is only logged: the command's own import of
    the same module, later, raises the real error where it is handled.
    """

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # re-raised by the real import, later
                logger.debug("preloading %s failed", name, exc_info=True)

    thread = threading.Thread(target=load, name="evidence-preload", daemon=True)
    thread.start()
    return thread
