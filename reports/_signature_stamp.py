"""The visible appearance of an officer's PAdES signature on the report's signature line.

What the stamp says is read from the signer's certificate, never typed in:
name and enforcement ID (执法证号) from its subject, the issuer's name, and the
certificate's SHA-256 fingerprint in the form ``openssl x509 -noout
-fingerprint -sha256`` prints it, so an expert can hold the printed page
against the agency's published list. The signing time is the one the
signature dictionary records (``/M``); the time a court relies on is the
RFC 3161 token inside the signature.

pyHanko draws the stamp (:class:`~pyhanko.stamp.TextStampStyle`) with the
report's own CJK TrueType font, embedded as a subset like every other font
of the report (PDF/A). The face is prepared with fontTools first (see
:func:`_stamp_font`): pyHanko reads single fonts only, not collections
(``.ttc``), and assumes 1000 font units per em.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils.font.api import FontEngineFactory

from evidence.model.i18n import N_
from evidence.model.officer_keys import common_name_of, enforcement_id_of
from reports._fonts import load_fonts
from reports._i18n import translate

if TYPE_CHECKING:
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
    from pyhanko.pdf_utils.writer import BasePdfFileWriter
    from pyhanko.stamp import TextStampStyle

__all__ = [
    "SignatureAppearance",
    "appearance_of",
    "openssl_fingerprint",
    "openssl_issuer",
    "stamp_style",
]

BEIJING = timezone(timedelta(hours=8))
STAMP_FONT_SIZE = 10
"""pyHanko scales the text block down to the field's box; this sets line proportions."""

_TEXT: dict[str, str] = {
    "digitally_signed": N_("Digitally signed"),
    "signer": N_("{name} (enforcement ID {enforcement_id})"),
    "signed_at": N_("Signing time: {time} (Beijing time, UTC+8)"),
    "issuer": N_("Certificate issuer: {issuer}"),
    "fingerprint": N_("Certificate SHA-256 fingerprint:"),
}


@dataclass(frozen=True, slots=True)
class SignatureAppearance:
    """What one signature's stamp shows, all of it from the certificate and the clock."""

    name: str
    enforcement_id: str
    signed_at: datetime
    issuer: str
    """The issuer's distinguished name as ``openssl x509 -noout -issuer`` prints it."""
    fingerprint: str
    """``AB:CD:…``, as ``openssl x509 -noout -fingerprint -sha256`` prints it."""


def openssl_fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 fingerprint in OpenSSL's form: upper-case hex pairs joined by colons."""
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def openssl_issuer(certificate: x509.Certificate) -> str:
    """The issuer DN in the order OpenSSL 3 prints it (``C = CN, O = …, CN = …``).

    OpenSSL's default ``-nameopt oneline`` keeps the certificate's own order;
    RFC 4514 strings reverse it. Non-ASCII values are printed as they are
    (``-nameopt oneline,-esc_msb`` shows them the same way).
    """
    parts = []
    for rdn in certificate.issuer.rdns:
        for attribute in rdn:
            label = attribute.rfc4514_attribute_name
            if label.startswith("2.5.4.5"):  # pragma: no cover - cryptography names it
                label = "serialNumber"
            value = attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
            parts.append(f"{label} = {value}")
    return ", ".join(parts)


def appearance_of(certificate: x509.Certificate, signed_at: datetime) -> SignatureAppearance:
    return SignatureAppearance(
        name=common_name_of(certificate) or certificate.subject.rfc4514_string(),
        enforcement_id=enforcement_id_of(certificate),
        signed_at=signed_at,
        issuer=openssl_issuer(certificate),
        fingerprint=openssl_fingerprint(certificate),
    )


def appearance_text(appearance: SignatureAppearance, language: str) -> str:
    """The stamp's lines in the report's language (the fingerprint split in two halves)."""

    def t(key: str, **values: object) -> str:
        return translate(language, _TEXT[key], **values)

    who = (
        t("signer", name=appearance.name, enforcement_id=appearance.enforcement_id)
        if appearance.enforcement_id
        else appearance.name
    )
    when = appearance.signed_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    half = len(appearance.fingerprint) // 2 + 1  # 16 of the 32 pairs, then the rest
    lines = [
        f"{t('digitally_signed')}  {who}",
        t("signed_at", time=when),
        t("issuer", issuer=appearance.issuer),
        t("fingerprint"),
        appearance.fingerprint[:half].rstrip(":"),
        appearance.fingerprint[half:],
    ]
    return "\n".join(lines)


def stamp_style(text: str) -> TextStampStyle:
    """A borderless stamp of ``text`` in the report's CJK font (a subset is embedded).

    The text is shrunk to fit the field's box, left-aligned and centred vertically.
    """
    from pyhanko.pdf_utils import layout
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStampStyle

    return TextStampStyle(
        stamp_text=text.replace("%", "%%"),
        border_width=0,
        text_box_style=TextBoxStyle(
            font=_StampFontFactory(load_fonts().path, text),
            font_size=STAMP_FONT_SIZE,
            leading=STAMP_FONT_SIZE + 3,
            text_color=(0.05, 0.1, 0.45),
        ),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(left=2, right=2, top=2, bottom=2),
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
        ),
    )


def _stamp_font(path: Path, text: str) -> bytes:
    """The glyphs ``text`` needs from the first face of ``path``, at 1000 units per em.

    pyHanko writes the font's advance widths (``/W``) in the font's own units,
    where PDF expects thousandths of an em: a 2048-unit font would be drawn
    with double spacing, and its widths would disagree with the font program
    (a PDF/A fault). Rescaled to 1000 units, the two agree. Subsetting first
    keeps this quick (a CJK face has tens of thousands of glyphs).
    """
    from fontTools import subset, ttLib
    from fontTools.ttLib.scaleUpem import scale_upem

    number = 0 if path.suffix.lower() == ".ttc" else -1
    with ttLib.TTFont(str(path), fontNumber=number, lazy=False) as font:
        options = subset.Options(
            layout_features=["*"],
            name_IDs=["*"],
            notdef_outline=True,
            glyph_names=True,
            drop_tables=[*subset.Options().drop_tables, "FFTM"],
        )
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        if font["head"].unitsPerEm != 1000:
            scale_upem(font, 1000)
        out = io.BytesIO()
        font.save(out)
        return out.getvalue()


class _StampFontFactory(FontEngineFactory):
    """pyHanko's font engine factory for the stamp: the report font, fit for pyHanko."""

    def __init__(self, path: Path, text: str) -> None:
        self._font = _stamp_font(path, text)

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: object = None
    ) -> GlyphAccumulator:
        from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

        return GlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(self._font),
            font_size=STAMP_FONT_SIZE,
            obj_stream=obj_stream,
        )


def signing_time(now: datetime | None) -> datetime:
    """The signature's time: the caller's clock when it gave one, else the system's (UTC)."""
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
