"""What a verifier's user trusts: TSA roots, signer roots and chains.

A verdict of PASS means "established against something the expert trusts".
The trust policy is the expert's own: a trust configuration file (managed
with ``evidence trust``) plus what they give on the command line. Nothing a
bundle says about itself — its TSA root, its signers' certificates, its RPC
URL, its contract address, its "development" flag — is ever part of it.

The file is JSON, one entry per trusted thing, each certificate kept whole
(PEM) with its SHA-256 fingerprint, so an expert can compare the fingerprint
with a second source and a hand-edited PEM that no longer matches it is
refused rather than trusted. Endpoints are kept without credentials: an
endpoint that needs them is given on the command line at verification time.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence.model.errors import ConfigurationError, EvidenceError
from evidence.model.redaction import redact_url
from evidence.model.safe_json import loads

if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "ENV_TRUST_FILE",
    "TRUST_FORMAT",
    "TrustError",
    "TrustKind",
    "TrustPolicy",
    "TrustedCertificate",
    "TrustedChain",
    "certificates_from_pem",
    "load_trust",
    "save_trust",
    "trust_file_path",
]

TRUST_FORMAT = "evidence-toolkit/trust/v1"
ENV_TRUST_FILE = "EVIDENCE_TRUST_FILE"
_MAX_FILE = 4 * 1024 * 1024


class TrustError(ConfigurationError):
    """The trust configuration cannot be read, or an entry cannot be added to it."""


class TrustKind(enum.StrEnum):
    TSA = "tsa"
    SIGNER = "signer"
    CHAIN = "chain"


@dataclass(frozen=True, slots=True)
class TrustedCertificate:
    """A root (or end-entity) certificate the expert trusts, for TSAs or for signers."""

    name: str
    pem: bytes
    """Exactly one PEM certificate."""
    sha256: str
    """SHA-256 fingerprint of the DER certificate, lower-case hex."""
    subject: str
    development: bool = False
    """A development root (this machine's own test TSA): PASS, but with a warning."""

    @classmethod
    def from_pem(cls, name: str, pem: bytes, *, development: bool = False) -> TrustedCertificate:
        """One entry per certificate in ``pem`` is made by :func:`certificates_from_pem`."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.serialization import Encoding

        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise TrustError(f"{name}: not a PEM certificate ({exc})") from exc
        return cls(
            name=name,
            pem=certificate.public_bytes(Encoding.PEM),
            sha256=certificate.fingerprint(hashes.SHA256()).hex(),
            subject=certificate.subject.rfc4514_string(),
            development=development,
        )

    def certificate(self) -> x509.Certificate:
        from cryptography import x509

        return x509.load_pem_x509_certificate(self.pem)


def certificates_from_pem(
    name: str, pem: bytes, *, development: bool = False
) -> tuple[TrustedCertificate, ...]:
    """Every certificate of a PEM file as an entry; several get ``name #2``, ``#3``..."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        loaded = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise TrustError(f"{name}: not PEM certificates ({exc})") from exc
    return tuple(
        TrustedCertificate.from_pem(
            name if i == 0 else f"{name} #{i + 1}",
            cert.public_bytes(Encoding.PEM),
            development=development,
        )
        for i, cert in enumerate(loaded)
    )


@dataclass(frozen=True, slots=True)
class TrustedChain:
    """A chain the expert trusts: which chain, which registry, who may anchor, where to ask."""

    name: str
    chain_id: int | None
    """None only for an endpoint given alone on the command line: whatever chain it serves."""
    registry: str | None
    """The registry contract address; None: not fixed, so the bundle's contract is only its word."""
    rpc_urls: tuple[str, ...] = ()
    submitters: tuple[str, ...] = ()
    """Accounts whose anchors count; empty: any account the registry authorised."""
    min_confirmations: int = 1
    development: bool = False
    local_node: bool = False
    """The endpoint is this data directory's own local node, started on demand."""

    def describe(self) -> str:
        parts = [f"chain id {self.chain_id}" if self.chain_id is not None else "any chain id"]
        parts.append(f"registry {self.registry}" if self.registry else "no fixed registry")
        if self.local_node:
            parts.append("this data directory's local node")
        parts.extend(redact_url(url) for url in self.rpc_urls)
        if self.submitters:
            parts.append("submitters " + ", ".join(self.submitters))
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """Everything the expert trusts for one verification."""

    tsa_roots: tuple[TrustedCertificate, ...] = ()
    signer_roots: tuple[TrustedCertificate, ...] = ()
    chains: tuple[TrustedChain, ...] = ()
    sources: tuple[str, ...] = ()
    """Where the entries came from (the trust file, the command line), for the report."""

    def merged(self, other: TrustPolicy) -> TrustPolicy:
        """Both policies' entries, ``other`` first (the command line before the file)."""
        return TrustPolicy(
            tsa_roots=_unique(other.tsa_roots + self.tsa_roots),
            signer_roots=_unique(other.signer_roots + self.signer_roots),
            chains=other.chains + self.chains,
            sources=other.sources + self.sources,
        )

    def names(self) -> set[str]:
        certificates = {e.name for e in (*self.tsa_roots, *self.signer_roots)}
        return certificates | {c.name for c in self.chains}

    def with_entry(self, kind: TrustKind, entry: TrustedCertificate | TrustedChain) -> TrustPolicy:
        """This policy plus one entry; a duplicate name or certificate is refused."""
        if isinstance(entry, TrustedCertificate):
            existing = self.tsa_roots if kind is TrustKind.TSA else self.signer_roots
            twin = next((e for e in existing if e.sha256 == entry.sha256), None)
            if twin is not None:
                raise TrustError(f"{entry.sha256} is already trusted as {twin.name!r}")
        if entry.name in self.names():
            raise TrustError(f"the trust configuration already has an entry named {entry.name!r}")
        if isinstance(entry, TrustedCertificate):
            if kind is TrustKind.TSA:
                return replace(self, tsa_roots=(*self.tsa_roots, entry))
            return replace(self, signer_roots=(*self.signer_roots, entry))
        _check_endpoints(entry)
        return replace(self, chains=(*self.chains, entry))

    def without(self, name: str) -> TrustPolicy:
        if name not in self.names():
            raise TrustError(f"the trust configuration has no entry named {name!r}")
        return replace(
            self,
            tsa_roots=tuple(e for e in self.tsa_roots if e.name != name),
            signer_roots=tuple(e for e in self.signer_roots if e.name != name),
            chains=tuple(e for e in self.chains if e.name != name),
        )

    def chains_for(self, chain_id: int) -> tuple[TrustedChain, ...]:
        """The trusted entries for a chain id (an unpinned endpoint entry matches any)."""
        return tuple(c for c in self.chains if c.chain_id in (chain_id, None))


def _unique(entries: Iterable[TrustedCertificate]) -> tuple[TrustedCertificate, ...]:
    seen: set[str] = set()
    kept = []
    for entry in entries:
        if entry.sha256 not in seen:
            seen.add(entry.sha256)
            kept.append(entry)
    return tuple(kept)


def _check_endpoints(chain: TrustedChain) -> None:
    for url in chain.rpc_urls:
        if redact_url(url) != url:
            raise TrustError(
                f"{chain.name}: the trust file does not keep credentials; give an endpoint "
                "that needs them with --rpc-url when you verify"
            )


# --- the file -------------------------------------------------------------------


def load_trust(path: Path) -> TrustPolicy:
    """The trust file's entries; an absent file is an empty policy."""
    try:
        with path.open("rb") as stream:
            data = stream.read(_MAX_FILE + 1)
    except FileNotFoundError:
        return TrustPolicy()
    except OSError as exc:
        raise TrustError(f"cannot read the trust configuration {path}: {exc.strerror}") from exc
    if len(data) > _MAX_FILE:
        raise TrustError(f"the trust configuration {path} is larger than {_MAX_FILE} bytes")
    try:
        raw = loads(data, str(path))
        if not isinstance(raw, dict) or raw.get("format") != TRUST_FORMAT:
            raise TrustError(f"{path} is not a trust configuration ({TRUST_FORMAT})")
        return TrustPolicy(
            tsa_roots=tuple(_certificate(e, path) for e in raw.get("tsa_roots", [])),
            signer_roots=tuple(_certificate(e, path) for e in raw.get("signer_roots", [])),
            chains=tuple(_chain(e, path) for e in raw.get("chains", [])),
            sources=(str(path),),
        )
    except TrustError:
        raise
    except (EvidenceError, KeyError, TypeError, ValueError) as exc:
        raise TrustError(f"the trust configuration {path} is malformed: {exc}") from exc


def save_trust(policy: TrustPolicy, path: Path) -> None:
    """Write atomically, readable by its owner only (it decides every verdict)."""
    document = {
        "format": TRUST_FORMAT,
        "tsa_roots": [_certificate_json(e) for e in policy.tsa_roots],
        "signer_roots": [_certificate_json(e) for e in policy.signer_roots],
        "chains": [_chain_json(c) for c in policy.chains],
    }
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(partial, path)


def _certificate_json(entry: TrustedCertificate) -> dict[str, Any]:
    return {
        "name": entry.name,
        "sha256": entry.sha256,
        "subject": entry.subject,
        "development": entry.development,
        "pem": entry.pem.decode("ascii"),
    }


def _certificate(raw: Any, path: Path) -> TrustedCertificate:
    entry = TrustedCertificate.from_pem(
        str(raw["name"]), str(raw["pem"]).encode("ascii"), development=raw["development"] is True
    )
    if entry.sha256 != str(raw["sha256"]).lower().replace(":", ""):
        # A PEM edited by hand no longer matches the fingerprint the expert compared.
        raise TrustError(
            f"{path}: the certificate of {entry.name!r} has SHA-256 {entry.sha256}, "
            f"not the recorded {raw['sha256']}"
        )
    return entry


def _chain_json(chain: TrustedChain) -> dict[str, Any]:
    return {
        "name": chain.name,
        "chain_id": chain.chain_id,
        "registry": chain.registry,
        "rpc_urls": list(chain.rpc_urls),
        "submitters": list(chain.submitters),
        "min_confirmations": chain.min_confirmations,
        "development": chain.development,
        "local_node": chain.local_node,
    }


def _chain(raw: Any, path: Path) -> TrustedChain:
    chain_id = raw["chain_id"]
    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
        raise TrustError(f"{path}: chain {raw.get('name')!r} has no valid chain_id")
    chain = TrustedChain(
        name=str(raw["name"]),
        chain_id=chain_id,
        registry=str(raw["registry"]),
        rpc_urls=tuple(str(u) for u in raw.get("rpc_urls", [])),
        submitters=tuple(str(s) for s in raw.get("submitters", [])),
        min_confirmations=int(raw.get("min_confirmations", 1)),
        development=raw.get("development") is True,
        local_node=raw.get("local_node") is True,
    )
    _check_endpoints(chain)
    return chain


def trust_file_path(home: Path, environ: dict[str, str] | None = None) -> Path:
    """``EVIDENCE_TRUST_FILE``, else ``<data dir>/trust.json``."""
    env = os.environ if environ is None else environ
    configured = env.get(ENV_TRUST_FILE)
    return Path(configured).expanduser() if configured else home / "trust.json"
