"""Officers' CMS signatures over ``manifest.json`` (``signatures/*.p7s``) and who made them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evidence.model.errors import BundleError, EvidenceError
from evidence.model.records import SignerInfo, Verdict
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf

if TYPE_CHECKING:
    from cryptography import x509

SIGNATURE_DIR = bf.SIGNATURES_DIR + "/"


def load_signer_roots(pem: bytes | None) -> list[x509.Certificate] | None:
    """The expert's roots for officers' certificates; a bad file is the expert's error,
    raised before any check runs rather than charged to the bundle."""
    if pem is None:
        return None
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise BundleError(f"the signer trust roots are not PEM certificates ({exc})") from exc


def check_signatures(ctx: Context, out: Findings) -> None:
    signatures = sorted(
        n for n in ctx.names if n.startswith(SIGNATURE_DIR) and n.endswith(bf.SIGNATURE_SUFFIX)
    )
    if not signatures:
        out.add(
            CheckId.MANIFEST_SIGNATURE,
            SIGNATURE_DIR,
            Verdict.NOT_CHECKED,
            "no signatures in bundle",
        )
        return
    from evidence.model.signatures import verify_manifest_signature  # only when needed

    for name in signatures:
        data = ctx.read_small(name, out)
        if data is None:
            continue  # already reported as unreadable or too large
        try:
            signer = verify_manifest_signature(ctx.manifest_bytes, data, ctx.signer_roots)
        except EvidenceError as exc:
            out.add(CheckId.MANIFEST_SIGNATURE, name, Verdict.FAIL, exc.message)
            continue
        except Exception as exc:  # a malformed signature must be a verdict, not a crash
            out.add(
                CheckId.MANIFEST_SIGNATURE,
                name,
                Verdict.FAIL,
                f"unreadable signature ({type(exc).__name__}: {exc})",
            )
            continue
        _report_signer(out, name, signer)


def _report_signer(out: Findings, name: str, signer: SignerInfo) -> None:
    if not signer.trusted:
        # The CMS signature is intact, but who signed is unproven without roots.
        out.add(
            CheckId.MANIFEST_SIGNATURE,
            name,
            Verdict.NOT_CHECKED,
            f"signature over {bf.MANIFEST} is intact, by {describe_signer(signer)}, "
            "but the certificate was not checked against trusted roots "
            "(give --signer-roots)",
        )
        return
    out.add(
        CheckId.MANIFEST_SIGNATURE,
        name,
        Verdict.PASS,
        f"valid signature over {bf.MANIFEST} by {describe_signer(signer)}, "
        "certificate chains to the given signer roots",
    )


def describe_signer(signer: SignerInfo) -> str:
    if signer.common_name and signer.enforcement_id:
        # As evidence.model.signatures names signers in its errors, so both read alike.
        return (
            f"{signer.common_name} (enforcement ID {signer.enforcement_id}, "
            f"certificate SHA-256 {signer.certificate_sha256})"
        )
    return signer.subject or f"certificate SHA-256 {signer.certificate_sha256}"


SIGNATURES = Check(
    CheckId.MANIFEST_SIGNATURE,
    check_signatures,
    SIGNATURE_DIR,
    needs=frozenset({Fact.DIGESTS, Fact.MANIFEST_BYTES}),
)
