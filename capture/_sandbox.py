"""A Chromium with no way out, for replaying pages that came from someone else.

A bundle's page is untrusted code. Serving its requests from the WARC through
request interception is not enough on its own: WebRTC sends STUN over UDP
past any proxy, and interception sees neither WebSockets nor what the network
stack does by itself (DNS prefetch, preconnect). So the replay browser is
fenced at three levels; the first two each keep every packet in on their own
(tests/test_replay_sealed.py proves both, with and without interception):

1. **No network at all.** Playwright drives Chromium over
   ``--remote-debugging-pipe`` (inherited file descriptors), never a socket,
   so Chromium can run in a fresh network namespace where not even loopback
   is up: nothing (TCP, UDP, DNS) can leave, whatever the page does. Root
   gets one with ``unshare --net``; anyone else with ``unshare --user --net
   --map-current-user`` where the kernel allows unprivileged user namespaces.
2. **Flags.** Where no namespace can be made (some containers, hardened
   kernels), and in addition to it otherwise: a dead proxy that Playwright
   also applies to loopback (``<-loopback>``), a host resolver that resolves
   nothing, and WebRTC limited to proxied UDP, which with a dead proxy is
   none. ``--force-webrtc-ip-handling-policy`` is not used: Chromium 156 has
   no such switch and still sent STUN with it.
3. **Chromium's own sandbox, as nobody**, for a page that breaks out of its
   renderer. Chromium refuses its sandbox as
   root, so a root verifier starts it as the unprivileged ``nobody`` (with
   ``setpriv``, every capability and supplementary group dropped). Its
   sandbox needs unprivileged user namespaces for that user; where the
   kernel refuses them Chromium runs with ``--no-sandbox``, still as nobody
   and still fenced, and :class:`Seal` says so.

Chromium also sees none of the caller's environment: the allow-list of
:func:`child_environment`, with ``HOME`` and ``TMPDIR`` pointing into a
private directory that nobody owns and that is removed afterwards.

Cost, measured on a busy 2-core Debian 12 machine (Chromium 156; launch, one
small page, screenshot, close; 8 interleaved rounds): unfenced 0.61 s best,
1.08 s median; namespace + sandbox + nobody 0.65 s best, 1.49 s median;
flags only + sandbox 0.95 s best, 1.22 s median. The probes take about 10 ms,
once per process. Within this machine's noise the fences cost a few tenths
of a second per replay at most.
"""

from __future__ import annotations

import enum
import functools
import logging
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from capture._browser import first_line
from evidence.model.child_env import child_environment
from evidence.model.errors import BrowserUnavailableError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

logger = logging.getLogger(__name__)

DEAD_PROXY = "http://127.0.0.1:9"
"""Port 9 (discard) on loopback: nothing listens, so whatever is proxied fails."""

FENCE_ARGS = (
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)

_UNPRIVILEGED_USER = "nobody"
_FALLBACK_ID = 65534
_PROBE_TIMEOUT_S = 5.0


class ReplayIsolation(enum.StrEnum):
    """How the replay browser was kept off the network."""

    NETWORK_NAMESPACE = "network-namespace"
    """An empty network namespace: no interface but a down loopback."""
    FLAGS_ONLY = "flags-only"
    """No namespace could be made: dead proxy, no resolver, no direct UDP."""


@dataclass(frozen=True)
class Seal:
    """The fences a replay browser actually ran behind."""

    isolation: ReplayIsolation
    sandboxed: bool
    """Whether Chromium's own sandbox was on (no ``--no-sandbox``)."""
    uid: int
    """The user Chromium ran as."""


@dataclass(frozen=True)
class _Plan:
    seal: Seal
    prefix: tuple[str, ...]
    """Command words that start Chromium in its namespace, as its user."""
    gid: int


@contextmanager
def sealed_chromium(
    playwright: Playwright,
    executable: Path,
    *,
    args: tuple[str, ...],
    timeout_ms: float,
    network_namespace: bool = True,
) -> Iterator[tuple[Browser, Seal]]:
    """Launch ``executable`` behind every fence this machine allows.

    ``network_namespace=False`` skips the namespace (the flags alone are then
    the fence); it exists so the fallback can be tested where namespaces work.
    """
    plan = _plan(network_namespace)
    with _private_home(plan) as home:
        wrapper = _write_wrapper(home, executable, plan.prefix)
        env = child_environment(extra={"HOME": str(home), "TMPDIR": str(home)})

        def launch(sandboxed: bool) -> Browser:
            return playwright.chromium.launch(
                executable_path=wrapper,
                args=[*args, *FENCE_ARGS],
                proxy={"server": DEAD_PROXY},
                chromium_sandbox=sandboxed,
                timeout=timeout_ms,
                env=dict(env),
            )

        browser, seal = _start(launch, plan.seal, executable)
        try:
            yield browser, seal
        finally:
            browser.close()


def _start(launch: Callable[[bool], Browser], seal: Seal, executable: Path) -> tuple[Browser, Seal]:
    """Launch with the sandbox the plan promised, and without it if Chromium disagrees."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        try:
            return launch(seal.sandboxed), seal
        except PlaywrightError as exc:
            if not seal.sandboxed:
                raise
            # The probe said yes but Chromium could not set its sandbox up (a
            # security module may treat Chromium unlike `unshare`): degrade
            # openly rather than give the verifier no replay at all.
            logger.warning(
                "Chromium's sandbox did not start, replaying without: %s", first_line(exc)
            )
            unsandboxed = Seal(seal.isolation, sandboxed=False, uid=seal.uid)
            return launch(False), unsandboxed
    except PlaywrightError as exc:
        raise BrowserUnavailableError(
            f"could not start Chromium at {executable}: {first_line(exc)}"
        ) from None


def _plan(network_namespace: bool) -> _Plan:
    """Which fences this machine allows, found by trying each once."""
    uid, gid, drop = _browser_user()
    namespace: tuple[str, ...] = ()
    if network_namespace:
        namespace = _namespace_prefix()
    prefix = namespace + drop
    isolation = ReplayIsolation.NETWORK_NAMESPACE if namespace else ReplayIsolation.FLAGS_ONLY
    # Chromium as root refuses its sandbox; otherwise it needs user namespaces.
    sandboxed = uid != 0 and _works(prefix + _user_namespace_probe())
    return _Plan(Seal(isolation, sandboxed, uid), prefix, gid)


def _browser_user() -> tuple[int, int, tuple[str, ...]]:
    """(uid, gid, command words that switch to it) for the browser."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid(), ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        logger.warning("setpriv not found: the replay browser runs as root, unsandboxed")
        return 0, 0, ()
    try:
        entry = pwd.getpwnam(_UNPRIVILEGED_USER)
        uid, gid = entry.pw_uid, entry.pw_gid
    except KeyError:
        uid = gid = _FALLBACK_ID
    drop = (
        setpriv,
        f"--reuid={uid}",
        f"--regid={gid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    )
    return uid, gid, drop


def _namespace_prefix() -> tuple[str, ...]:
    """Command words that enter a new, empty network namespace, or () if none can be made."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    if os.geteuid() == 0:
        prefix: tuple[str, ...] = (unshare, "--net", "--")
    else:
        prefix = (unshare, "--user", "--map-current-user", "--net", "--")
    return prefix if _works(prefix) else ()


def _user_namespace_probe() -> tuple[str, ...]:
    unshare = shutil.which("unshare")
    # What Chromium's namespace sandbox creates for each of its processes.
    return (unshare, "--user", "--pid", "--net", "--fork", "--") if unshare else ("false",)


@functools.cache
def _works(prefix: tuple[str, ...]) -> bool:
    """Whether ``prefix true`` succeeds: the kernel grants what ``prefix`` asks for."""
    true = shutil.which("true") or "/bin/true"
    try:
        done = subprocess.run(
            [*prefix, true],
            env=child_environment(),
            capture_output=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.info("%s: %s", shlex.join(prefix), exc)
        return False
    if done.returncode != 0:
        logger.info("%s: %s", shlex.join(prefix), done.stderr.decode(errors="replace").strip())
    return done.returncode == 0


@contextmanager
def _private_home(plan: _Plan) -> Iterator[Path]:
    """A fresh directory for the browser's profile, HOME and TMPDIR, owned by its user."""
    outer = Path(tempfile.mkdtemp(prefix="evidence-replay-", dir=_base_for(plan.seal.uid)))
    try:
        # The wrapper stays root's; the browser's user may only pass through.
        outer.chmod(0o711)
        home = outer / "home"
        home.mkdir(mode=0o700)
        if plan.seal.uid != os.geteuid():
            os.chown(home, plan.seal.uid, plan.gid)
        yield home
    finally:
        shutil.rmtree(outer, onerror=_log_cleanup_error)


def _base_for(uid: int) -> str | None:
    """The temp directory, unless the browser's user could not reach into it."""
    base = Path(tempfile.gettempdir())
    if uid == os.geteuid():
        return None
    reachable = all(p.stat().st_mode & stat.S_IXOTH for p in (base, *base.parents))
    return None if reachable else "/tmp"


def _log_cleanup_error(
    function: object, path: str, exc_info: tuple[type[BaseException], BaseException, object]
) -> None:
    logger.warning("could not remove %s after the replay: %s", path, exc_info[1])


def _write_wrapper(home: Path, executable: Path, prefix: tuple[str, ...]) -> Path:
    """A script Playwright starts as "Chromium": enters the fences, then execs it.

    It also swaps Playwright's own profile directory (made for the caller,
    unusable by the browser's user) for one inside ``home``.
    """
    profile = shlex.quote(f"--user-data-dir={home / 'profile'}")
    command = shlex.join([*prefix, str(executable)])
    script = (
        "#!/bin/sh\n"
        "for arg do\n"
        "  shift\n"
        f'  case "$arg" in --user-data-dir=*) arg={profile} ;; esac\n'
        '  set -- "$@" "$arg"\n'
        "done\n"
        f'exec {command} "$@"\n'
    )
    wrapper = home.parent / "chromium"
    wrapper.write_text(script, encoding="utf-8")
    wrapper.chmod(0o700)
    return wrapper


__all__ = ["DEAD_PROXY", "FENCE_ARGS", "ReplayIsolation", "Seal", "sealed_chromium"]
