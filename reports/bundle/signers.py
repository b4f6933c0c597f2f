"""``signers.txt``: every signature in the bundle, with its signer's certificate as a court
compares it.

An expert holds the bundle against the agency's published list of officers
(name, enforcement ID, certificate SHA-256 fingerprint, issuer). This file
lists, for every signature the bundle carries — the officers' signatures over
``manifest.json``, the report's PAdES signatures and the exporting officer's
signature over the bundle index — the role, name, enforcement ID, the
certificate's SHA-256 fingerprint and issuer exactly as ``openssl x509
-noout -fingerprint -sha256`` and ``-issuer -nameopt oneline,-esc_msb`` print
them, and the signing time; with the commands that print the same values
from the signatures themselves.

The file is a member like any other: ``SHA256SUMS`` and the signed index list
it, so an edited copy fails ``sha256sum -c`` and ``evidence verify`` names
it. It is the bundle's own statement; the signatures are the proof.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from cryptography import x509

from evidence.model.certificate_chain import openssl_fingerprint, openssl_issuer
from evidence.model.errors import EvidenceError, ReportError
from evidence.model.officer_keys import common_name_of, enforcement_id_of
from evidence.model.records import isoformat
from reports.bundle import layout as bf

_RULE = "=" * 72


class SignerRole(Enum):
    """What a signature in the bundle signs, and in which capacity."""

    CAPTURE = "capture"
    """The capturing officer's signature over ``manifest.json``."""
    COSIGN = "cosign"
    """A further officer's co-signature over ``manifest.json``."""
    REPORT = "report"
    """A PAdES signature on ``report/report.pdf``."""
    BUNDLE_INDEX = "bundle-index"
    """The exporting officer's signature over ``signed/bundle-index.txt``."""


_ROLE_TEXT = {
    SignerRole.CAPTURE: "清单采集签名 / capture signature over manifest.json",
    SignerRole.COSIGN: "清单共同签名 / co-signature over manifest.json",
    SignerRole.REPORT: "报告签名（PAdES）/ report signature (PAdES)",
    SignerRole.BUNDLE_INDEX: "证据包索引签名（导出人员）/ bundle index signature (exporter)",
}


@dataclass(frozen=True, slots=True)
class SignerEntry:
    """One signature and its signer's certificate, in the forms openssl prints."""

    role: SignerRole
    location: str
    """Where the signature is: a ``.p7s`` member, or ``report/report.pdf`` and its field."""
    name: str
    enforcement_id: str
    fingerprint: str
    """``AB:CD:…`` (openssl's SHA-256 fingerprint form)."""
    issuer: str
    """``C = CN, O = …, CN = …`` (openssl's ``-nameopt oneline,-esc_msb`` form)."""
    signed_at: datetime | None
    """The signer's claimed signing time; None for the index, signed after this list."""

    @classmethod
    def of(
        cls,
        role: SignerRole,
        location: str,
        certificate: x509.Certificate,
        signed_at: datetime | None,
    ) -> SignerEntry:
        return cls(
            role=role,
            location=location,
            name=common_name_of(certificate) or certificate.subject.rfc4514_string(),
            enforcement_id=enforcement_id_of(certificate),
            fingerprint=openssl_fingerprint(certificate),
            issuer=openssl_issuer(certificate),
            signed_at=signed_at,
        )


def manifest_signers(
    manifest_bytes: bytes, signatures: Sequence[tuple[str, bytes, bytes]]
) -> list[SignerEntry]:
    """The officers' signatures over the manifest (``BundleInput.signatures``), in
    number order: number 1 is the capture signature, the rest co-signatures.

    Each is checked over the manifest as it is listed: the bundle never states
    a signer whose signature does not hold.
    """
    from evidence.model.signatures import signer_certificate, verify_manifest_signature

    entries = []
    for stem, signature_der, _certificate_pem in signatures:
        p7s, _pem = bf.signature_members(stem)
        try:
            signer = verify_manifest_signature(manifest_bytes, signature_der)
        except EvidenceError as exc:
            raise ReportError(f"{p7s}: {exc.message}; no bundle was written") from exc
        number = int(stem.rsplit("/", 1)[-1].split("-", 1)[0])
        role = SignerRole.CAPTURE if number == 1 else SignerRole.COSIGN
        certificate = signer_certificate(signature_der)
        entries.append(SignerEntry.of(role, p7s, certificate, signer.signing_time))
    return entries


def report_signers(pdf: Path) -> list[SignerEntry]:
    """The PAdES signatures in the report, in signing order (not validated here: the
    verifier does that against the expert's roots)."""
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader

    entries = []
    try:
        with pdf.open("rb") as stream:
            for embedded in PdfFileReader(stream, strict=False).embedded_signatures:
                certificate = x509.load_der_x509_certificate(embedded.signer_cert.dump())
                claimed = embedded.self_reported_timestamp
                claimed = claimed.astimezone(UTC) if claimed is not None else None
                location = f"{bf.REPORT} ({embedded.field_name})"
                entries.append(SignerEntry.of(SignerRole.REPORT, location, certificate, claimed))
    except OSError as exc:
        raise ReportError(f"cannot read the report {pdf}: {exc.strerror or exc}") from exc
    except (PdfReadError, ValueError) as exc:
        raise ReportError(f"cannot read the signatures of the report {pdf}: {exc}") from exc
    return entries


def index_signer(certificate: x509.Certificate) -> SignerEntry:
    return SignerEntry.of(SignerRole.BUNDLE_INDEX, bf.SIGNED_INDEX_SIGNATURE, certificate, None)


def signers_text(
    item_id: str,
    created_at: datetime,
    entries: Sequence[SignerEntry],
    notes: Sequence[str] = (),
) -> str:
    """The file: a header with the commands, one block per signature, then ``notes``
    (what could not be read, e.g. a report whose signatures are unreadable)."""
    lines = [
        "签名人清单 / Signers of this bundle",
        _RULE,
        f"证据编号 / Item: {item_id}",
        "",
        "下列每个签名的证书 SHA-256 指纹和颁发者按 openssl 的输出格式列出，",
        "可与执法机构公布的人员证书名单逐字比对。本文件列于 SHA256SUMS 和签名索引",
        f"{bf.SIGNED_INDEX} 中；它是本包的陈述，证明在于签名本身（见 VERIFY.txt）。",
        "Each signature's certificate SHA-256 fingerprint and issuer are printed as openssl",
        "prints them, to compare character by character with the agency's published list",
        "of officers. This file is listed in SHA256SUMS and in the signed index",
        f"{bf.SIGNED_INDEX}; it is the bundle's statement, the signatures are the proof",
        "(see VERIFY.txt).",
        "",
        "从签名中取出签名人证书并打印同样两项（在解压后的本包目录中运行，不写入本包）/",
        "To print the same two values from a signature itself (run in the unpacked bundle;",
        "nothing is written into it):",
        "     T=$(mktemp -d)",
        "     openssl cms -verify -noverify -binary -inform DER -in SIGNATURE.p7s \\",
        '       -content SIGNED-FILE -signer "$T/signer.pem" -out /dev/null',
        '     openssl x509 -in "$T/signer.pem" -noout -fingerprint -sha256',
        '     openssl x509 -in "$T/signer.pem" -noout -issuer -nameopt oneline,-esc_msb',
        "   报告的 PAdES 签名 / the report's PAdES signatures:",
        f'     (cd "$T" && pdfsig -dump "$OLDPWD/{bf.REPORT}")   # 写出 report.pdf.sig0, …',
        "       # 空签名栏显示 Cannot dump / an empty signature field says Cannot dump",
        '     openssl pkcs7 -inform DER -in "$T/report.pdf.sig0" -print_certs |',
        "       openssl x509 -noout -fingerprint -sha256   # 第一个证书为签名人 / first = signer",
        "",
    ]
    for number, entry in enumerate(entries, start=1):
        lines += _entry_lines(number, entry, created_at)
    lines += [f"未能列出 / Not listed: {note}" for note in notes]
    return "\n".join(lines) + "\n"


def _entry_lines(number: int, entry: SignerEntry, created_at: datetime) -> list[str]:
    if entry.signed_at is not None:
        when = f"{isoformat(entry.signed_at)}（签名人自述 / the signer's claim）"
    else:
        when = (
            f"导出时，{isoformat(created_at)} 或稍后 / at export, {isoformat(created_at)} or "
            f"just after (signingTime in {bf.SIGNED_INDEX_SIGNATURE}, "
            f"time-stamped by {bf.SIGNED_INDEX_TOKEN})"
        )
    return [
        f"[{number}] {_ROLE_TEXT[entry.role]}",
        f"    签名位置 / Signature: {entry.location}",
        f"    姓名 / Name: {entry.name}",
        f"    执法证号 / Enforcement ID: {entry.enforcement_id or '-'}",
        f"    sha256 Fingerprint={entry.fingerprint}",
        f"    issuer={entry.issuer}",
        f"    签名时间 / Signing time: {when}",
        "",
    ]
