"""What the expert trusts and how far the verifier may go; what a run returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from evidence.model.records import VerificationReport
from reports.bundle.limits import BundleLimits

__all__ = ["VerificationRun", "VerifyOptions"]


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """What the expert trusts and how far the verifier may go."""

    rpc_url: str | None = None
    """Query this endpoint instead of the one recorded in the bundle."""
    trust_roots_pem: bytes | None = None
    """TSA roots the expert trusts; without them the root shipped in the bundle is used."""
    signer_roots_pem: bytes | None = None
    """Roots for the officers' signing certificates (manifest CMS signatures)."""
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
