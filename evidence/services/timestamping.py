"""RFC 3161 timestamps: one client for evidence, chain checkpoints and PDF signatures.

Every token goes through :func:`anchoring.tsa.request_timestamps`: the
configured TSAs in failover order, retries with back-off, and strict
verification against the configured roots. The PDF signer gets the same path
as a :class:`~reports.signing.PdfTimestamper` built by :func:`pdf_timestamper`.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlmodel import col, select

from anchoring.devtsa import AgencyTSA, DevelopmentTSA
from anchoring.tsa import RetryPolicy, TSAConfig, request_timestamps
from anchoring.tsa_presets import PRESETS, preset_config
from anchoring.tsa_presets import TSAPreset as TSAPreset  # re-exported by the facade
from evidence.model.config import Settings
from evidence.model.errors import ConfigurationError, LifecycleError, TimestampError
from evidence.model.records import CustodyAction, TimestampToken, isoformat
from evidence.model.redaction import redact_url
from evidence.model.tables import ItemStatus, TimestampRecord
from evidence.services._context import ServiceContext, acting
from evidence.services._rows import timestamp_row, token_from_row
from evidence.services.cases import item_info, item_row
from evidence.services.results import ItemInfo

if TYPE_CHECKING:
    from reports.signing import PdfTimestamper

TSA_PRESETS: Final = PRESETS
"""Well-known public TSAs by lower-case name (URLs and where their roots come from)."""


class TimestampService:
    """Tokens over sealed items' manifest digests, from the configured TSAs."""

    retry: RetryPolicy
    """Tries per TSA and back-off (tests and callers may replace it)."""

    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context
        self.retry = RetryPolicy()
        self._devtsa: DevelopmentTSA | None = None

    def close(self) -> None:
        """Stop the development TSA if this service started it."""
        if self._devtsa is not None:
            self._devtsa.stop()
            self._devtsa = None

    def timestamp(self, item_id: str, *, officer: str = "") -> ItemInfo:
        """Obtain and verify RFC 3161 token(s) over the item's manifest digest.

        ``officer`` (an enforcement ID) is who has it timestamped: the custody
        actor (none: the explicit system actor).

        The configured TSAs are tried in order, each with retries and back-off
        (failover). With ``settings.tsa_dual`` the item needs tokens from two
        independent TSAs. Every token obtained is stored at once, so a partial
        success is kept and a later call only asks for what is still missing;
        the item becomes ``timestamped`` when it holds enough tokens.
        """
        needed = 2 if self._ctx.settings.tsa_dual else 1
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            if item.status is ItemStatus.TIMESTAMPED or item.status is ItemStatus.ANCHORED:
                return item_info(session, item)
            if item.status is not ItemStatus.SEALED or item.manifest_sha256 is None:
                raise LifecycleError(f"item {item.id} is {item.status.value}, not sealed")
            digest = bytes.fromhex(item.manifest_sha256)
            item_id = item.id
            held = [
                row.tsa_certificate_pem
                for row in session.exec(
                    select(TimestampRecord).where(TimestampRecord.item_id == item_id)
                ).all()
            ]
        failures: tuple[str, ...] = ()
        tokens: tuple[TimestampToken, ...] = ()
        if len(held) < needed:
            attempts = request_timestamps(
                digest,
                self.tsa_configs(),
                needed=needed - len(held),
                retry=self.retry,
                exclude_signers={_first_certificate_der(pem) for pem in held},
            )
            tokens, failures = attempts.tokens, attempts.failures
        enough = len(held) + len(tokens) >= needed
        info = self._store_tokens(item_id, tokens, enough=enough, officer=officer)
        total = len(held) + len(tokens)
        if total < needed:
            got = f"{total} of {needed} tokens; " if needed > 1 else ""
            raise TimestampError(f"no timestamp: {got}{'; '.join(failures)}")
        return info

    def timestamps(self, item_id: str) -> list[TimestampToken]:
        """Every token held for the item (two with ``tsa_dual``), oldest first."""
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            rows = session.exec(
                select(TimestampRecord)
                .where(TimestampRecord.item_id == item.id)
                .order_by(col(TimestampRecord.gen_time))
            ).all()
            return [token_from_row(row) for row in rows]

    def tsa_configs(self) -> list[TSAConfig]:
        """The configured TSAs in failover order, else the development TSA (started here)."""
        configured = configured_tsas(self._ctx.settings)
        if configured:
            return configured
        if self._devtsa is None:
            devtsa = DevelopmentTSA(self._ctx.settings.home)
            devtsa.start()
            self._devtsa = devtsa
        return [self._devtsa.config()]

    def request_one(self, digest: bytes, what: str) -> TimestampToken:
        """One verified token over a SHA-256 ``digest``; ``what`` names it in the error."""
        attempts = request_timestamps(digest, self.tsa_configs(), retry=self.retry)
        if not attempts.tokens:
            raise TimestampError(f"no {what} token: {'; '.join(attempts.failures)}")
        return attempts.tokens[0]

    def pdf_timestamper(self, configs: Sequence[TSAConfig] | None = None) -> PdfTimestamper:
        """The PDF signer's timestamps from ``configs`` (default: this toolkit's TSAs)."""
        return pdf_timestamper(self.tsa_configs() if configs is None else configs, self.retry)

    def _store_tokens(
        self, item_id: str, tokens: tuple[TimestampToken, ...], *, enough: bool, officer: str
    ) -> ItemInfo:
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            for token in tokens:
                session.add(timestamp_row(self._ctx.new_id(), item_id, token))
                self._ctx.custody(
                    session,
                    CustodyAction.TIMESTAMP,
                    item_id=item_id,
                    case_id=item.case_id,
                    hash_before=item.manifest_sha256 or "",
                    hash_after=hashlib.sha256(token.token_der).hexdigest(),
                    details={
                        "tsa": token.tsa_url,
                        "gen_time": isoformat(token.gen_time),
                        "serial": str(token.serial_number),
                        "development": token.development,
                    },
                    officer=acting(officer),
                )
            if enough:
                item.status = ItemStatus.TIMESTAMPED
                session.add(item)
            session.commit()
            return item_info(session, item)


def pdf_timestamper(configs: Sequence[TSAConfig], retry: RetryPolicy) -> PdfTimestamper:
    """A PDF signature's timestamper on the evidence path: failover, retry, strict checks.

    The token handed to the signer was verified against ``configs``' roots
    (imprint, chain, EKU, nonce) before it is embedded.
    """
    chosen = list(configs)

    def stamp(message_digest: bytes, hash_algorithm: str) -> bytes:
        attempts = request_timestamps(
            message_digest, chosen, hash_algorithm=hash_algorithm, retry=retry
        )
        if not attempts.tokens:
            raise TimestampError(
                f"no timestamp for the PDF signature: {'; '.join(attempts.failures)}"
            )
        return attempts.tokens[0].token_der

    return stamp


def trust_roots_of(configs: Sequence[TSAConfig]) -> bytes:
    """The roots any of ``configs``' tokens may chain to (PEM, concatenated)."""
    return b"".join(config.trust_roots_pem for config in configs)


def configured_tsas(settings: Settings) -> list[TSAConfig]:
    """The TSAs the settings name, in failover order (empty: none configured)."""
    entries: list[tuple[str, Path | None]] = []
    if settings.tsa_url:
        entries.append((settings.tsa_url, settings.tsa_roots_path))
    entries += list(zip(settings.tsa_urls, settings.tsa_roots_paths, strict=False))
    return [_tsa_entry(url, roots) for url, roots in entries]


def tsa_presets() -> tuple[TSAPreset, ...]:
    """Well-known public TSAs (not reachable offline); see docs/timestamping.md."""
    return tuple(PRESETS.values())


def serve_agency_tsa(
    state_dir: Path,
    certificate: Path,
    key: Path,
    chain: Path | None,
    policy_oid: str,
    host: str,
    port: int,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve RFC 3161 over HTTP with the agency's own TSA certificate, until interrupted.

    ``state_dir`` keeps the serial counter and the openssl configuration;
    servers sharing it share one serial sequence. ``ready`` gets the URL once
    the server listens.
    """
    server = AgencyTSA(
        state_dir, certificate=certificate, key=key, chain=chain, policy_oid=policy_oid
    )
    server.serve_forever(host, port, ready=ready)


def _first_certificate_der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificates(pem)[0].public_bytes(serialization.Encoding.DER)


def _tsa_entry(url: str, roots_path: Path | None) -> TSAConfig:
    """One configured TSA: a URL (credentials as ``https://user:pass@host/``) or a preset."""
    if roots_path is None:
        shown = redact_url(url) if "://" in url else url  # a preset's name is no secret
        raise ConfigurationError(f"TSA {shown} is configured without trust roots")
    try:
        roots = roots_path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the TSA trust roots {roots_path}: {exc.strerror}"
        ) from exc
    if "://" not in url:
        return preset_config(url, roots)
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return TSAConfig(url=url, trust_roots_pem=roots)
    # Credentials never stay in the URL: it is stored with every token.
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc += f":{parts.port}"
    return TSAConfig(
        url=urllib.parse.urlunsplit(parts._replace(netloc=netloc)),
        trust_roots_pem=roots,
        username=urllib.parse.unquote(parts.username),
        password=urllib.parse.unquote(parts.password or ""),
    )
