"""What the clean-environment check found, as codes and values rather than sentences.

A capture records each finding as a :class:`FindingCode` with its values
(addresses, digests, offsets); the English sentence kept beside it in the
manifest is this module's template filled in. A report renders the same
finding in its own language through the message catalogue, so a Chinese
report never has to reprint an English sentence the capture wrote.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from evidence.model.coded_text import fill, values_from_json
from evidence.model.i18n import N_

Translate = Callable[[str], str]
"""English template in, template in the reader's language out (gettext)."""


class CheckName(enum.StrEnum):
    """The items of the clean-environment check, as recorded in the manifest."""

    CLOCK = "clock"
    PROXY_ENVIRONMENT = "proxy_environment"
    HOSTS_FILE = "hosts_file"
    DNS_SERVERS = "dns_servers"
    OUTBOUND_IP = "outbound_ip"
    SOFTWARE = "software"
    BROWSER = "browser"
    BROWSER_PROXY = "browser_proxy"
    BROWSER_PROFILE = "browser_profile"
    HOST_CHECKS = "host_checks"


CHECK_LABELS: dict[CheckName, str] = {
    CheckName.CLOCK: N_("System clock"),
    CheckName.PROXY_ENVIRONMENT: N_("Proxy environment variables"),
    CheckName.HOSTS_FILE: N_("Hosts file"),
    CheckName.DNS_SERVERS: N_("DNS servers"),
    CheckName.OUTBOUND_IP: N_("Outbound address"),
    CheckName.SOFTWARE: N_("Capture software"),
    CheckName.BROWSER: N_("Browser build"),
    CheckName.BROWSER_PROXY: N_("Browser proxy"),
    CheckName.BROWSER_PROFILE: N_("Browser profile"),
    CheckName.HOST_CHECKS: N_("Machine checks"),
}


class FindingCode(enum.StrEnum):
    """One kind of finding; its English template is in :data:`TEMPLATES`."""

    CLOCK_OFFSET = "clock.offset"
    CLOCK_OFFSET_REFERENCE = "clock.offset_reference"
    CLOCK_OVER_SKEW = "clock.over_skew"
    CLOCK_UNCHECKED = "clock.unchecked"
    CLOCK_NO_SOURCE = "clock.no_source"
    SOURCE_UNRESOLVED = "source.unresolved"
    SOURCE_TIMEOUT = "source.timeout"
    SOURCE_REFUSED = "source.refused"
    SOURCE_NO_ECHO = "source.no_echo"
    SOURCE_UNUSABLE = "source.unusable"
    SOURCE_ERROR = "source.error"
    PROXY_SET = "proxy.set"
    PROXY_ONLY_NO_PROXY = "proxy.only_no_proxy"
    PROXY_NONE = "proxy.none"
    HOSTS_UNREADABLE = "hosts.unreadable"
    HOSTS_MAPS_TARGET = "hosts.maps_target"
    HOSTS_NON_DEFAULT = "hosts.non_default"
    HOSTS_DEFAULT_ONLY = "hosts.default_only"
    MORE_ENTRIES = "more_entries"
    DNS_UNREADABLE = "dns.unreadable"
    DNS_SERVERS = "dns.servers"
    DNS_NONE = "dns.none"
    OUTBOUND_NO_ROUTE = "outbound.no_route"
    OUTBOUND_LOCAL = "outbound.local"
    OUTBOUND_PUBLIC = "outbound.public"
    OUTBOUND_ECHO_FAILED = "outbound.echo_failed"
    SOFTWARE = "software"
    BROWSER_UNKNOWN = "browser.unknown"
    BROWSER_BUILD = "browser.build"
    BROWSER_PROXY_UNKNOWN = "browser_proxy.unknown"
    BROWSER_PROXY_FLAGS = "browser_proxy.flags"
    BROWSER_NO_PROXY_SERVER = "browser_proxy.no_proxy_server"
    BROWSER_PROXY_FROM_ENVIRONMENT = "browser_proxy.from_environment"
    BROWSER_DIRECT = "browser_proxy.direct"
    PROFILE_UNKNOWN = "profile.unknown"
    PROFILE_UNREADABLE = "profile.unreadable"
    PROFILE_NOT_TEMPORARY = "profile.not_temporary"
    PROFILE_OLD = "profile.old"
    PROFILE_EXTENSIONS = "profile.extensions"
    PROFILE_EXTENSIONS_ENABLED = "profile.extensions_enabled"
    PROFILE_FRESH = "profile.fresh"
    HOST_CHECKS_LATE = "host_checks.late"
    HOST_CHECKS_FAILED = "host_checks.failed"


TEMPLATES: dict[FindingCode, str] = {
    FindingCode.CLOCK_OFFSET: N_("local clock {offset} ms against {source}"),
    FindingCode.CLOCK_OFFSET_REFERENCE: N_("local clock {offset} ms against reference clock"),
    FindingCode.CLOCK_OVER_SKEW: N_("more than the allowed {max_ms} ms off"),
    FindingCode.CLOCK_UNCHECKED: N_("the clock could not be checked against any source"),
    FindingCode.CLOCK_NO_SOURCE: N_("no clock source is configured"),
    FindingCode.SOURCE_UNRESOLVED: N_("{source}: name not resolved"),
    FindingCode.SOURCE_TIMEOUT: N_("{source}: no answer within {seconds} s"),
    FindingCode.SOURCE_REFUSED: N_("{source}: connection refused"),
    FindingCode.SOURCE_NO_ECHO: N_("{source}: NTP answer does not echo our request"),
    FindingCode.SOURCE_UNUSABLE: N_("{source}: unusable answer ({error})"),
    FindingCode.SOURCE_ERROR: N_("{source}: {error}"),
    FindingCode.PROXY_SET: N_("proxy variables set: {variables}"),
    FindingCode.PROXY_ONLY_NO_PROXY: N_("only no_proxy is set: {values}"),
    FindingCode.PROXY_NONE: N_("no proxy variables set"),
    FindingCode.HOSTS_UNREADABLE: N_("cannot read {path}: {error}"),
    FindingCode.HOSTS_MAPS_TARGET: N_("{path} maps the target host: {entries} (sha256 {sha256})"),
    FindingCode.HOSTS_NON_DEFAULT: N_("non-default entries: {entries} (sha256 {sha256})"),
    FindingCode.HOSTS_DEFAULT_ONLY: N_("only default entries (sha256 {sha256})"),
    FindingCode.MORE_ENTRIES: N_("{n} more not shown here (all are in environment.json)"),
    FindingCode.DNS_UNREADABLE: N_("cannot read {path}: {error}"),
    FindingCode.DNS_SERVERS: N_("nameservers: {servers}"),
    FindingCode.DNS_NONE: N_("no nameserver in {path}"),
    FindingCode.OUTBOUND_NO_ROUTE: N_("no route to {target} found: {error}"),
    FindingCode.OUTBOUND_LOCAL: N_(
        "traffic to {target} leaves from the local address {address}; the public exit "
        "address was not checked"
    ),
    FindingCode.OUTBOUND_PUBLIC: N_("public exit address {address}, as reported by {service}"),
    FindingCode.OUTBOUND_ECHO_FAILED: N_("the echo service {service} gave no address: {error}"),
    FindingCode.SOFTWARE: N_("{toolkit} on Python {python}, {platform}, host {host}"),
    FindingCode.BROWSER_UNKNOWN: N_("Chromium {version}: its command line could not be read"),
    FindingCode.BROWSER_BUILD: N_(
        "Chromium {version} ({executable}), {flags} launch flags recorded"
    ),
    FindingCode.BROWSER_PROXY_UNKNOWN: N_("the browser's launch flags are unknown"),
    FindingCode.BROWSER_PROXY_FLAGS: N_("browser launched with {flags}"),
    FindingCode.BROWSER_NO_PROXY_SERVER: N_("browser launched with --no-proxy-server"),
    FindingCode.BROWSER_PROXY_FROM_ENVIRONMENT: N_(
        "no proxy flag; Chromium on Linux follows the proxy environment variables set"
    ),
    FindingCode.BROWSER_DIRECT: N_("no proxy flag and no proxy environment: direct"),
    FindingCode.PROFILE_UNKNOWN: N_("the browser's user data directory is unknown"),
    FindingCode.PROFILE_UNREADABLE: N_("cannot inspect {directory}: {error}"),
    FindingCode.PROFILE_NOT_TEMPORARY: N_("{directory} is not a temporary directory"),
    FindingCode.PROFILE_OLD: N_("{directory} existed before this browser was started"),
    FindingCode.PROFILE_EXTENSIONS: N_("extensions installed: {extensions}"),
    FindingCode.PROFILE_EXTENSIONS_ENABLED: N_(
        "the browser was not started with --disable-extensions"
    ),
    FindingCode.PROFILE_FRESH: N_(
        "fresh temporary profile {directory}, extensions disabled, none installed"
    ),
    FindingCode.HOST_CHECKS_LATE: N_("the machine checks did not finish within {seconds} s"),
    FindingCode.HOST_CHECKS_FAILED: N_("the machine checks failed: {error}"),
}


@dataclass(frozen=True, slots=True)
class EnvironmentFinding:
    """One finding of one check: what was found (``code``) and its particulars."""

    code: FindingCode
    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, code: FindingCode, **values: object) -> EnvironmentFinding:
        # Sorted, as canonical JSON sorts them: a record equals its manifest round trip.
        return cls(code, tuple(sorted((k, str(v)) for k, v in values.items())))

    def render(self, translate: Translate | None = None) -> str:
        """The finding as a sentence; English unless ``translate`` is given."""
        source = TEMPLATES[self.code]
        translated = source if translate is None else translate(source)
        return fill(source, translated, dict(self.values))

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code.value, "values": dict(self.values)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> EnvironmentFinding | None:
        """``None`` for a code this toolkit does not know (a newer capture)."""
        try:
            code = FindingCode(str(raw.get("code", "")))
        except ValueError:
            return None
        values = values_from_json(raw)
        return None if values is None else cls(code, values)


def render_findings(findings: Iterable[EnvironmentFinding], translate: Translate | None) -> str:
    """Several findings of one check as one detail text."""
    # TRANSLATORS: between two findings of one clean-environment check.
    separator = "; " if translate is None else translate(N_("; "))
    return separator.join(f.render(translate) for f in findings)


def check_label(name: str, translate: Translate) -> str:
    """The check's name for a reader; an unknown (newer) name is shown as recorded."""
    try:
        return translate(CHECK_LABELS[CheckName(name)])
    except ValueError:
        return name
