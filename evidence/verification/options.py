"""What the expert trusts and how far the verifier may go; what a run returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from evidence.model.records import VerificationReport
from evidence.model.trust import TrustPolicy
from reports.bundle.limits import BundleLimits

__all__ = ["VerificationRun", "VerifyOptions"]


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """What the expert trusts and how far the verifier may go.

    ``trust`` is the expert's trust configuration; the other trust fields are
    what the command line adds to it (and come first). Nothing the bundle says
    about itself is trust: without a trusted root, chain or signer, a
    consistent finding is UNTRUSTED, never PASS.
    """

    rpc_url: str | None = None
    """An endpoint the expert trusts for the recorded chain (the bundle's is never queried)."""
    trust_roots_pem: bytes | None = None
    """TSA roots the expert trusts, beside those of the trust configuration."""
    signer_roots_pem: bytes | None = None
    """Roots for the officers' signing certificates (manifest, index and report signatures)."""
    offline: bool = False
    min_confirmations: int = 1
    registry: str | None = None
    """The registry contract address the expert trusts; the recorded one must equal it."""
    chain_id: int | None = None
    """The chain id the expert trusts; the recorded one must equal it."""
    block_time_tolerance_s: int = 2 * 3600
    replay: bool = True
    replay_threshold: float = 0.97
    limits: BundleLimits = field(default_factory=BundleLimits)
    trust: TrustPolicy = field(default_factory=TrustPolicy)

    def setup(self) -> dict[str, str]:
        """The options as the verification report lists them; checks add what they used."""
        return {
            "offline": "yes" if self.offline else "no",
            "min_confirmations": str(self.min_confirmations),
            "block_time_tolerance_s": str(self.block_time_tolerance_s),
            "replay": "yes" if self.replay else "no",
            "replay_threshold": f"{self.replay_threshold:g}",
        }


@dataclass(frozen=True, slots=True)
class VerificationRun:
    """A report plus what it was checked against (for the verification report PDF)."""

    report: VerificationReport
    context: tuple[tuple[str, str], ...]
