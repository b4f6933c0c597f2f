"""PAdES signatures on the evidence report: the officer's key plus an RFC 3161 timestamp.

:func:`sign_pdf` adds one signature in an incremental update, so a second
officer's co-signature (a second field) leaves the first one intact: each
signature covers the whole file as it stood when it was made, and any later
change to those bytes breaks it. The signature carries an RFC 3161
timestamp token (PAdES B-T), which proves the signature existed at that time
independent of the signer's clock.

The token comes from the caller's own TSA client, handed in as a
:class:`PdfTimestamper`: the same client, retries, failover and token
verification as the evidence timestamps, not a second HTTP path inside
pyHanko. :class:`ClientTimeStamper` is the adapter pyHanko calls.

:func:`validate_pdf_signatures` reads every signature back with pyHanko's
validator against roots the caller trusts. The same files validate in
poppler's ``pdfsig``, the stock tool an expert has.

Keys and certificates are ``cryptography`` objects; pyHanko works on
asn1crypto ones, converted here through DER (no hand-parsing).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError as PyHankoPdfError
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import EmbeddedPdfSignature, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from evidence.model.errors import EvidenceError, ReportError
from reports._pades_pdfa import PdfAIncrementalWriter, PdfAPdfSigner
from reports._signature_stamp import signing_time

if TYPE_CHECKING:
    from pyhanko.stamp import TextStampStyle

logger = logging.getLogger(__name__)

__all__ = [
    "ClientTimeStamper",
    "PdfSignatureCheck",
    "PdfTimestamper",
    "sign_pdf",
    "validate_pdf_signatures",
]


class PdfTimestamper(Protocol):
    """The caller's RFC 3161 client, as a PDF signature needs it.

    Called with the digest of the signature value and pyHanko's name of its
    algorithm (``sha256``, ``sha512``); returns the DER of an RFC 3161
    ``TimeStampToken`` (a CMS ``ContentInfo``) over that digest, already
    verified by the client (TSA certificate chain, imprint, nonce). Raises an
    :class:`~evidence.model.errors.EvidenceError` when no TSA gave a usable token.
    """

    def __call__(self, message_digest: bytes, hash_algorithm: str) -> bytes: ...


class ClientTimeStamper(TimeStamper):
    """pyHanko's :class:`TimeStamper` answered by a :class:`PdfTimestamper`.

    pyHanko asks for a token twice per signature: once over a dummy digest to
    size the signature's placeholder, then over the signature value itself.
    Both go through the caller's client.
    """

    def __init__(self, timestamper: PdfTimestamper) -> None:
        # The request (and its nonce) is the client's; pyHanko only gets the token.
        super().__init__(include_nonce=False)  # type: ignore[no-untyped-call]
        self._timestamper = timestamper

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        # The client blocks on HTTP; pyHanko's own HTTP client runs in a thread too.
        der = await asyncio.to_thread(self._timestamper, message_digest, md_algorithm)
        return _token_over(der, message_digest, md_algorithm)


def _token_over(der: bytes, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
    """``der`` as a TimeStampToken, refused unless it stamps ``message_digest``."""
    try:
        token = cms.ContentInfo.load(der)
        signed = token["content"]
        encapsulated = signed["encap_content_info"]
        if token["content_type"].native != "signed_data" or (
            encapsulated["content_type"].native != "tst_info"
        ):
            raise ValueError("not a SignedData over a TSTInfo")
        imprint = encapsulated["content"].parsed["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        hashed = imprint["hashed_message"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise ReportError(
            f"the timestamper did not return an RFC 3161 TimeStampToken: {_one_line(exc)}"
        ) from exc
    if hashed != message_digest or algorithm != md_algorithm:
        raise ReportError(
            f"the timestamper returned a token over a different digest ({algorithm}, not "
            f"the {md_algorithm} of the signature)"
        )
    return token


@dataclass(frozen=True, slots=True)
class PdfSignatureCheck:
    """What the validator found for one signature field."""

    field: str
    signer_subject: str
    """The signer certificate's subject, RFC 4514 style as pyHanko renders it."""
    signer_certificate_der: bytes
    """The signer's certificate (DER), so a verdict can name it by its fingerprint."""
    intact: bool
    """The signed byte ranges hash to the signed digest and the CMS signature verifies."""
    trusted: bool
    """The signer certificate chains to one of the given trust roots."""
    covers_whole_file: bool
    """No bytes were added after this signature."""
    modification_level: str
    """pyHanko's judgement of later incremental updates: NONE, FORM_FILLING, ANNOTATIONS, OTHER."""
    timestamp_time: datetime | None
    """genTime of the signature's RFC 3161 token; None when it has none."""
    timestamp_trusted: bool
    """The timestamp token is intact and its TSA chains to the given roots."""
    summary: str
    """pyHanko's one-line verdict, for the record."""
    timestamp_intact: bool = False
    """The signature carries an RFC 3161 token that verifies over the signature value
    (whoever its TSA is); False when it has none."""
    signed_at: datetime | None = None
    """The signer's own claim of the signing time (``/M``); the token's genTime is the proof."""

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.signer_certificate_der)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the signer's certificate as ``openssl x509 -noout -fingerprint -sha256``
        prints it (``AB:CD:…``), to compare with the agency's published list."""
        from reports._signature_stamp import openssl_fingerprint

        return openssl_fingerprint(self.certificate)

    @property
    def issuer(self) -> str:
        """The signer certificate's issuer as ``openssl x509 -noout -issuer`` prints it."""
        from reports._signature_stamp import openssl_issuer

        return openssl_issuer(self.certificate)

    @property
    def valid(self) -> bool:
        """Intact, trusted, timestamped and not followed by anything beyond form filling."""
        return (
            self.intact
            and self.trusted
            and self.timestamp_trusted
            and self.modification_level in ("NONE", "FORM_FILLING")
        )


def sign_pdf(
    pdf_in: Path,
    pdf_out: Path,
    *,
    key: PrivateKeyTypes,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    field_name: str,
    signer_label: str,
    timestamper: PdfTimestamper | None,
    tsa_roots: bytes | None,
    signed_at: datetime | None = None,
) -> Path:
    """Sign ``pdf_in`` into ``pdf_out`` in the signature field ``field_name``.

    A field the report prepared over a signature line (``Officer1``, …) gets
    the signature with a visible stamp (name, enforcement ID, time, issuer,
    certificate fingerprint); a name the report has no field for gets a new,
    invisible field. ``pdf_in`` may be signed already: the signature is then
    a co-signature, appended as an incremental update that leaves the
    earlier ones intact. ``signed_at`` is the caller's clock (default: now).

    ``chain`` holds the certificates between the officer's and a root (the
    root may be included). With ``timestamper`` the signature gets an RFC 3161
    timestamp; ``tsa_roots`` (PEM) is then required, and the token in the
    signed file is checked against it before the file is accepted. Raises
    ReportError on failure; ``pdf_out`` is only written when everything succeeded.
    """
    if not field_name or not field_name.replace("_", "").replace("-", "").isalnum():
        raise ReportError(f"signature field name {field_name!r} must be letters/digits/-/_")
    if timestamper is not None and not tsa_roots:
        raise ReportError("a timestamper was given without the TSA's trust roots")
    pdf_out = Path(pdf_out)
    pdf_out.parent.mkdir(parents=True, exist_ok=True)
    tmp = pdf_out.with_name(f".{pdf_out.name}.signing")
    try:
        _sign_into(
            pdf_in,
            tmp,
            field_name,
            signer=_signer(key, certificate, chain),
            meta=_signature_metadata(key, field_name, signer_label),
            timestamper=ClientTimeStamper(timestamper) if timestamper is not None else None,
            signed_at=signing_time(signed_at),
        )
        if timestamper is not None and tsa_roots is not None:
            _check_own_timestamp(tmp, field_name, tsa_roots, [certificate, *chain])
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(pdf_out)
    logger.info("signed %s as field %s (%s)", pdf_out, field_name, signer_label)
    return pdf_out


def _signer(
    key: PrivateKeyTypes, certificate: x509.Certificate, chain: Sequence[x509.Certificate]
) -> signers.SimpleSigner:
    registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    for extra in chain:
        registry.register(_asn1_cert(extra))
    return signers.SimpleSigner(
        signing_cert=_asn1_cert(certificate),
        signing_key=_asn1_key(key),
        cert_registry=registry,
    )


def _signature_metadata(
    key: PrivateKeyTypes, field_name: str, signer_label: str
) -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(
        field_name=field_name,
        name=signer_label or None,
        subfilter=fields.SigSeedSubFilter.PADES,
        # Ed25519 in CMS is defined with SHA-512 only (RFC 8419).
        md_algorithm="sha512" if isinstance(key, ed25519.Ed25519PrivateKey) else "sha256",
        # The certificate itself goes into the CMS; PAdES needs the signing
        # certificate attribute, which pyHanko adds for PAdES subfilters.
        use_pades_lta=False,
    )


def _sign_into(
    pdf_in: Path,
    tmp: Path,
    field_name: str,
    *,
    signer: signers.SimpleSigner,
    meta: signers.PdfSignatureMetadata,
    timestamper: TimeStamper | None,
    signed_at: datetime,
) -> None:
    """Write the signed file to ``tmp``; every failure becomes one ReportError line."""
    try:
        with pdf_in.open("rb") as source:
            writer = PdfAIncrementalWriter(source, modified_at=signed_at)
            slot = _field_slot(writer, field_name, pdf_in)
            stamp = _stamp(writer, signer, signed_at) if slot.visible else None
            pdf_signer = PdfAPdfSigner(
                meta,
                signer,
                signed_at=signed_at,
                timestamper=timestamper,
                stamp_style=stamp,
                # A field the report did not prepare is added without a visible stamp.
                new_field_spec=None
                if slot.exists
                else fields.SigFieldSpec(sig_field_name=field_name, on_page=-1),
            )
            with tmp.open("wb") as out:
                pdf_signer.sign_pdf(writer, output=out)
    except ReportError:
        raise
    except EvidenceError as exc:
        # The caller's TSA client names the TSAs it tried and why each failed.
        raise ReportError(f"cannot sign {pdf_in}: {exc.message}", hint=exc.hint) from exc
    except (SigningError, PyHankoPdfError, PdfReadError, OSError, ValueError) as exc:
        raise ReportError(f"cannot sign {pdf_in}: {_one_line(exc)}") from exc
    except Exception as exc:
        # pyHanko's own exception types for anything else it meets while signing.
        raise ReportError(
            f"cannot sign {pdf_in}: {exc.__class__.__name__}: {_one_line(exc)}"
        ) from exc


@dataclass(frozen=True, slots=True)
class _Slot:
    exists: bool
    """The report prepared this (empty) field."""
    visible: bool
    """It has an area on a page, where the stamp goes."""


def _field_slot(writer: IncrementalPdfFileWriter, field_name: str, pdf_in: Path) -> _Slot:
    for name, value, ref in fields.enumerate_sig_fields(writer, filled_status=None):
        if name != field_name:
            continue
        if value is not None:
            raise ReportError(f"{pdf_in} already has a signature field {field_name!r}, signed")
        rect = ref.get_object().get("/Rect")
        area = rect is not None and abs(float(rect[2]) - float(rect[0])) > 1
        return _Slot(exists=True, visible=area)
    return _Slot(exists=False, visible=False)


def _stamp(
    writer: IncrementalPdfFileWriter, signer: signers.SimpleSigner, signed_at: datetime
) -> TextStampStyle:
    """The stamp, in the language the report declares (``/Lang``)."""
    from reports._signature_stamp import appearance_of, appearance_text, stamp_style

    lang = str(writer.root.get("/Lang", "zh"))
    language = "en" if lang.lower().startswith("en") else "zh"
    assert signer.signing_cert is not None
    certificate = x509.load_der_x509_certificate(signer.signing_cert.dump())
    return stamp_style(appearance_text(appearance_of(certificate, signed_at), language))


def validate_pdf_signatures(
    pdf: Path,
    trust_roots: Sequence[x509.Certificate],
    *,
    tsa_roots: Sequence[x509.Certificate] | None = None,
) -> tuple[PdfSignatureCheck, ...]:
    """Validate every signature in ``pdf``: signers against ``trust_roots``, the
    signatures' RFC 3161 timestamps against ``tsa_roots``.

    A verifier passes the two sets it trusts separately, so a signer root
    never vouches for a time-stamp nor a TSA root for a signer. Without
    ``tsa_roots`` both are judged against ``trust_roots`` (officer and TSA
    roots given together). No network: revocation is not fetched (the test
    PKI and most officer PKIs here publish none), so "trusted" means "chains
    to a given root".
    """
    signer_roots = [_asn1_cert(c) for c in trust_roots]
    ts_roots = signer_roots if tsa_roots is None else [_asn1_cert(c) for c in tsa_roots]
    try:
        with Path(pdf).open("rb") as stream:
            reader = PdfFileReader(stream, strict=False)
            return tuple(
                _check_of(embedded, signer_roots, ts_roots)
                for embedded in reader.embedded_signatures
            )
    except OSError as exc:
        raise ReportError(f"cannot read {pdf}: {exc.strerror or exc}") from exc
    except (PyHankoPdfError, PdfReadError, ValueError) as exc:
        raise ReportError(f"cannot read the signatures of {pdf}: {_one_line(exc)}") from exc


def _check_of(
    embedded: EmbeddedPdfSignature,
    signer_roots: list[asn1_x509.Certificate],
    ts_roots: list[asn1_x509.Certificate],
) -> PdfSignatureCheck:
    status = validate_pdf_signature(
        embedded,
        signer_validation_context=ValidationContext(trust_roots=signer_roots, allow_fetching=False),
        ts_validation_context=ValidationContext(trust_roots=ts_roots, allow_fetching=False),
    )
    ts = status.timestamp_validity
    level = status.modification_level
    return PdfSignatureCheck(
        field=str(embedded.field_name),
        signer_subject=str(status.signing_cert.subject.human_friendly),
        signer_certificate_der=status.signing_cert.dump(),
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        covers_whole_file=status.coverage is not None and status.coverage.name == "ENTIRE_FILE",
        modification_level=level.name if level is not None else "UNKNOWN",
        timestamp_time=ts.timestamp.astimezone(UTC) if ts is not None else None,
        timestamp_trusted=bool(ts is not None and ts.intact and ts.valid and ts.trusted),
        summary=_one_line(status.summary()),
        timestamp_intact=bool(ts is not None and ts.intact and ts.valid),
        signed_at=_claimed_time(embedded),
    )


def _claimed_time(embedded: EmbeddedPdfSignature) -> datetime | None:
    """The signer's own time (``/M``), as the signature dictionary states it."""
    claimed = embedded.self_reported_timestamp
    return claimed.astimezone(UTC) if claimed is not None else None


def _check_own_timestamp(
    pdf: Path, field_name: str, tsa_roots: bytes, signer_certs: Sequence[x509.Certificate]
) -> None:
    """Refuse to hand out a signature whose timestamp a reader could not trust.

    The client verified the token against its own configured roots; this
    checks the token as embedded, against the roots the caller will ship.
    """
    try:
        roots = x509.load_pem_x509_certificates(tsa_roots)
    except ValueError as exc:
        raise ReportError(f"the TSA trust roots are not PEM certificates: {exc}") from exc
    with pdf.open("rb") as stream:
        reader = PdfFileReader(stream, strict=False)
        embedded = next(s for s in reader.embedded_signatures if s.field_name == field_name)
        status = validate_pdf_signature(
            embedded,
            # The signer's own trust is the reader's business (its certificates are
            # trusted as given); only the token is judged here.
            signer_validation_context=ValidationContext(
                trust_roots=[_asn1_cert(c) for c in signer_certs], allow_fetching=False
            ),
            ts_validation_context=ValidationContext(
                trust_roots=[_asn1_cert(c) for c in roots], allow_fetching=False
            ),
            skip_diff=True,
        )
    ts = status.timestamp_validity
    if ts is None:
        raise ReportError(f"the TSA returned no timestamp for signature {field_name}")
    if not (ts.intact and ts.valid and ts.trusted):
        raise ReportError(
            f"the timestamp on signature {field_name} does not chain to the given TSA roots"
        )


def _asn1_cert(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _asn1_key(key: PrivateKeyTypes) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def _one_line(value: object) -> str:
    return " ".join(str(value).split())
