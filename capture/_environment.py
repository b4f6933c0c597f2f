"""The clean-environment check (清洁性检查) recorded with every capture.

What a careful examiner asks of the machine that took a capture: is its clock
right, does traffic go through a proxy, does the hosts file redirect names,
which DNS servers answer, is the browser profile fresh and free of
extensions, which browser build with which flags, which software versions.
Every item is recorded with an :class:`EnvironmentStatus` (pass, warn, fail, not checked)
and a plain reason; nothing is dropped because it failed. Under the
``refuse`` policy a failing item stops the capture before the page is opened.

Each item carries coded findings (:mod:`evidence.model.environment_messages`)
beside its English detail, so a report can state them in its own language.
The clock check is :mod:`capture._clock`; the public exit address
:mod:`capture._ip_echo`.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import os
import platform
import socket
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from capture._clock import check_clock
from capture._dns import getaddrinfo_bounded
from capture._ip_echo import EchoError, public_address
from evidence.model.capture_options import CaptureOptions, CheckPolicy, ClockPolicy
from evidence.model.capture_record import EnvironmentCheck
from evidence.model.capture_record import EnvironmentStatus as Status
from evidence.model.environment_messages import (
    CheckName,
    EnvironmentFinding,
    FindingCode,
    render_findings,
)
from evidence.model.errors import CaptureError
from evidence.model.records import isoformat
from evidence.model.version import __version__ as toolkit_version
from evidence.model.version import dependency_versions

logger = logging.getLogger(__name__)

ENVIRONMENT_FORMAT = "evidence-toolkit/environment/v1"

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


@dataclass(slots=True)
class EnvironmentState:
    """The checks gathered so far and the document written as ``environment.json``."""

    checks: list[EnvironmentCheck] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)
    clock_offset_ms: int | None = None
    clock_source: str = ""
    outbound_ip: str | None = None
    outbound_ip_service: str = ""
    hostname: str = ""

    def add(self, name: CheckName, status: Status, *findings: EnvironmentFinding) -> None:
        detail = render_findings(findings, None)
        self.checks.append(EnvironmentCheck(name.value, status, detail, findings))

    def find(self, name: CheckName) -> EnvironmentCheck | None:
        return next((c for c in self.checks if c.name == name.value), None)

    def failures(self) -> list[EnvironmentCheck]:
        return [c for c in self.checks if c.status is Status.FAIL]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": ENVIRONMENT_FORMAT,
            "checks": [
                {
                    "name": c.name,
                    "status": c.status,
                    "detail": c.detail,
                    "findings": [f.to_json() for f in c.findings],
                }
                for c in self.checks
            ],
            **self.document,
        }


def enforce_policy(state: EnvironmentState, options: CaptureOptions) -> None:
    """Raise :class:`CaptureError` naming the first failing check under the ``refuse`` policy,
    or a clock that is off or unchecked under the ``refuse`` clock policy."""
    _enforce_clock_policy(state, options)
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


def _enforce_clock_policy(state: EnvironmentState, options: CaptureOptions) -> None:
    clock = state.find(CheckName.CLOCK)
    if options.environment.clock_policy is not ClockPolicy.REFUSE or clock is None:
        return
    if clock.status is not Status.PASS:
        raise CaptureError(
            f"capture refused by the clock policy: {clock.detail}",
            hint=(
                "Set the machine's clock (or configure a reachable NTP server or clock URL), "
                "or capture with the clock policy 'warn' to record the problem."
            ),
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
    _check_outbound(state, target_url, options.environment.ip_echo_url)
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
        CheckName.SOFTWARE,
        Status.PASS,
        EnvironmentFinding.of(
            FindingCode.SOFTWARE,
            toolkit=f"evidence-toolkit {toolkit_version}",
            python=sys.version.split()[0],
            platform=platform.platform(),
            host=state.hostname,
        ),
    )
    return state


def _check_clock(state: EnvironmentState, options: CaptureOptions) -> None:
    result = check_clock(options.environment)
    state.document["clock"] = result.document
    state.clock_offset_ms = result.offset_ms
    state.clock_source = result.source
    state.add(CheckName.CLOCK, result.status, *result.findings)


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
    version = facts.get("version") or "?"
    if not command_line:
        found = EnvironmentFinding.of(FindingCode.BROWSER_UNKNOWN, version=version)
        state.add(CheckName.BROWSER, Status.NOT_CHECKED, found)
    else:
        executable = facts.get("executable") or command_line[0]
        found = EnvironmentFinding.of(
            FindingCode.BROWSER_BUILD, version=version, executable=executable, flags=len(flags)
        )
        state.add(CheckName.BROWSER, Status.PASS, found)
    proxy_flags = [f for f in flags if f.split("=", 1)[0] in ("--proxy-server", "--proxy-pac-url")]
    _check_browser_proxy(state, command_line, flags, proxy_flags)
    state.document["browser"]["proxy_flags"] = proxy_flags
    _check_profile(state, flags, launched_at)


def _check_browser_proxy(
    state: EnvironmentState, command_line: list[str], flags: list[str], proxy_flags: list[str]
) -> None:
    name = CheckName.BROWSER_PROXY
    if not command_line:
        state.add(
            name, Status.NOT_CHECKED, EnvironmentFinding.of(FindingCode.BROWSER_PROXY_UNKNOWN)
        )
    elif proxy_flags:
        found = EnvironmentFinding.of(FindingCode.BROWSER_PROXY_FLAGS, flags=" ".join(proxy_flags))
        state.add(name, Status.WARN, found)
    elif "--no-proxy-server" in flags:
        state.add(name, Status.PASS, EnvironmentFinding.of(FindingCode.BROWSER_NO_PROXY_SERVER))
    elif _proxy_environment():
        found = EnvironmentFinding.of(FindingCode.BROWSER_PROXY_FROM_ENVIRONMENT)
        state.add(name, Status.WARN, found)
    else:
        state.add(name, Status.PASS, EnvironmentFinding.of(FindingCode.BROWSER_DIRECT))


def finish(state: EnvironmentState, checked_at: datetime) -> dict[str, Any]:
    state.document["checked_at"] = isoformat(checked_at)
    return state.to_json()


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
        found_set = EnvironmentFinding.of(FindingCode.PROXY_SET, variables=shown)
        state.add(CheckName.PROXY_ENVIRONMENT, Status.WARN, found_set)
    elif found:
        only = EnvironmentFinding.of(
            FindingCode.PROXY_ONLY_NO_PROXY, values=", ".join(found.values())
        )
        state.add(CheckName.PROXY_ENVIRONMENT, Status.PASS, only)
    else:
        none = EnvironmentFinding.of(FindingCode.PROXY_NONE)
        state.add(CheckName.PROXY_ENVIRONMENT, Status.PASS, none)


def _check_hosts_file(state: EnvironmentState, target_host: str, hostname: str) -> None:
    try:
        data = HOSTS_FILE.read_bytes()
    except OSError as exc:
        state.document["hosts_file"] = {"path": str(HOSTS_FILE), "error": str(exc)}
        unreadable = EnvironmentFinding.of(
            FindingCode.HOSTS_UNREADABLE, path=HOSTS_FILE, error=exc.strerror
        )
        state.add(CheckName.HOSTS_FILE, Status.NOT_CHECKED, unreadable)
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
    name = CheckName.HOSTS_FILE
    if overriding:
        found = EnvironmentFinding.of(
            FindingCode.HOSTS_MAPS_TARGET,
            path=HOSTS_FILE,
            entries=", ".join(overriding),
            sha256=digest,
        )
        state.add(name, Status.FAIL, found)
    elif unusual:
        shown = EnvironmentFinding.of(
            FindingCode.HOSTS_NON_DEFAULT, entries=", ".join(unusual[:5]), sha256=digest
        )
        more = EnvironmentFinding.of(FindingCode.MORE_ENTRIES, n=len(unusual) - 5)
        state.add(name, Status.WARN, *((shown, more) if len(unusual) > 5 else (shown,)))
    else:
        found = EnvironmentFinding.of(FindingCode.HOSTS_DEFAULT_ONLY, sha256=digest)
        state.add(name, Status.PASS, found)


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
        unreadable = EnvironmentFinding.of(
            FindingCode.DNS_UNREADABLE, path=RESOLV_CONF, error=exc.strerror
        )
        state.add(CheckName.DNS_SERVERS, Status.NOT_CHECKED, unreadable)
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
        servers = EnvironmentFinding.of(FindingCode.DNS_SERVERS, servers=", ".join(nameservers))
        state.add(CheckName.DNS_SERVERS, Status.PASS, servers)
    else:
        none = EnvironmentFinding.of(FindingCode.DNS_NONE, path=RESOLV_CONF)
        state.add(CheckName.DNS_SERVERS, Status.WARN, none)


def _resolve_bounded(host: str, port: int, timeout_s: float) -> tuple[int, tuple[Any, ...]]:
    answers = getaddrinfo_bounded(host, port, timeout_s, type=socket.SOCK_DGRAM)
    family, _type, _proto, _name, sockaddr = answers[0]
    return int(family), tuple(sockaddr)


def _check_outbound(state: EnvironmentState, target_url: str, echo_url: str | None) -> None:
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
        found = EnvironmentFinding.of(
            FindingCode.OUTBOUND_NO_ROUTE, target=f"{host}:{port}", error=exc
        )
        state.add(CheckName.OUTBOUND_IP, Status.NOT_CHECKED, found)
        return
    state.outbound_ip = local
    outbound: dict[str, Any] = {"target": f"{host}:{port}", "local_address": local}
    state.document["outbound"] = outbound
    local_finding = EnvironmentFinding.of(
        FindingCode.OUTBOUND_LOCAL, target=f"{host}:{port}", address=local
    )
    if not echo_url:
        state.add(CheckName.OUTBOUND_IP, Status.PASS, local_finding)
        return
    outbound["echo_service"] = echo_url
    try:
        public = public_address(echo_url)
    except EchoError as exc:
        # The local address is still true; that the exit could not be asked is a warning.
        outbound["echo_error"] = str(exc)
        failed = EnvironmentFinding.of(
            FindingCode.OUTBOUND_ECHO_FAILED, service=echo_url, error=exc
        )
        state.add(CheckName.OUTBOUND_IP, Status.WARN, failed, local_finding)
        return
    outbound["public_address"] = public
    state.outbound_ip = public
    state.outbound_ip_service = echo_url
    found = EnvironmentFinding.of(FindingCode.OUTBOUND_PUBLIC, address=public, service=echo_url)
    state.add(CheckName.OUTBOUND_IP, Status.PASS, found)


# --- browser profile ---------------------------------------------------------------


def _check_profile(state: EnvironmentState, flags: list[str], launched_at: float) -> None:
    user_data = next((f.split("=", 1)[1] for f in flags if f.startswith("--user-data-dir=")), "")
    info: dict[str, Any] = {"user_data_dir": user_data}
    state.document["browser_profile"] = info
    name = CheckName.BROWSER_PROFILE
    if not user_data:
        state.add(name, Status.NOT_CHECKED, EnvironmentFinding.of(FindingCode.PROFILE_UNKNOWN))
        return
    directory = Path(user_data)
    problems: list[EnvironmentFinding] = []
    try:
        created = directory.stat().st_ctime
    except OSError as exc:
        found = EnvironmentFinding.of(
            FindingCode.PROFILE_UNREADABLE, directory=directory, error=exc.strerror
        )
        state.add(name, Status.NOT_CHECKED, found)
        return
    info["created_at"] = isoformat(datetime.fromtimestamp(created, UTC))
    temp_root = Path(tempfile.gettempdir()).resolve()
    if not directory.resolve().is_relative_to(temp_root):
        problems.append(
            EnvironmentFinding.of(FindingCode.PROFILE_NOT_TEMPORARY, directory=directory)
        )
    if created < launched_at - PROFILE_AGE_TOLERANCE_S:
        problems.append(EnvironmentFinding.of(FindingCode.PROFILE_OLD, directory=directory))
    extensions = sorted(_installed_extensions(directory))
    info["extensions"] = extensions
    info["extensions_disabled"] = "--disable-extensions" in flags
    if extensions:
        installed = ", ".join(extensions)
        problems.append(EnvironmentFinding.of(FindingCode.PROFILE_EXTENSIONS, extensions=installed))
    if "--disable-extensions" not in flags:
        problems.append(EnvironmentFinding.of(FindingCode.PROFILE_EXTENSIONS_ENABLED))
    if problems:
        state.add(name, Status.FAIL, *problems)
    else:
        found = EnvironmentFinding.of(FindingCode.PROFILE_FRESH, directory=directory)
        state.add(name, Status.PASS, found)


def _installed_extensions(user_data: Path) -> Iterable[str]:
    with contextlib.suppress(OSError):
        for profile in user_data.iterdir():
            extensions = profile / "Extensions"
            if extensions.is_dir():
                for entry in extensions.iterdir():
                    yield f"{profile.name}/{entry.name}"
