"""Verification of bundles: small checks run by one runner.

Each check (one module per family: integrity, timestamp, anchor, signatures,
warc, custody, report, replay, video, wacz) declares its id, what it needs and
what it establishes; :mod:`evidence.verification.runner` holds the registry
and runs them in dependency order, keeping every result. Heavy libraries
(web3, warcio, Pillow, Playwright) are imported by the checks that use them.
"""

from __future__ import annotations

from evidence.model.errors import EvidenceError
from evidence.model.records import CheckResult, Verdict, VerificationReport
from evidence.verification.ids import CheckId
from evidence.verification.options import VerificationRun, VerifyOptions
from evidence.verification.replay import screenshot_similarity
from evidence.verification.runner import run_verification, verify_bundle
from reports.bundle.limits import BundleLimits
from reports.bundle.reader import open_bundle
from reports.bundle.wacz_reader import EVIDENCE_BUNDLE as WACZ_EVIDENCE
from reports.bundle.wacz_reader import is_wacz

__all__ = [
    "WACZ_EVIDENCE",
    "BundleLimits",
    "CheckId",
    "CheckResult",
    "EvidenceError",
    "Verdict",
    "VerificationReport",
    "VerificationRun",
    "VerifyOptions",
    "is_wacz",
    "open_bundle",
    "run_verification",
    "screenshot_similarity",
    "verify_bundle",
]
