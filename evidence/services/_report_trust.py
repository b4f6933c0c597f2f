"""How a report titles a time-stamp and an anchor: by this machine's trust configuration.

A report heading that says "Trusted time-stamp" is a claim a defence lawyer
will test. The claim is made here, by the facade, against the trust
configuration the user keeps with ``evidence trust`` — the same entries and
the same chain search as ``evidence verify`` — and never from what a token or
an anchor receipt says of itself (its ``development`` flag, its embedded
root, its contract address).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from evidence.model.errors import EvidenceError, TimestampError
from evidence.model.records import AnchorReceipt, TimestampToken, TrustStanding
from evidence.model.trust import TrustPolicy, load_trust, trust_file_path

if TYPE_CHECKING:
    from reports.case_report import CaseReportItem

__all__ = [
    "ReportStandings",
    "anchor_standing",
    "bundle_standings",
    "case_items_with_standings",
    "report_standings",
    "response_standing",
    "timestamp_standing",
]


@dataclass(frozen=True, slots=True)
class ReportStandings:
    """The trust standing of one item's time-stamp and anchor, as its reports title them."""

    timestamp: TrustStanding
    anchor: TrustStanding


def report_standings(
    home: Path,
    token: TimestampToken | None,
    anchor: AnchorReceipt | None,
    manifest_sha256: str,
    *,
    policy: TrustPolicy | None = None,
) -> ReportStandings:
    """Standings against ``policy``, else the trust file of the data directory ``home``.

    A malformed trust file raises its TrustError: a report must not quietly
    retitle its sections because the configuration could not be read.
    """
    if policy is None and (token is not None or anchor is not None):
        policy = load_trust(trust_file_path(home))
    trust = policy or TrustPolicy()
    return ReportStandings(
        timestamp=timestamp_standing(trust, token, manifest_sha256),
        anchor=anchor_standing(trust, anchor),
    )


def case_items_with_standings(
    home: Path, items: Sequence[CaseReportItem]
) -> tuple[CaseReportItem, ...]:
    """The case report's items, each with its time-stamp's and anchor's standing
    (the trust file is read once for the whole case)."""
    if not any(i.timestamp is not None or i.anchor is not None for i in items):
        return tuple(items)
    policy = load_trust(trust_file_path(home))
    out = []
    for item in items:
        standings = report_standings(
            home, item.timestamp, item.anchor, item.manifest_sha256 or "", policy=policy
        )
        out.append(
            replace(item, timestamp_standing=standings.timestamp, anchor_standing=standings.anchor)
        )
    return tuple(out)


def timestamp_standing(
    policy: TrustPolicy, token: TimestampToken | None, manifest_sha256: str
) -> TrustStanding:
    """TRUSTED when the token verifies, over the manifest digest, against a configured
    TSA root; DEVELOPMENT for the toolkit's development TSA, or a root configured as a
    development root; UNTRUSTED otherwise (the root the token came with counts for nothing)."""
    if token is None:
        return TrustStanding.UNTRUSTED
    return response_standing(
        policy,
        token.response_der,
        manifest_sha256,
        certificates=token.tsa_certificate_pem or None,
        development=token.development,
    )


def response_standing(
    policy: TrustPolicy,
    response_der: bytes,
    manifest_sha256: str,
    *,
    certificates: bytes | None,
    development: bool,
) -> TrustStanding:
    """:func:`timestamp_standing` of a DER ``TimeStampResp``; ``development`` is what the
    record says of itself, which may lower the standing and never raise it."""
    if development:
        return TrustStanding.DEVELOPMENT
    if not policy.tsa_roots:
        return TrustStanding.UNTRUSTED
    from evidence.verification.trust import verify_trusted_token  # cryptography, rfc3161

    try:
        digest = bytes.fromhex(manifest_sha256)
        trusted = verify_trusted_token(
            policy.tsa_roots, response_der, digest, certificates=certificates
        )
    except (TimestampError, ValueError):
        return TrustStanding.UNTRUSTED
    return TrustStanding.DEVELOPMENT if trusted.root.development else TrustStanding.TRUSTED


def anchor_standing(policy: TrustPolicy, anchor: AnchorReceipt | None) -> TrustStanding:
    """TRUSTED when the anchor's chain id and registry are a configured chain's (and its
    submitter one the entry lists, if it lists any); DEVELOPMENT on the local development
    chain or a chain configured as development; UNTRUSTED otherwise, as ``evidence verify``
    would find it."""
    if anchor is None:
        return TrustStanding.UNTRUSTED
    if anchor.development:
        return TrustStanding.DEVELOPMENT
    from evidence.verification.trust import chain_trust

    trust = chain_trust(policy, anchor.chain_id, 1)
    if trust is None or trust.registry is None:
        return TrustStanding.UNTRUSTED
    if trust.registry.lower() != anchor.contract_address.lower():
        return TrustStanding.UNTRUSTED
    submitters = {s.lower() for s in trust.submitters}
    if submitters and anchor.submitter.lower() not in submitters:
        return TrustStanding.UNTRUSTED
    return TrustStanding.DEVELOPMENT if trust.development else TrustStanding.TRUSTED


_MAX_MEMBER = 1024 * 1024


def bundle_standings(
    bundle: Path, policy: TrustPolicy, manifest_sha256: str | None
) -> tuple[TrustStanding | None, TrustStanding | None]:
    """The standings of a bundle's time-stamp and anchor (None: it has none, or it cannot
    be read: the verifier reports that with its own findings)."""
    from reports.bundle import layout as bf
    from reports.bundle.reader import open_bundle

    if manifest_sha256 is None:
        return None, None
    try:
        source = open_bundle(bundle)
    except EvidenceError:
        return None, None
    try:
        names = set(source.names())

        def member(name: str) -> bytes | None:
            if name not in names:
                return None
            with source.open(name) as stream:
                return stream.read(_MAX_MEMBER)

        token, anchor_json = member(bf.TOKEN), member(bf.ANCHOR_JSON)
        claim = member(bf.TIMESTAMP_JSON)
        stamp = (
            response_standing(
                policy,
                token,
                manifest_sha256,
                certificates=member(bf.TSA_CERT),
                development=claim is not None and bf.timestamp_is_development(claim),
            )
            if token is not None
            else None
        )
        anchor = (
            anchor_standing(policy, bf.anchor_from_json(anchor_json))
            if anchor_json is not None
            else None
        )
        return stamp, anchor
    except (EvidenceError, OSError, ValueError, KeyError):
        return None, None
    finally:
        source.close()
