"""Blockchain-anchored electronic evidence for web pages.

The public library API. A case-management system does in Python what an
officer does with the ``evidence`` command::

    from evidence import Toolkit

    with Toolkit() as kit:
        kit.create_case("市监-2026-001", "某网店销售假冒商品案", exist_ok=True)
        item = kit.capture("市监-2026-001", "https://shop.example/item/1")
        kit.complete(item.id)                      # timestamp + anchor (tolerates outages)
        officer = kit.report_signer("11010001", passphrase)
        kit.export(item.id, Path("item.zip"), exported_by=officer)  # signed bundle + PDF report
        report = kit.verify(Path("item.zip"))
        assert report.exit_code == 0

Data flows one way: capture -> seal -> timestamp -> anchor -> report/bundle -> verify.
"""

from typing import TYPE_CHECKING, Any

from evidence.model.capture_options import (
    BrowserOptions,
    CaptureOptions,
    CaptureStep,
    CheckPolicy,
    EnvironmentOptions,
    InteractionOptions,
    LimitOptions,
    ProvenanceOptions,
    RenderingOptions,
    SafetyOptions,
    ScreenshotOptions,
    StepAction,
)
from evidence.model.config import Settings
from evidence.model.errors import (
    AnchorError,
    AttributionError,
    BundleError,
    CaptureError,
    CertificateError,
    ConfigurationError,
    EvidenceError,
    IntegrityError,
    InvalidURLError,
    LifecycleError,
    NotFoundError,
    OfficerKeyError,
    ReportError,
    SignatureError,
    SignatureFailure,
    StepsFileError,
    StoreError,
    TimestampError,
    UrlListError,
)
from evidence.model.i18n import language_from_environment, translation
from evidence.model.records import (
    ActingOfficer,
    AnchorReceipt,
    CheckResult,
    CustodyAction,
    CustodyLine,
    OfficerInfo,
    ReportSigner,
    SignatureInfo,
    SignerInfo,
    TimestampToken,
    Verdict,
    VerificationReport,
)
from evidence.model.secrets import MaskingFormatter, held_secrets, secret, withdrawn_secrets
from evidence.model.trust import (
    TrustedCertificate,
    TrustedChain,
    TrustError,
    TrustKind,
    TrustPolicy,
    load_trust,
)
from evidence.model.verification_messages import render_reasons
from evidence.model.version import __version__

if TYPE_CHECKING:
    from evidence.model.identity import (
        CAPTURE_ROLES,
        CASE_READER_ROLES,
        VERIFIER_ROLES,
        AccessDeniedError,
        AuthenticationError,
        IssuedToken,
        LoginRateLimitedError,
        Principal,
        Role,
        TokenKind,
        UnknownUserError,
        UserInfo,
    )
    from evidence.model.jobs import (
        ANCHOR_DUE_TASK,
        SWEEP_TASK,
        TASK_NAMES,
        AnchorBatchPayload,
        CapturePayload,
        QueueSettings,
        TimestampPayload,
        TransientJobError,
    )
    from evidence.model.officer_keys import ENV_PASSPHRASE as OFFICER_PASSPHRASE_ENV
    from evidence.model.officer_keys import KEY_ALGORITHMS
    from evidence.model.tables import ItemStatus, JobKind, JobStatus
    from evidence.services.artifacts import ArtifactInfo
    from evidence.services.batches import read_url_list
    from evidence.services.captures import load_steps
    from evidence.services.demo import DemoResult, run_demo
    from evidence.services.job_records import JobRecord
    from evidence.services.results import (
        BatchCaptureResult,
        BatchInfo,
        BatchSummary,
        CaptureCircumstances,
        CaseInfo,
        ChainStatus,
        CheckpointInfo,
        CompletionResult,
        DoctorFinding,
        DoctorReport,
        ItemInfo,
        RecheckOutcome,
        RecheckResult,
    )
    from evidence.services.service_stack import (
        PartState,
        PartStatus,
        ServiceNotRunningError,
        ServicePart,
        ServiceStack,
        ServiceStartError,
        ServiceStatus,
    )
    from evidence.services.timestamping import (
        TSA_PRESETS,
        TSAPreset,
        serve_agency_tsa,
        tsa_presets,
    )
    from evidence.services.toolkit import Toolkit
    from evidence.services.trust import PresetRoot, preset_roots
    from evidence.verification import BundleLimits, VerifyOptions, verify_bundle

# Everything below is loaded on first use, for start-up time: ``evidence --help``
# must not pay for SQLModel, web3, pyHanko, Playwright or reportlab. Lazy loading
# also keeps ``import capture`` or ``import anchoring.tsa`` free of import cycles
# through the facade. Name -> (module, attribute there).
_LAZY: dict[str, tuple[str, str]] = {
    "Toolkit": ("evidence.services.toolkit", "Toolkit"),
    **{
        name: ("evidence.services.results", name)
        for name in (
            "BatchCaptureResult",
            "CaptureCircumstances",
            "BatchInfo",
            "BatchSummary",
            "CaseInfo",
            "ChainStatus",
            "CheckpointInfo",
            "CompletionResult",
            "DoctorFinding",
            "DoctorReport",
            "ItemInfo",
            "RecheckOutcome",
            "RecheckResult",
        )
    },
    "ItemStatus": ("evidence.model.tables", "ItemStatus"),
    "read_url_list": ("evidence.services.batches", "read_url_list"),
    "load_steps": ("evidence.services.captures", "load_steps"),
    "TSA_PRESETS": ("evidence.services.timestamping", "TSA_PRESETS"),
    "TSAPreset": ("evidence.services.timestamping", "TSAPreset"),
    "tsa_presets": ("evidence.services.timestamping", "tsa_presets"),
    "serve_agency_tsa": ("evidence.services.timestamping", "serve_agency_tsa"),
    "OFFICER_PASSPHRASE_ENV": ("evidence.model.officer_keys", "ENV_PASSPHRASE"),
    "KEY_ALGORITHMS": ("evidence.model.officer_keys", "KEY_ALGORITHMS"),
    "run_demo": ("evidence.services.demo", "run_demo"),
    "DemoResult": ("evidence.services.demo", "DemoResult"),
    "BundleLimits": ("evidence.verification", "BundleLimits"),
    "VerifyOptions": ("evidence.verification", "VerifyOptions"),
    "verify_bundle": ("evidence.verification", "verify_bundle"),
    "PresetRoot": ("evidence.services.trust", "PresetRoot"),
    "preset_roots": ("evidence.services.trust", "preset_roots"),
    # The workers' jobs (evidence/worker/, evidence jobs).
    **{
        name: ("evidence.model.jobs", name)
        for name in (
            "QueueSettings",
            "TASK_NAMES",
            "SWEEP_TASK",
            "ANCHOR_DUE_TASK",
            "TransientJobError",
            "CapturePayload",
            "TimestampPayload",
            "AnchorBatchPayload",
        )
    },
    "JobKind": ("evidence.model.tables", "JobKind"),
    "JobStatus": ("evidence.model.tables", "JobStatus"),
    "JobRecord": ("evidence.services.job_records", "JobRecord"),
    "ArtifactInfo": ("evidence.services.artifacts", "ArtifactInfo"),
    # evidence service up|down|status: the service's processes on one machine.
    **{
        name: ("evidence.services.service_stack", name)
        for name in (
            "ServiceStack",
            "ServiceStatus",
            "ServicePart",
            "PartState",
            "PartStatus",
            "ServiceStartError",
            "ServiceNotRunningError",
        )
    },
    # The agency service's identity and access (evidence/api/, evidence user).
    **{
        name: ("evidence.model.identity", name)
        for name in (
            "Role",
            "TokenKind",
            "Principal",
            "UserInfo",
            "IssuedToken",
            "AuthenticationError",
            "AccessDeniedError",
            "LoginRateLimitedError",
            "UnknownUserError",
            "CAPTURE_ROLES",
            "CASE_READER_ROLES",
            "VERIFIER_ROLES",
        )
    },
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'evidence' has no attribute {name!r}")
    import importlib

    module, attribute = where
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


__all__ = [
    "ANCHOR_DUE_TASK",
    "CAPTURE_ROLES",
    "CASE_READER_ROLES",
    "KEY_ALGORITHMS",
    "OFFICER_PASSPHRASE_ENV",
    "SWEEP_TASK",
    "TASK_NAMES",
    "TSA_PRESETS",
    "VERIFIER_ROLES",
    "AccessDeniedError",
    "ActingOfficer",
    "AnchorBatchPayload",
    "AnchorError",
    "AnchorReceipt",
    "ArtifactInfo",
    "AttributionError",
    "AuthenticationError",
    "BatchCaptureResult",
    "BatchInfo",
    "BatchSummary",
    "BrowserOptions",
    "BundleError",
    "BundleLimits",
    "CaptureCircumstances",
    "CaptureError",
    "CaptureOptions",
    "CapturePayload",
    "CaptureStep",
    "CaseInfo",
    "CertificateError",
    "ChainStatus",
    "CheckPolicy",
    "CheckResult",
    "CheckpointInfo",
    "CompletionResult",
    "ConfigurationError",
    "CustodyAction",
    "CustodyLine",
    "DemoResult",
    "DoctorFinding",
    "DoctorReport",
    "EnvironmentOptions",
    "EvidenceError",
    "IntegrityError",
    "InteractionOptions",
    "InvalidURLError",
    "IssuedToken",
    "ItemInfo",
    "ItemStatus",
    "JobKind",
    "JobRecord",
    "JobStatus",
    "LifecycleError",
    "LimitOptions",
    "LoginRateLimitedError",
    "MaskingFormatter",
    "NotFoundError",
    "OfficerInfo",
    "OfficerKeyError",
    "PartState",
    "PartStatus",
    "PresetRoot",
    "Principal",
    "ProvenanceOptions",
    "QueueSettings",
    "RecheckOutcome",
    "RecheckResult",
    "RenderingOptions",
    "ReportError",
    "ReportSigner",
    "Role",
    "SafetyOptions",
    "ScreenshotOptions",
    "ServiceNotRunningError",
    "ServicePart",
    "ServiceStack",
    "ServiceStartError",
    "ServiceStatus",
    "Settings",
    "SignatureError",
    "SignatureFailure",
    "SignatureInfo",
    "SignerInfo",
    "StepAction",
    "StepsFileError",
    "StoreError",
    "TSAPreset",
    "TimestampError",
    "TimestampPayload",
    "TimestampToken",
    "TokenKind",
    "Toolkit",
    "TransientJobError",
    "TrustError",
    "TrustKind",
    "TrustPolicy",
    "TrustedCertificate",
    "TrustedChain",
    "UnknownUserError",
    "UrlListError",
    "UserInfo",
    "Verdict",
    "VerificationReport",
    "VerifyOptions",
    "__version__",
    "held_secrets",
    "language_from_environment",
    "load_steps",
    "load_trust",
    "preset_roots",
    "read_url_list",
    "render_reasons",
    "run_demo",
    "secret",
    "serve_agency_tsa",
    "translation",
    "tsa_presets",
    "verify_bundle",
    "withdrawn_secrets",
]
