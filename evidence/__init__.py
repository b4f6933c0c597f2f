"""Blockchain-anchored electronic evidence for web pages.

The public library API. A case-management system does in Python what an
officer does with the ``evidence`` command::

    from evidence import Toolkit

    with Toolkit() as kit:
        kit.create_case("市监-2026-001", "某网店销售假冒商品案", exist_ok=True)
        item = kit.capture("市监-2026-001", "https://shop.example/item/1")
        kit.complete(item.id)                      # timestamp + anchor (tolerates outages)
        kit.export(item.id, Path("item.zip"))      # bundle with the PDF report
        report = kit.verify(Path("item.zip"))
        assert report.exit_code == 0

Data flows one way: capture -> seal -> timestamp -> anchor -> report/bundle -> verify.
"""

from typing import TYPE_CHECKING, Any

from evidence.model.config import Settings
from evidence.model.errors import (
    AnchorError,
    BundleError,
    CaptureError,
    ConfigurationError,
    EvidenceError,
    IntegrityError,
    InvalidURLError,
    LifecycleError,
    NotFoundError,
    ReportError,
    StoreError,
    TimestampError,
)
from evidence.model.records import AnchorReceipt, CaptureOptions, TimestampToken
from evidence.model.version import __version__

if TYPE_CHECKING:
    from evidence.model.tables import ItemStatus
    from evidence.services.toolkit import CaseInfo, CompletionResult, ItemInfo, Toolkit
    from evidence.verification.verifier import (
        CheckResult,
        Verdict,
        VerificationReport,
        verify_bundle,
    )

# The facade imports every stage, and every stage imports the core's leaf
# modules (records, errors). Loading the facade lazily keeps
# ``import capture`` or ``import anchoring.tsa`` free of import cycles.
_LAZY = {
    "CaseInfo": "evidence.services.toolkit",
    "CompletionResult": "evidence.services.toolkit",
    "ItemInfo": "evidence.services.toolkit",
    "Toolkit": "evidence.services.toolkit",
    "ItemStatus": "evidence.model.tables",
    "CheckResult": "evidence.verification.verifier",
    "Verdict": "evidence.verification.verifier",
    "VerificationReport": "evidence.verification.verifier",
    "verify_bundle": "evidence.verification.verifier",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'evidence' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AnchorError",
    "AnchorReceipt",
    "BundleError",
    "CaptureError",
    "CaptureOptions",
    "CaseInfo",
    "CheckResult",
    "CompletionResult",
    "ConfigurationError",
    "EvidenceError",
    "IntegrityError",
    "InvalidURLError",
    "ItemInfo",
    "ItemStatus",
    "LifecycleError",
    "NotFoundError",
    "ReportError",
    "Settings",
    "StoreError",
    "TimestampError",
    "TimestampToken",
    "Toolkit",
    "Verdict",
    "VerificationReport",
    "__version__",
    "verify_bundle",
]
