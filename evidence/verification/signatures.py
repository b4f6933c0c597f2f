"""Officers' CMS signatures over ``manifest.json`` (``signatures/*.p7s``) and who made them."""

from __future__ import annotations

from evidence.model.errors import EvidenceError
from evidence.model.records import SignerInfo, Verdict
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
from evidence.verification.context import Check, Context, Fact, Findings
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf

SIGNATURE_DIR = bf.SIGNATURES_DIR + "/"


def check_signatures(ctx: Context, out: Findings) -> None:
    signatures = sorted(
        n for n in ctx.names if n.startswith(SIGNATURE_DIR) and n.endswith(bf.SIGNATURE_SUFFIX)
    )
    if not signatures:
        out.add(
            CheckId.MANIFEST_SIGNATURE,
            SIGNATURE_DIR,
            Verdict.NOT_CHECKED,
            Reason.of(C.SIGNATURE_NONE),
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
            error = Reason.of(C.ERROR, error=exc.message)
            out.add(CheckId.MANIFEST_SIGNATURE, name, Verdict.FAIL, error)
            continue
        except Exception as exc:  # a malformed signature must be a verdict, not a crash
            out.add(
                CheckId.MANIFEST_SIGNATURE,
                name,
                Verdict.FAIL,
                Reason.of(C.SIGNATURE_UNREADABLE, kind=type(exc).__name__, error=exc),
            )
            continue
        _report_signer(out, name, signer)


def _report_signer(out: Findings, name: str, signer: SignerInfo) -> None:
    if not signer.trusted:
        # The CMS signature is intact, but who signed rests on the certificate the
        # bundle carries: the expert compares its fingerprint out of band.
        out.add(
            CheckId.MANIFEST_SIGNATURE,
            name,
            Verdict.UNTRUSTED,
            Reason.of(C.SIGNATURE_UNTRUSTED, manifest=bf.MANIFEST, who=describe_signer(signer)),
        )
        return
    out.add(
        CheckId.MANIFEST_SIGNATURE,
        name,
        Verdict.PASS,
        Reason.of(C.SIGNATURE_VALID, manifest=bf.MANIFEST, who=describe_signer(signer)),
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
