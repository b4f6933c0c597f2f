"""The environment a child process gets: an allow-list, never the caller's whole environment.

Officers' and experts' passphrases, chain keys and credentials reach the
toolkit through environment variables. A child that inherits them keeps them
in ``/proc/PID/environ`` for as long as it runs (a local chain or a TSA
server runs for hours), readable by anything that can read that file. So
every child the toolkit starts gets only what it needs to run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

# What programs need to find themselves, speak the right locale and keep
# temporary files where the operator wants them.
ALLOWED: frozenset[str] = frozenset(
    {"PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR", "HOME"}
)


def child_environment(
    *, keep: Iterable[str] = (), extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The allow-listed part of this process's environment, plus ``keep`` and ``extra``.

    ``keep`` names further variables a particular child must see (for
    example the one ``openssl -passin env:NAME`` reads); ``extra`` sets
    values outright.
    """
    names = ALLOWED | frozenset(keep)
    env = {name: value for name, value in os.environ.items() if name in names}
    env.setdefault("PATH", os.defpath)
    if extra:
        env.update(extra)
    return env


# Playwright's driver reads its own settings (browsers path, language binding,
# debug switches) from these; none is a credential.
_DRIVER_PREFIXES: tuple[str, ...] = ("PLAYWRIGHT_", "PW_")
_DRIVER_NAMES: frozenset[str] = frozenset({"DEBUG", "DEBUG_FILE"})


def driver_environment(full: Mapping[str, str]) -> dict[str, str]:
    """The part of ``full`` the Playwright Node.js driver may see.

    ``full`` is what Playwright built for it (this process's whole
    environment plus its own ``PW_*`` values); the driver keeps only the
    allow-list and Playwright's own variables.
    """
    env = {
        name: value
        for name, value in full.items()
        if name in ALLOWED or name in _DRIVER_NAMES or name.startswith(_DRIVER_PREFIXES)
    }
    env.setdefault("PATH", os.defpath)
    return env
