"""The expert's trust configuration: what ``evidence trust`` adds, lists and removes.

Every entry is a decision the expert makes by hand, after comparing a
fingerprint or an address with a second source; the service only records
it. The capturing machine's own material (its development TSA, its local
chain, its officers) is trusted only after ``add_this_machine``, which marks
the development parts as such so that their verdicts keep their warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from evidence.model.errors import NotFoundError
from evidence.model.trust import (
    TrustedCertificate,
    TrustedChain,
    TrustError,
    TrustKind,
    TrustPolicy,
    certificates_from_pem,
    load_trust,
    save_trust,
    trust_file_path,
)
from evidence.services._context import ServiceContext
from evidence.services.chains import ChainAccess
from evidence.services.officers import OfficerService

__all__ = ["PresetRoot", "TrustService", "preset_roots"]


@dataclass(frozen=True, slots=True)
class PresetRoot:
    """A public TSA's root shipped with the toolkit (from Debian's ca-certificates)."""

    preset: str
    file: str
    note: str


_PRESET_ROOTS: tuple[PresetRoot, ...] = (
    PresetRoot("digicert", "DigiCert_Trusted_Root_G4.pem", "DigiCert TSA, current tokens"),
    PresetRoot("digicert", "DigiCert_Assured_ID_Root_CA.pem", "DigiCert TSA, older tokens"),
    PresetRoot("sectigo", "USERTrust_RSA_Certification_Authority.pem", "Sectigo TSA"),
    PresetRoot("globalsign", "GlobalSign_Root_CA_-_R6.pem", "GlobalSign TSA (R6)"),
)


def preset_roots() -> tuple[tuple[PresetRoot, TrustedCertificate], ...]:
    """Every shipped public TSA root, with its fingerprint."""
    from anchoring.tsa_presets import ROOTS_DIRECTORY

    return tuple(
        (
            root,
            TrustedCertificate.from_pem(
                f"{root.preset}: {Path(root.file).stem}", (ROOTS_DIRECTORY / root.file).read_bytes()
            ),
        )
        for root in _PRESET_ROOTS
    )


class TrustService:
    def __init__(
        self, context: ServiceContext, chains: ChainAccess, officers: OfficerService
    ) -> None:
        self._ctx = context
        self._chains = chains
        self._officers = officers

    def trust_path(self, path: Path | None = None) -> Path:
        """``path``, else ``EVIDENCE_TRUST_FILE``, else ``<data dir>/trust.json``."""
        return path if path is not None else trust_file_path(self._ctx.settings.home)

    def trust_policy(self, path: Path | None = None) -> TrustPolicy:
        return load_trust(self.trust_path(path))

    def trust_tsa_root(
        self, pem: bytes, name: str, *, development: bool = False, path: Path | None = None
    ) -> tuple[TrustedCertificate, ...]:
        """Trust every certificate of ``pem`` as a TSA root."""
        return self._add_certificates(
            TrustKind.TSA, certificates_from_pem(name, pem, development=development), path
        )

    def trust_tsa_preset(
        self, preset: str, *, path: Path | None = None
    ) -> tuple[TrustedCertificate, ...]:
        """Trust the shipped root(s) of a public TSA preset (``evidence tsa presets``)."""
        chosen = tuple(e for r, e in preset_roots() if r.preset == preset.strip().lower())
        if not chosen:
            known = sorted({r.preset for r in _PRESET_ROOTS})
            raise NotFoundError(f"no shipped roots for preset {preset!r}; known: {known}")
        return self._add_certificates(TrustKind.TSA, chosen, path)

    def trust_signer_root(
        self, pem: bytes, name: str, *, path: Path | None = None
    ) -> tuple[TrustedCertificate, ...]:
        """Trust an agency CA or an officer's certificate for signatures."""
        return self._add_certificates(TrustKind.SIGNER, certificates_from_pem(name, pem), path)

    def trust_chain(self, chain: TrustedChain, *, path: Path | None = None) -> TrustedChain:
        if chain.chain_id is None or not chain.registry:
            raise TrustError("a trusted chain needs its chain id and its registry address")
        chain = replace(
            chain,
            registry=_address(chain.registry),
            submitters=tuple(_address(s) for s in chain.submitters),
        )
        self._save(self.trust_policy(path).with_entry(TrustKind.CHAIN, chain), path)
        return chain

    def untrust(self, name: str, *, path: Path | None = None) -> None:
        self._save(self.trust_policy(path).without(name), path)

    def trust_this_machine(self, *, path: Path | None = None) -> TrustPolicy:
        """Trust this data directory's own TSA roots, officers and chain; what was added.

        The development TSA and the local chain are marked development, so a
        verdict resting on them keeps its warning. Entries already trusted are
        left as they are.
        """
        policy = self.trust_policy(path)
        added = TrustPolicy()
        for kind, entries in self._machine_certificates():
            for entry in entries:
                if entry.sha256 in {e.sha256 for e in (*policy.tsa_roots, *policy.signer_roots)}:
                    continue
                entry = _unique_name(entry, policy)
                policy = policy.with_entry(kind, entry)
                added = added.with_entry(kind, entry)
        chain = self._machine_chain()
        if chain is not None and chain.name not in policy.names():
            policy = policy.with_entry(TrustKind.CHAIN, chain)
            added = added.with_entry(TrustKind.CHAIN, chain)
        self._save(policy, path)
        return added

    def _machine_certificates(
        self,
    ) -> list[tuple[TrustKind, tuple[TrustedCertificate, ...]]]:
        from anchoring.devtsa import DevelopmentTSA
        from evidence.services.timestamping import configured_tsas

        found: list[tuple[TrustKind, tuple[TrustedCertificate, ...]]] = []
        configured = configured_tsas(self._ctx.settings)
        for config in configured:
            roots = certificates_from_pem(f"TSA {config.label}", config.trust_roots_pem)
            found.append((TrustKind.TSA, roots))
        if not configured:
            pem = DevelopmentTSA(self._ctx.settings.home).ca_certificate_pem
            found.append(
                (
                    TrustKind.TSA,
                    certificates_from_pem("this machine's development TSA", pem, development=True),
                )
            )
        officers = self._officers.officer_certificates_pem()
        if officers:
            found.append((TrustKind.SIGNER, _named_officers(officers)))
        return found

    def _machine_chain(self) -> TrustedChain | None:
        settings = self._ctx.settings
        if settings.rpc_url:
            if not (settings.registry_address and settings.chain_id):
                return None
            from evidence.model.redaction import redact_url

            # The trust file keeps no credentials: such an endpoint is given at verify time.
            url = settings.rpc_url
            return TrustedChain(
                name=f"this machine's chain {settings.chain_id}",
                chain_id=settings.chain_id,
                registry=settings.registry_address,
                rpc_urls=(url,) if redact_url(url) == url else (),
            )
        identity = self._chains.local_chain_identity()
        return TrustedChain(
            name="this machine's local development chain",
            chain_id=identity.chain_id,
            registry=identity.registry,
            submitters=(identity.submitter,),
            development=True,
            local_node=True,
        )

    def _add_certificates(
        self, kind: TrustKind, entries: tuple[TrustedCertificate, ...], path: Path | None
    ) -> tuple[TrustedCertificate, ...]:
        policy = self.trust_policy(path)
        for entry in entries:
            policy = policy.with_entry(kind, entry)
        self._save(policy, path)
        return entries

    def _save(self, policy: TrustPolicy, path: Path | None) -> None:
        save_trust(policy, self.trust_path(path))


def _address(value: str) -> str:
    from eth_utils.address import is_address, to_checksum_address

    if not is_address(value):
        raise TrustError(f"{value!r} is not an account or contract address")
    return str(to_checksum_address(value))


def _named_officers(pem: bytes) -> tuple[TrustedCertificate, ...]:
    """One entry per officer, named by name and enforcement id."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from evidence.model.officer_keys import common_name_of, enforcement_id_of

    entries = []
    for certificate in x509.load_pem_x509_certificates(pem):
        name = f"officer {common_name_of(certificate)} ({enforcement_id_of(certificate)})"
        entries.append(TrustedCertificate.from_pem(name, certificate.public_bytes(Encoding.PEM)))
    return tuple(entries)


def _unique_name(entry: TrustedCertificate, policy: TrustPolicy) -> TrustedCertificate:
    name, n = entry.name, 1
    while name in policy.names():
        n += 1
        name = f"{entry.name} #{n}"
    return replace(entry, name=name)
