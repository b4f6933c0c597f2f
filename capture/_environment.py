"""The clean-environment check (清洁性检查) recorded with every capture.

What a careful examiner asks of the machine that took a capture: is its clock
right, does traffic go through a proxy, does the hosts file redirect names,
which DNS servers answer, is the browser profile fresh and free of
extensions, which browser build with which flags, which software versions.
Every item is recorded with an :class:`EnvironmentStatus` (pass, warn, fail, not checked)
and a plain reason; nothing is dropped because it failed. Under the
``refuse`` policy a failing item stops the capture before the page is opened.

The clock check reads the operating system's clock directly (not the
injected clock), because the OS clock is what it checks.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import os
import platform
import socket
import struct
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from capture._dns import getaddrinfo_bounded
from evidence.model.capture_options import CaptureOptions, CheckPolicy
from evidence.model.capture_record import EnvironmentCheck
from evidence.model.capture_record import EnvironmentStatus as Status
from evidence.model.errors import CaptureError
from evidence.model.records import isoformat
from evidence.model.version import __version__ as toolkit_version
from evidence.model.version import dependency_versions

logger = logging.getLogger(__name__)

ENVIRONMENT_FORMAT = "evidence-toolkit/environment/v1"

CLOCK_WARN_MS = 1_000
CLOCK_FAIL_MS = 10_000
"""Offsets beyond these are flagged: a second is visible in request logs, ten
seconds would misplace the capture against the timestamp authority's time."""
NTP_TIMEOUT_S = 1.0
PROFILE_AGE_TOLERANCE_S = 5.0
"""The browser's profile directory must be created no earlier than this before launch."""

HOSTS_FILE = Path("/etc/hosts")
RESOLV_CONF = Path("/etc/resolv.conf")

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy")

_DEFAULT_HOST_NAMES = frozenset(
    {
        "localhost",
        "localhost.localdomain",
        "localhost4",
        "localhost4.localdomain4",
        "localhost6",
        "localhost6.localdomain6",
        "ip6-localhost",
        "ip6-loopback",
        "ip6-localnet",
        "ip6-mcastprefix",
        "ip6-allnodes",
        "ip6-allrouters",
        "ip6-allhosts",
    }
)

_NTP_EPOCH_OFFSET = 2_208_988_800
"""Seconds from 1900-01-01 (NTP era 0) to 1970-01-01."""


@dataclass(slots=True)
class EnvironmentState:
    """The checks gathered so far and the document written as ``environment.json``."""

    checks: list[EnvironmentCheck] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)
    clock_offset_ms: int | None = None
    clock_source: str = ""
    outbound_ip: str | None = None
    hostname: str = ""

    def add(self, name: str, status: Status, detail: str) -> None:
        self.checks.append(EnvironmentCheck(name, status, detail))

    def failures(self) -> list[EnvironmentCheck]:
        return [c for c in self.checks if c.status is Status.FAIL]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": ENVIRONMENT_FORMAT,
            "checks": [
                {"name": c.name, "status": c.status, "detail": c.detail} for c in self.checks
            ],
            **self.document,
        }


def enforce_policy(state: EnvironmentState, options: CaptureOptions) -> None:
    """Raise :class:`CaptureError` naming the first failing check under the ``refuse`` policy."""
    if options.environment.policy is not CheckPolicy.REFUSE:
        return
    failures = state.failures()
    if failures:
        first = failures[0]
        more = f" (and {len(failures) - 1} more failing check(s))" if len(failures) > 1 else ""
        raise CaptureError(
            f"capture refused by the clean-environment policy: {first.name} failed: "
            f"{first.detail}{more}",
            hint="Fix the machine, or capture with the environment policy 'record' to record it.",
        )


def check_host(target_url: str, options: CaptureOptions) -> EnvironmentState:
    """Everything that can be checked before the browser starts."""
    state = EnvironmentState()
    state.hostname = socket.gethostname()
    target_host = (urlsplit(target_url).hostname or "").lower()
    _check_clock(state, options)
    _check_proxy_environment(state)
    _check_hosts_file(state, target_host, state.hostname)
    _check_dns_servers(state)
    _check_outbound(state, target_url)
    state.document["software"] = {
        "toolkit": toolkit_version,
        "recorded_software": f"{options.provenance.software}/{options.provenance.software_version}",
        "python": sys.version.split()[0],
        "dependencies": dependency_versions(),
    }
    state.document["os"] = {
        "platform": platform.platform(),
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
    }
    state.document["hostname"] = state.hostname
    state.add(
        "software",
        Status.PASS,
        f"evidence-toolkit {toolkit_version} on Python {sys.version.split()[0]}, "
        f"{platform.platform()}, host {state.hostname}",
    )
    return state


def browser_facts(version: dict[str, Any], processes: dict[str, Any]) -> dict[str, Any]:
    """Build, executable and exact argv of the running browser.

    ``version`` and ``processes`` are the answers to CDP ``Browser.getVersion``
    and ``SystemInfo.getProcessInfo``; the argv is read from ``/proc``, so it is
    what the kernel started, not what the toolkit meant to pass.
    ``Browser.getBrowserCommandLine`` would need ``--enable-automation``, which
    sites can detect.
    """
    facts: dict[str, Any] = {
        "version": str(version.get("product", "")).partition("/")[2],
        "product": str(version.get("product", "")),
        "revision": str(version.get("revision", "")).lstrip("@"),
        "default_user_agent": str(version.get("userAgent", "")),
        "js_version": str(version.get("jsVersion", "")),
        "command_line": [],
        "executable": "",
    }
    pid = next(
        (p.get("id") for p in processes.get("processInfo", ()) if p.get("type") == "browser"),
        None,
    )
    if isinstance(pid, int):
        facts["pid"] = pid
        with contextlib.suppress(OSError):
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            facts["command_line"] = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
        with contextlib.suppress(OSError):
            facts["executable"] = os.readlink(f"/proc/{pid}/exe")
    return facts


def check_browser(state: EnvironmentState, facts: dict[str, Any], launched_at: float) -> None:
    """Browser build, launch flags, proxy flags and profile."""
    command_line = [str(a) for a in facts.get("command_line", ())]
    flags = [arg for arg in command_line[1:] if arg.startswith("--")]
    state.document["browser"] = dict(facts)
    if not command_line:
        state.add(
            "browser",
            Status.NOT_CHECKED,
            f"Chromium {facts.get('version') or '?'}: its command line could not be read",
        )
    else:
        state.add(
            "browser",
            Status.PASS,
            f"Chromium {facts.get('version') or '?'} ({facts.get('executable') or command_line[0]}"
            f"), {len(flags)} launch flags recorded",
        )
    proxy_flags = [f for f in flags if f.split("=", 1)[0] in ("--proxy-server", "--proxy-pac-url")]
    if not command_line:
        state.add("browser_proxy", Status.NOT_CHECKED, "the browser's launch flags are unknown")
    elif proxy_flags:
        state.add("browser_proxy", Status.WARN, "browser launched with " + " ".join(proxy_flags))
    elif "--no-proxy-server" in flags:
        state.add("browser_proxy", Status.PASS, "browser launched with --no-proxy-server")
    else:
        detail = "no proxy flag"
        if _proxy_environment():
            detail += "; Chromium on Linux follows the proxy environment variables set"
            state.add("browser_proxy", Status.WARN, detail)
        else:
            state.add("browser_proxy", Status.PASS, detail + " and no proxy environment: direct")
    state.document["browser"]["proxy_flags"] = proxy_flags
    _check_profile(state, flags, launched_at)


def finish(state: EnvironmentState, checked_at: datetime) -> dict[str, Any]:
    state.document["checked_at"] = isoformat(checked_at)
    return state.to_json()


# --- clock ---------------------------------------------------------------------


def _check_clock(state: EnvironmentState, options: CaptureOptions) -> None:
    local = datetime.now(UTC)
    clock: dict[str, Any] = {"local": isoformat(local)}
    state.document["clock"] = clock
    offset_ms: int | None = None
    source = ""
    tried: list[str] = []
    reference_clock = options.environment.reference_clock
    if reference_clock is not None:
        try:
            reference = reference_clock()
            local = datetime.now(UTC)
            offset_ms = round((local - reference).total_seconds() * 1000)
            source = "reference clock"
            clock["reference"] = isoformat(reference)
        except Exception as exc:
            tried.append(f"reference clock: {exc}")
    if offset_ms is None:
        for server in options.environment.ntp_servers:
            try:
                offset_s = sntp_offset(server)
            except (OSError, ValueError) as exc:
                tried.append(f"{server}: {exc}")
                continue
            offset_ms = round(offset_s * 1000)
            source = f"ntp:{server}"
            break
    clock["tried"] = tried
    if offset_ms is None:
        reason = "; ".join(tried) if tried else "no NTP server configured"
        state.add("clock", Status.NOT_CHECKED, f"not checked: no NTP server reachable ({reason})")
        return
    clock["source"] = source
    clock["offset_ms"] = offset_ms
    state.clock_offset_ms = offset_ms
    state.clock_source = source
    detail = f"local clock {offset_ms:+d} ms against {source}"
    if abs(offset_ms) > CLOCK_FAIL_MS:
        state.add("clock", Status.FAIL, detail + f" (more than {CLOCK_FAIL_MS // 1000} s off)")
    elif abs(offset_ms) > CLOCK_WARN_MS:
        state.add("clock", Status.WARN, detail + f" (more than {CLOCK_WARN_MS // 1000} s off)")
    else:
        state.add("clock", Status.PASS, detail)


def sntp_offset(server: str, timeout_s: float = NTP_TIMEOUT_S) -> float:
    """Local clock minus the server's, in seconds, from one SNTPv4 exchange (RFC 4330)."""
    host, _, port_text = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
    host = host or server
    port = int(port_text) if port_text else 123
    address = _resolve_bounded(host, port, timeout_s)
    request = bytearray(48)
    request[0] = 0x23  # LI 0, version 4, mode 3 (client)
    sent = time.time()
    transmit = _to_ntp(sent)
    request[40:48] = transmit
    with socket.socket(address[0], socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.sendto(bytes(request), address[1])
        try:
            data, _ = sock.recvfrom(512)
        except TimeoutError:
            raise OSError(f"no answer within {timeout_s:g} s") from None
        received = time.time()
    if len(data) < 48:
        raise ValueError("short NTP answer")
    mode, stratum = data[0] & 0x7, data[1]
    if mode != 4 or stratum == 0:
        raise ValueError(f"unusable NTP answer (mode {mode}, stratum {stratum})")
    if data[24:32] != transmit:
        # Without the echo the answer may belong to another request or be forged.
        raise ValueError("NTP answer does not echo our request")
    server_received = _from_ntp(data[32:40])
    server_sent = _from_ntp(data[40:48])
    return ((sent - server_received) + (received - server_sent)) / 2


def _resolve_bounded(host: str, port: int, timeout_s: float) -> tuple[int, tuple[Any, ...]]:
    answers = getaddrinfo_bounded(host, port, timeout_s, type=socket.SOCK_DGRAM)
    family, _type, _proto, _name, sockaddr = answers[0]
    return int(family), tuple(sockaddr)


def _to_ntp(unix: float) -> bytes:
    seconds = int(unix) + _NTP_EPOCH_OFFSET
    fraction = int((unix % 1) * 2**32)
    return struct.pack("!II", seconds & 0xFFFFFFFF, fraction)


def _from_ntp(data: bytes) -> float:
    seconds, fraction = struct.unpack("!II", data)
    return float(int(seconds) - _NTP_EPOCH_OFFSET) + int(fraction) / 2**32


# --- network configuration -------------------------------------------------------


def _proxy_environment() -> dict[str, str]:
    found = {}
    for name in PROXY_VARIABLES:
        for variant in (name, name.upper()):
            value = os.environ.get(variant)
            if value:
                found[variant] = _mask_credentials(value)
    return found


def _mask_credentials(value: str) -> str:
    parts = urlsplit(value) if "://" in value else None
    if parts is not None and parts.password:
        return value.replace(f":{parts.password}@", ":***@")
    return value


def _check_proxy_environment(state: EnvironmentState) -> None:
    found = _proxy_environment()
    state.document["proxy_environment"] = found
    proxies = {k: v for k, v in found.items() if k.lower() != "no_proxy"}
    if proxies:
        shown = ", ".join(f"{k}={v}" for k, v in proxies.items())
        state.add("proxy_environment", Status.WARN, f"proxy variables set: {shown}")
    elif found:
        state.add(
            "proxy_environment", Status.PASS, "only no_proxy is set: " + ", ".join(found.values())
        )
    else:
        state.add("proxy_environment", Status.PASS, "no proxy variables set")


def _check_hosts_file(state: EnvironmentState, target_host: str, hostname: str) -> None:
    try:
        data = HOSTS_FILE.read_bytes()
    except OSError as exc:
        state.document["hosts_file"] = {"path": str(HOSTS_FILE), "error": str(exc)}
        state.add("hosts_file", Status.NOT_CHECKED, f"cannot read {HOSTS_FILE}: {exc.strerror}")
        return
    own_names = {hostname.lower(), hostname.lower().split(".")[0], socket.getfqdn().lower()}
    unusual = []
    overriding = []
    for address, names in parse_hosts(data.decode("utf-8", "replace")):
        if not _is_default_entry(address, names, own_names):
            unusual.append(f"{address} {' '.join(names)}")
            if target_host in (n.lower() for n in names):
                overriding.append(f"{address} {target_host}")
    digest = hashlib.sha256(data).hexdigest()
    state.document["hosts_file"] = {
        "path": str(HOSTS_FILE),
        "sha256": digest,
        "non_default_entries": unusual,
    }
    if overriding:
        state.add(
            "hosts_file",
            Status.FAIL,
            f"{HOSTS_FILE} maps the target host: {', '.join(overriding)} (sha256 {digest})",
        )
    elif unusual:
        more = f", and {len(unusual) - 5} more" if len(unusual) > 5 else ""
        shown = ", ".join(unusual[:5]) + more
        state.add("hosts_file", Status.WARN, f"non-default entries: {shown} (sha256 {digest})")
    else:
        state.add("hosts_file", Status.PASS, f"only default entries (sha256 {digest})")


def parse_hosts(text: str) -> list[tuple[str, list[str]]]:
    entries = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            entries.append((fields[0], fields[1:]))
    return entries


def _is_default_entry(address: str, names: Iterable[str], own_names: set[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    allowed = _DEFAULT_HOST_NAMES | own_names
    lowered = [n.lower() for n in names]
    if ip.is_loopback or ip.is_multicast or ip.is_link_local or address.startswith("fe00:"):
        return all(n in allowed for n in lowered)
    # Debian maps the machine's own name to its address; nothing else is default.
    return all(n in own_names for n in lowered)


def _check_dns_servers(state: EnvironmentState) -> None:
    try:
        data = RESOLV_CONF.read_bytes()
    except OSError as exc:
        state.document["dns"] = {"resolv_conf": str(RESOLV_CONF), "error": str(exc)}
        state.add("dns_servers", Status.NOT_CHECKED, f"cannot read {RESOLV_CONF}: {exc.strerror}")
        return
    nameservers, search = [], []
    for line in data.decode("utf-8", "replace").splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            nameservers.append(fields[1])
        elif fields and fields[0] in ("search", "domain"):
            search.extend(fields[1:])
    state.document["dns"] = {
        "resolv_conf": str(RESOLV_CONF),
        "sha256": hashlib.sha256(data).hexdigest(),
        "nameservers": nameservers,
        "search": search,
    }
    if nameservers:
        state.add("dns_servers", Status.PASS, "nameservers: " + ", ".join(nameservers))
    else:
        state.add("dns_servers", Status.WARN, f"no nameserver in {RESOLV_CONF}")


def _check_outbound(state: EnvironmentState, target_url: str) -> None:
    parts = urlsplit(target_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        family, sockaddr = _resolve_bounded(host, port, 2.0)
        # A UDP connect sends nothing; it only asks the kernel which route and
        # source address traffic to the target would use.
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect(sockaddr)
            local = str(sock.getsockname()[0])
    except OSError as exc:
        state.document["outbound"] = {"target": f"{host}:{port}", "error": str(exc)}
        state.add("outbound_ip", Status.NOT_CHECKED, f"no route to {host}:{port} found: {exc}")
        return
    state.outbound_ip = local
    state.document["outbound"] = {"target": f"{host}:{port}", "local_address": local}
    state.add("outbound_ip", Status.PASS, f"traffic to {host}:{port} leaves from {local}")


# --- browser profile ---------------------------------------------------------------


def _check_profile(state: EnvironmentState, flags: list[str], launched_at: float) -> None:
    user_data = next((f.split("=", 1)[1] for f in flags if f.startswith("--user-data-dir=")), "")
    info: dict[str, Any] = {"user_data_dir": user_data}
    state.document["browser_profile"] = info
    if not user_data:
        state.add(
            "browser_profile", Status.NOT_CHECKED, "the browser's user data directory is unknown"
        )
        return
    directory = Path(user_data)
    problems = []
    try:
        created = directory.stat().st_ctime
    except OSError as exc:
        state.add(
            "browser_profile", Status.NOT_CHECKED, f"cannot inspect {directory}: {exc.strerror}"
        )
        return
    info["created_at"] = isoformat(datetime.fromtimestamp(created, UTC))
    temp_root = Path(tempfile.gettempdir()).resolve()
    if not directory.resolve().is_relative_to(temp_root):
        problems.append(f"{directory} is not a temporary directory")
    if created < launched_at - PROFILE_AGE_TOLERANCE_S:
        problems.append(f"{directory} existed before this browser was started")
    extensions = sorted(_installed_extensions(directory))
    info["extensions"] = extensions
    info["extensions_disabled"] = "--disable-extensions" in flags
    if extensions:
        problems.append("extensions installed: " + ", ".join(extensions))
    if "--disable-extensions" not in flags:
        problems.append("the browser was not started with --disable-extensions")
    if problems:
        state.add("browser_profile", Status.FAIL, "; ".join(problems))
    else:
        state.add(
            "browser_profile",
            Status.PASS,
            f"fresh temporary profile {directory}, extensions disabled, none installed",
        )


def _installed_extensions(user_data: Path) -> Iterable[str]:
    with contextlib.suppress(OSError):
        for profile in user_data.iterdir():
            extensions = profile / "Extensions"
            if extensions.is_dir():
                for entry in extensions.iterdir():
                    yield f"{profile.name}/{entry.name}"
