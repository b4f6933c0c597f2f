"""The RFC 3161 time-stamp over the manifest: TSA, serial, genTime, policy, imprint, nonce.

The heading says what the TSA is to this machine's trust configuration
(:class:`~evidence.model.records.TrustStanding`, decided by the facade), and
the serial and nonce are printed both in decimal and exactly as
``openssl ts -reply -in timestamp/token.tsr -text`` prints them, so an expert
comparing the two finds the same characters.
"""

from __future__ import annotations

from reportlab.platypus import Flowable, KeepTogether, Spacer

from evidence.model.i18n import N_
from evidence.model.records import TimestampToken, TrustStanding
from reports._i18n import translate
from reports._standing import timestamp_note, timestamp_title
from reports.pdf.layout import Layout

__all__ = ["openssl_integer", "timestamp_section"]

_TEXT: dict[str, str] = {
    "number_decimal": N_("{n} (decimal)"),
    # TRANSLATORS: {n} is hexadecimal, character for character as OpenSSL prints it.
    "number_openssl": N_("{n} (as openssl ts -reply -text prints it)"),
    "tsa_certificate_sha256": N_("TSA certificate SHA-256"),
    "nonce_none": N_("None (the request carried no nonce)"),
}


def timestamp_section(
    layout: Layout,
    token: TimestampToken | None,
    standing: TrustStanding = TrustStanding.UNTRUSTED,
) -> list[Flowable]:
    """The time-stamp section, titled by ``standing`` (the facade's trust decision)."""
    s, t = layout.s, layout.t
    out: list[Flowable] = [layout.heading("sec_timestamp", timestamp_title(layout.lang, standing))]
    if token is None:
        out.append(layout.pending_box("ts_missing"))
        return out
    if token.development or standing is TrustStanding.DEVELOPMENT:
        out += layout.warning_box("ts_dev_warning")
    note = timestamp_note(layout.lang, standing)
    if note is not None:
        out += [layout.pending_note(note), Spacer(1, 6)]
    rows: list[tuple[str, Flowable]] = [
        (t("tsa_url"), layout.p(layout.clip(token.tsa_url), s.mono)),
        (t("tsa_subject"), layout.p(layout.clip(token.tsa_subject), s.value)),
    ]
    fingerprint = certificate_sha256(token.tsa_certificate_pem)
    if fingerprint:
        rows.append((_t(layout, "tsa_certificate_sha256"), layout.p(fingerprint, s.mono)))
    rows += [
        (t("serial"), _number(layout, token.serial_number)),
        (t("gen_time"), layout.time_cell(token.gen_time)),
        (t("policy"), layout.p(token.policy_oid, s.mono)),
        (t("hash_algorithm"), layout.p(token.hash_algorithm, s.value)),
        (t("message_imprint"), layout.p(token.message_imprint, s.mono)),
        (t("nonce"), _nonce(layout, token.nonce)),
    ]
    out.append(layout.kv_table(rows))
    # A warning box stranded at a page foot, away from the values it
    # qualifies, could be overlooked.
    return [KeepTogether(out)]


def openssl_integer(value: int) -> str:
    """An INTEGER as ``openssl ts -reply -text`` prints a serial or nonce: ``0x`` and
    OpenSSL's ``BN_bn2hex`` (upper case, whole bytes; zero is ``0``, negatives ``0x-``)."""
    if value == 0:
        return "0x0"
    digits = f"{abs(value):X}"
    if len(digits) % 2:
        digits = "0" + digits
    # OpenSSL writes "0x" before BN_bn2hex's own sign.
    return ("0x-" if value < 0 else "0x") + digits


def certificate_sha256(pem: bytes) -> str:
    """SHA-256 fingerprint (lower-case hex) of the first PEM certificate; empty if none."""
    if not pem.strip():
        return ""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        return x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex()
    except ValueError:
        return ""


def _number(layout: Layout, value: int) -> Flowable:
    """Decimal on one line, OpenSSL's hex on the next: either can be compared whole."""
    return layout.lines(
        [
            _t(layout, "number_decimal", n=str(value)),
            _t(layout, "number_openssl", n=openssl_integer(value)),
        ],
        layout.s.mono,
    )


def _nonce(layout: Layout, nonce: int | None) -> Flowable:
    if nonce is None:
        return layout.p(_t(layout, "nonce_none"), layout.s.value)
    return _number(layout, nonce)


def _t(layout: Layout, key: str, **values: object) -> str:
    return translate(layout.lang, _TEXT[key], **values)
