"""The expert's trust as the checks see it: the policy, plus what the command line adds.

The checks ask two questions of it. Which TSA roots and signer roots does the
expert trust (each a named entry with its fingerprint)? And for the chain
id a bundle records: which registry, which endpoints, which submitters and
how many confirmations does the expert trust — and did the expert pin a
chain id on the command line, so that any other chain is a FAIL rather than
merely not trusted?
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evidence.model.errors import TimestampError
from evidence.model.trust import (
    TrustedCertificate,
    TrustedChain,
    TrustPolicy,
    certificates_from_pem,
)
from evidence.verification.options import VerifyOptions

if TYPE_CHECKING:
    from anchoring.tsa import TimestampVerification

__all__ = [
    "COMMAND_LINE",
    "ChainTrust",
    "TrustedToken",
    "chain_trust",
    "policy_of",
    "verify_trusted_token",
]

COMMAND_LINE = "command line"


def policy_of(options: VerifyOptions) -> TrustPolicy:
    """The trust configuration with the command line's roots and chain in front."""
    given = TrustPolicy(
        tsa_roots=_roots("--trust-roots", options.trust_roots_pem),
        signer_roots=_roots("--signer-roots", options.signer_roots_pem),
        chains=_given_chain(options),
        sources=(COMMAND_LINE,) if _anything_given(options) else (),
    )
    return options.trust.merged(given)


def _roots(name: str, pem: bytes | None) -> tuple[TrustedCertificate, ...]:
    return certificates_from_pem(name, pem) if pem else ()


def _given_chain(options: VerifyOptions) -> tuple[TrustedChain, ...]:
    if options.rpc_url is None and options.registry is None and options.chain_id is None:
        return ()
    return (
        TrustedChain(
            name=COMMAND_LINE,
            chain_id=options.chain_id,
            registry=options.registry,
            rpc_urls=(options.rpc_url,) if options.rpc_url else (),
            min_confirmations=options.min_confirmations,
        ),
    )


def _anything_given(options: VerifyOptions) -> bool:
    return any(
        value is not None
        for value in (
            options.trust_roots_pem,
            options.signer_roots_pem,
            options.rpc_url,
            options.registry,
            options.chain_id,
        )
    )


@dataclass(frozen=True, slots=True)
class ChainTrust:
    """What the expert trusts about one chain id, from every entry that names it."""

    chain_id: int
    names: tuple[str, ...]
    registry: str | None
    registry_source: str
    endpoints: tuple[tuple[str, str], ...]
    """(URL, name of the entry that trusts it), in the order to try them."""
    submitters: tuple[str, ...]
    min_confirmations: int
    development: bool


def chain_trust(policy: TrustPolicy, chain_id: int, min_confirmations: int) -> ChainTrust | None:
    """The merged trust for ``chain_id``, or None when no entry names it.

    An entry given on the command line comes first, so its registry wins over
    the file's; endpoints are tried in order; confirmations are the strictest.
    """
    entries = policy.chains_for(chain_id)
    if not entries:
        return None
    with_registry = next((e for e in entries if e.registry), None)
    return ChainTrust(
        chain_id=chain_id,
        names=tuple(e.name for e in entries),
        registry=with_registry.registry if with_registry else None,
        registry_source=with_registry.name if with_registry else "",
        endpoints=_endpoints(entries),
        submitters=tuple(dict.fromkeys(s for e in entries for s in e.submitters)),
        min_confirmations=max([min_confirmations, *(e.min_confirmations for e in entries)]),
        development=any(e.development for e in entries),
    )


def _endpoints(entries: tuple[TrustedChain, ...]) -> tuple[tuple[str, str], ...]:
    """Where to ask: an endpoint given on the command line replaces the configured ones,
    so that the expert's "ask this node" is never answered by another."""
    given = tuple((url, e.name) for e in entries if e.name == COMMAND_LINE for url in e.rpc_urls)
    return given or tuple((url, e.name) for e in entries for url in e.rpc_urls)


@dataclass(frozen=True, slots=True)
class TrustedToken:
    """A time-stamp verified against one of the expert's TSA roots."""

    root: TrustedCertificate
    verification: TimestampVerification

    def describe_root(self) -> str:
        note = " — a DEVELOPMENT TSA, not a trusted third party" if self.root.development else ""
        return f"{self.root.name!r} (SHA-256 {self.root.sha256}), a TSA root you trust{note}"


def verify_trusted_token(
    roots: Sequence[TrustedCertificate],
    token: bytes,
    digest: bytes,
    *,
    certificates: bytes | None = None,
) -> TrustedToken:
    """The first trusted root ``token`` (over ``digest``) chains to.

    ``certificates`` only help build the chain (like openssl's -untrusted).
    Raises the first root's :class:`TimestampError` when none verifies it,
    or one saying so when the expert trusts no TSA root at all.
    """
    from anchoring.tsa import verify_timestamp  # only when there is a token to verify

    failure: TimestampError | None = None
    for root in roots:
        try:
            result = verify_timestamp(token, digest, root.pem, tsa_certificates_pem=certificates)
        except TimestampError as exc:
            failure = failure or exc
            continue
        return TrustedToken(root, result)
    raise failure or TimestampError("you trust no TSA root (evidence trust add tsa)")
