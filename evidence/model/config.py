"""Where the toolkit keeps its data and which services it talks to.

Everything has an embedded default (local data directory, SQLite, the
development TSA, a local anvil chain) so a fresh machine works offline; each
default can be overridden by an environment variable or by the caller.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

from evidence.model.capture_options import ClockPolicy, EnvironmentOptions
from evidence.model.errors import ConfigurationError
from evidence.model.permissions import private_directory
from evidence.model.secrets import held_secrets
from evidence.model.store_settings import StoreSettings

ENV_HOME = "EVIDENCE_HOME"
ENV_DATABASE_URL = "EVIDENCE_DATABASE_URL"
ENV_TSA_URL = "EVIDENCE_TSA_URL"
ENV_TSA_ROOTS = "EVIDENCE_TSA_ROOTS"
ENV_RPC_URL = "EVIDENCE_RPC_URL"
ENV_CHAIN_KEY = "EVIDENCE_CHAIN_PRIVATE_KEY"
ENV_TSA_URLS = "EVIDENCE_TSA_URLS"
ENV_TSA_DUAL = "EVIDENCE_TSA_DUAL"
ENV_BATCH_SIZE = "EVIDENCE_BATCH_SIZE"
ENV_BATCH_INTERVAL = "EVIDENCE_BATCH_INTERVAL"
ENV_CONFIRMATIONS = "EVIDENCE_CONFIRMATIONS"
ENV_REGISTRY = "EVIDENCE_REGISTRY_ADDRESS"
ENV_CHAIN_ID = "EVIDENCE_CHAIN_ID"
ENV_CHAIN_KEYSTORE = "EVIDENCE_CHAIN_KEYSTORE"
ENV_CHAIN_KEYSTORE_PASSWORD = "EVIDENCE_CHAIN_KEYSTORE_PASSWORD"
ENV_CHAIN_FROM = "EVIDENCE_CHAIN_FROM"
ENV_CHROMIUM = "EVIDENCE_CHROMIUM"
ENV_OPERATOR = "EVIDENCE_OPERATOR"
ENV_ALLOW_PRIVATE_TARGETS = "EVIDENCE_ALLOW_PRIVATE_TARGETS"
ENV_ALLOWED_PRIVATE_HOSTS = "EVIDENCE_ALLOWED_PRIVATE_HOSTS"
ENV_IP_ECHO_URL = "EVIDENCE_IP_ECHO_URL"
ENV_CLOCK_POLICY = "EVIDENCE_CLOCK_POLICY"
ENV_CLOCK_MAX_SKEW_MS = "EVIDENCE_CLOCK_MAX_SKEW_MS"
ENV_NTP_SERVERS = "EVIDENCE_NTP_SERVERS"
ENV_CLOCK_HTTP_URLS = "EVIDENCE_CLOCK_HTTP_URLS"


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """``capture.*``: how the capture machine checks its clock and finds its exit address."""

    ip_echo_url: str | None = None
    """``EVIDENCE_IP_ECHO_URL``: a service answering with the caller's address (plain text
    or JSON ``ip``); unset, the report labels the address as the local one."""
    clock_policy: ClockPolicy = ClockPolicy.WARN
    """``EVIDENCE_CLOCK_POLICY``: ``warn`` or ``refuse`` a capture whose clock is off or
    could not be checked."""
    clock_max_skew_ms: int = 1_000
    """``EVIDENCE_CLOCK_MAX_SKEW_MS``: the largest clock offset that passes."""
    ntp_servers: tuple[str, ...] | None = None
    """``EVIDENCE_NTP_SERVERS`` (comma-separated ``host[:port]``); unset: the built-in list."""
    clock_http_urls: tuple[str, ...] = ()
    """``EVIDENCE_CLOCK_HTTP_URLS``: servers whose HTTP ``Date`` is asked after NTP."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CaptureSettings:
        raw = (env.get(ENV_CLOCK_POLICY) or ClockPolicy.WARN.value).strip().lower()
        try:
            policy = ClockPolicy(raw)
        except ValueError:
            raise ConfigurationError(f"{ENV_CLOCK_POLICY}={raw!r}: use warn or refuse") from None
        ntp = env.get(ENV_NTP_SERVERS)
        return cls(
            ip_echo_url=env.get(ENV_IP_ECHO_URL) or None,
            clock_policy=policy,
            clock_max_skew_ms=_positive_int(env, ENV_CLOCK_MAX_SKEW_MS, 1_000),
            ntp_servers=tuple(_split_list(ntp)) if ntp is not None else None,
            clock_http_urls=tuple(_split_list(env.get(ENV_CLOCK_HTTP_URLS))),
        )

    def apply(self, options: EnvironmentOptions) -> EnvironmentOptions:
        """``options`` completed from these settings: a caller's own choice stands, the
        stricter clock policy wins, and clock URLs from both are asked."""
        defaults = EnvironmentOptions()
        return replace(
            options,
            ip_echo_url=options.ip_echo_url or self.ip_echo_url,
            clock_policy=(
                ClockPolicy.REFUSE
                if ClockPolicy.REFUSE in (options.clock_policy, self.clock_policy)
                else ClockPolicy.WARN
            ),
            max_clock_skew_ms=(
                self.clock_max_skew_ms
                if options.max_clock_skew_ms == defaults.max_clock_skew_ms
                else options.max_clock_skew_ms
            ),
            ntp_servers=(
                self.ntp_servers
                if self.ntp_servers is not None and options.ntp_servers == defaults.ntp_servers
                else options.ntp_servers
            ),
            clock_http_urls=(*options.clock_http_urls, *self.clock_http_urls),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved configuration. ``None`` for a service means "use the embedded default"."""

    # Fields that may hold a credential stay out of repr(): a Settings in a
    # log line or a traceback must not print a key or a URL's password.
    home: Path
    database_url: str = field(repr=False)
    tsa_url: str | None = field(default=None, repr=False)
    tsa_roots_path: Path | None = None
    rpc_url: str | None = field(default=None, repr=False)
    chain_private_key: str | None = field(default=None, repr=False)
    chromium_path: Path | None = None
    operator: str = ""
    tsa_urls: tuple[str, ...] = field(default=(), repr=False)
    """Further TSAs after ``tsa_url``, tried in order (failover); preset names allowed."""
    tsa_roots_paths: tuple[Path, ...] = ()
    """The PEM roots of each entry of ``tsa_urls``, same order."""
    tsa_dual: bool = False
    """Require tokens from two independent TSAs before an item counts as timestamped."""
    batch_size: int = 1000
    """Most items under one Merkle root (one transaction)."""
    batch_interval_s: float = 60.0
    """``evidence anchor --pending --watch``: seconds between batches."""
    confirmations: int = 1
    """Blocks on top of an anchor before :meth:`Toolkit.recheck_anchors` calls it final."""
    registry_address: str | None = None
    """Use this EvidenceRegistry instead of deploying one (real networks)."""
    chain_id: int | None = None
    """Refuse an RPC endpoint that reports another chain id."""
    chain_keystore_path: Path | None = None
    """Encrypted V3 keystore JSON of the submitter (instead of a raw private key)."""
    chain_keystore_password: str | None = field(default=None, repr=False)
    chain_from: str | None = None
    """Send with the node's own unlocked account (``eth_sendTransaction``)."""
    allow_private_targets: bool = field(default_factory=lambda: _allow_private_from_env())
    """Capture loopback and private-network hosts (tests, the demo); off unless
    ``EVIDENCE_ALLOW_PRIVATE_TARGETS=1``."""
    allowed_private_hosts: tuple[str, ...] = field(
        default_factory=lambda: _allowed_private_hosts_from_env()
    )
    """Private hosts (``host`` or ``host:port``) that may be captured while every other
    private address stays refused: ``EVIDENCE_ALLOWED_PRIVATE_HOSTS``, comma-separated."""
    capture: CaptureSettings = field(default_factory=lambda: CaptureSettings())
    """The capture machine's clock check and exit-address lookup."""
    store: StoreSettings = field(default_factory=StoreSettings, repr=False)
    """The artifact store: local (default) or ``EVIDENCE_STORE_URL=s3://bucket/prefix``."""

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def work_dir(self) -> Path:
        return self.home / "work"

    @property
    def output_dir(self) -> Path:
        return self.home / "output"

    @classmethod
    def from_env(cls, home: Path | str | None = None) -> Settings:
        # The command line has already taken the secrets out of the process
        # environment (evidence.model.secrets); a library caller has not.
        env: Mapping[str, str] = {**os.environ, **held_secrets()}
        if home is None:
            home = env.get(ENV_HOME) or platformdirs.user_data_dir("evidence-toolkit")
        home_path = Path(home).expanduser().resolve()
        try:
            private_directory(home_path)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the data directory {home_path}: {exc.strerror}"
            ) from exc
        database_url = env.get(ENV_DATABASE_URL) or f"sqlite:///{home_path / 'evidence.db'}"
        roots = env.get(ENV_TSA_ROOTS)
        if (env.get(ENV_TSA_URL) or env.get(ENV_TSA_URLS)) and not roots:
            raise ConfigurationError(
                f"{ENV_TSA_URL} is set but {ENV_TSA_ROOTS} is not: "
                "a TSA's tokens can only be verified against its trust roots"
            )
        chromium = env.get(ENV_CHROMIUM)
        tsa_urls = _split_list(env.get(ENV_TSA_URLS))
        tsa_roots = _split_list(roots)
        single_url = env.get(ENV_TSA_URL) or None
        if tsa_urls:
            expected = len(tsa_urls) + (1 if single_url else 0)
            if len(tsa_roots) != expected:
                raise ConfigurationError(
                    f"{ENV_TSA_ROOTS} lists {len(tsa_roots)} roots file(s) for {expected} TSA(s): "
                    "give one PEM file per TSA, comma-separated, in the same order"
                )
        keystore = env.get(ENV_CHAIN_KEYSTORE)
        chain_id = env.get(ENV_CHAIN_ID)
        return cls(
            home=home_path,
            database_url=database_url,
            tsa_url=env.get(ENV_TSA_URL) or None,
            tsa_roots_path=Path(tsa_roots[0]) if single_url and tsa_roots else None,
            rpc_url=env.get(ENV_RPC_URL) or None,
            chain_private_key=env.get(ENV_CHAIN_KEY) or None,
            chromium_path=Path(chromium) if chromium else None,
            operator=env.get(ENV_OPERATOR, ""),
            allow_private_targets=_allow_private_from_env(),
            allowed_private_hosts=_allowed_private_hosts_from_env(),
            tsa_urls=tuple(tsa_urls),
            tsa_roots_paths=tuple(Path(r) for r in tsa_roots[1 if single_url else 0 :]),
            tsa_dual=env.get(ENV_TSA_DUAL, "").strip().lower() in ("1", "true", "yes"),
            batch_size=_positive_int(env, ENV_BATCH_SIZE, 1000),
            batch_interval_s=float(_positive_int(env, ENV_BATCH_INTERVAL, 60)),
            confirmations=_positive_int(env, ENV_CONFIRMATIONS, 1),
            registry_address=env.get(ENV_REGISTRY) or None,
            chain_id=_positive_int(env, ENV_CHAIN_ID, 0) if chain_id else None,
            chain_keystore_path=Path(keystore) if keystore else None,
            chain_keystore_password=env.get(ENV_CHAIN_KEYSTORE_PASSWORD),
            chain_from=env.get(ENV_CHAIN_FROM) or None,
            capture=CaptureSettings.from_env(env),
            store=StoreSettings.from_env(env),
        )


def _split_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number") from None
    if value < 1:
        raise ConfigurationError(f"{name} must be at least 1, got {value}")
    return value


def _allowed_private_hosts_from_env() -> tuple[str, ...]:
    raw = os.environ.get(ENV_ALLOWED_PRIVATE_HOSTS, "")
    return tuple(host.strip() for host in raw.split(",") if host.strip())


def _allow_private_from_env() -> bool:
    return os.environ.get(ENV_ALLOW_PRIVATE_TARGETS, "").lower() in ("1", "true", "yes")
