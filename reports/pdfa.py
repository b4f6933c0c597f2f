"""PDF/A-2b identification for the reports, added with pikepdf after reportlab.

Open-source reportlab cannot write PDF/A. Every font the reports use is an
embedded TrueType subset already, so what is missing is the identification:
an XMP packet with ``pdfaid:part=2``/``pdfaid:conformance=B`` whose values
agree with the document information dictionary, an sRGB output intent, a
document language and a trailer ``/ID``. Ghostscript's ``-dPDFA`` route was
tried and lost the Chinese text, so the file is only amended, never re-drawn.

The output stays reproducible: the XMP dates are the report's own
generation time (never "now"), the ``/ID`` is derived from the content
(``deterministic_id``), and the ICC profile carries a fixed date.

An item's report also names, in its XMP, the item and the manifest digest it
was made from (:class:`ReportIdentity`), so a verifier can tell one item's
report from another's without reading the pages. The standard Dublin Core
properties ``dc:identifier`` and ``dc:source`` carry them: custom properties
would need a PDF/A extension-schema description in the XMP as well.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
from PIL import ImageCms

from evidence.model.errors import ReportError

logger = logging.getLogger(__name__)

__all__ = [
    "ITEM_ID_PREFIX",
    "MANIFEST_PREFIX",
    "SIGNATURE_FIELD_PREFIX",
    "SIGNATURE_LINE_PREFIX",
    "ReportIdentity",
    "claimed_pdfa",
    "make_pdfa",
    "read_identity",
    "set_identity",
    "srgb_profile",
]

ITEM_ID_PREFIX = "evidence-item:"
"""``dc:identifier`` of an item's report: this prefix, then the item id."""
MANIFEST_PREFIX = "manifest.json sha256:"
"""``dc:source`` of an item's report: this prefix, then the manifest's SHA-256 (hex)."""
SIGNATURE_LINE_PREFIX = "urn:evidence:signature-line:"
"""A layout marks signature line N with a link to this URN and N; never left in a file."""
SIGNATURE_FIELD_PREFIX = "Officer"
"""Signature line N becomes the empty signature field ``Officer<N>``."""


@dataclass(frozen=True, slots=True)
class ReportIdentity:
    """Which item a report is about, as its XMP metadata names it."""

    item_id: str
    manifest_sha256: str


# ICC header bytes 24..35: the profile's creation date/time (six big-endian
# uint16). lcms stamps the current time there; a fixed date keeps reports
# byte-identical. 2000-01-01 00:00:00 like reportlab's invariant mode.
_ICC_DATE = slice(24, 36)
_FIXED_ICC_DATE = bytes.fromhex("07d000010001000000000000")


@functools.cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile made by Little CMS through Pillow (no file download).

    Built in memory from lcms's own sRGB definition (IEC 61966-2-1 primaries
    and tone curve) with its creation date fixed; the profile ID is unset,
    so nothing else depends on the header date.
    """
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return profile[: _ICC_DATE.start] + _FIXED_ICC_DATE + profile[_ICC_DATE.stop :]


def make_pdfa(
    source: Path,
    target: Path,
    *,
    title: str,
    language: str,
    author: str,
    subject: str,
    keywords: str,
    creator: str,
    created_at: datetime,
    identity: ReportIdentity | None = None,
) -> Path:
    """Write ``source`` to ``target`` as PDF/A-2b (identification, output intent, metadata).

    ``identity``, for an item's report, is written into the XMP as well.
    """
    info = _Info(
        title=title,
        lang="zh-CN" if language == "zh" else "en",
        author=author,
        subject=subject,
        keywords=keywords,
        creator=creator,
        producer=f"{creator} (reportlab, pikepdf)",
        stamp=created_at.astimezone(UTC).replace(microsecond=0),
        identity=identity,
    )
    try:
        with pikepdf.open(source) as pdf:
            # The order matters for reproducible bytes: objects are numbered as made.
            _set_docinfo(pdf, info)
            _set_xmp(pdf, info)
            _add_output_intent(pdf)
            _prepare_signature_fields(pdf)
            pdf.Root.Lang = pikepdf.String(info.lang)
            # Readers show the title instead of the file name (PDF/UA habit, harmless here).
            pdf.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
            pdf.save(
                target,
                deterministic_id=True,
                # Object streams are PDF 1.5 features that PDF/A-2 allows, but keeping
                # plain objects lets old readers and stock tools (grep) see everything.
                object_stream_mode=pikepdf.ObjectStreamMode.disable,
                min_version="1.7",
            )
    except (pikepdf.PdfError, OSError) as exc:
        raise ReportError(f"cannot add PDF/A identification to {target}: {exc}") from exc
    logger.debug("PDF/A-2b identification added to %s", target)
    return target


@dataclass(frozen=True, slots=True)
class _Info:
    """The metadata, stated once so the info dictionary and the XMP cannot disagree."""

    title: str
    lang: str
    author: str
    subject: str
    keywords: str
    creator: str
    producer: str
    stamp: datetime
    identity: ReportIdentity | None


def _set_docinfo(pdf: pikepdf.Pdf, info: _Info) -> None:
    pdf_date = info.stamp.strftime("D:%Y%m%d%H%M%S+00'00'")
    pdf.docinfo = pdf.make_indirect(
        pikepdf.Dictionary(
            Title=pikepdf.String(info.title),
            Author=pikepdf.String(info.author),
            Subject=pikepdf.String(info.subject),
            Keywords=pikepdf.String(info.keywords),
            Creator=pikepdf.String(info.creator),
            Producer=pikepdf.String(info.producer),
            CreationDate=pikepdf.String(pdf_date),
            ModDate=pikepdf.String(pdf_date),
        )
    )


def _set_xmp(pdf: pikepdf.Pdf, info: _Info) -> None:
    # Stamp the marks ourselves: pikepdf's own marking writes the wall clock.
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"
        meta["dc:title"] = info.title
        meta["dc:creator"] = [info.author]
        meta["dc:description"] = info.subject
        meta["dc:language"] = [info.lang]
        meta["pdf:Keywords"] = info.keywords
        meta["pdf:Producer"] = info.producer
        meta["xmp:CreatorTool"] = info.creator
        meta["xmp:CreateDate"] = info.stamp.isoformat()
        meta["xmp:ModifyDate"] = info.stamp.isoformat()
        meta["xmp:MetadataDate"] = info.stamp.isoformat()
        if info.identity is not None:
            meta.update(_identity_properties(info.identity))


def set_identity(pdf: pikepdf.Pdf, identity: ReportIdentity) -> None:
    """Name the item and manifest digest in the XMP of an open PDF (the caller saves it)."""
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta.update(_identity_properties(identity))


def _identity_properties(identity: ReportIdentity) -> dict[str, str]:
    return {
        "dc:identifier": ITEM_ID_PREFIX + identity.item_id,
        "dc:source": MANIFEST_PREFIX + identity.manifest_sha256,
    }


def read_identity(pdf: pikepdf.Pdf) -> ReportIdentity | None:
    """The identity an open PDF's XMP names; None when it names none.

    Raises ValueError when the XMP names an identity in a form this module
    never writes (one property without the other, or without its prefix).
    """
    meta = pdf.open_metadata()
    identifier, source = meta.get("dc:identifier"), meta.get("dc:source")
    if identifier is None and source is None:
        return None
    if not (isinstance(identifier, str) and identifier.startswith(ITEM_ID_PREFIX)):
        raise ValueError(f"dc:identifier {identifier!r} does not name an evidence item")
    if not (isinstance(source, str) and source.startswith(MANIFEST_PREFIX)):
        raise ValueError(f"dc:source {source!r} does not name a manifest digest")
    return ReportIdentity(
        identifier.removeprefix(ITEM_ID_PREFIX), source.removeprefix(MANIFEST_PREFIX)
    )


def _add_output_intent(pdf: pikepdf.Pdf) -> None:
    icc = pikepdf.Stream(pdf, srgb_profile())
    icc["/N"] = 3
    pdf.Root.OutputIntents = pikepdf.Array(
        [
            pikepdf.Dictionary(
                Type=pikepdf.Name.OutputIntent,
                S=pikepdf.Name.GTS_PDFA1,
                OutputConditionIdentifier=pikepdf.String("sRGB IEC61966-2.1"),
                RegistryName=pikepdf.String("http://www.color.org"),
                Info=pikepdf.String("sRGB IEC61966-2.1"),
                DestOutputProfile=icc,
            )
        ]
    )


def _prepare_signature_fields(pdf: pikepdf.Pdf) -> None:
    """Turn each signature-line mark into an empty, printable signature field.

    The field is where an officer's PAdES signature later draws its visible
    stamp. Unsigned, its appearance is empty (PDF/A wants one for every
    widget), so the printed line underneath stays blank for ink.
    """
    fields: list[pikepdf.Object] = []
    for page in pdf.pages:
        annotations = page.obj.get("/Annots")
        if annotations is None:
            continue
        for index, annotation in enumerate(annotations):
            number = _signature_line_number(annotation)
            if number is None:
                continue
            widget = pdf.make_indirect(_empty_signature_widget(pdf, page.obj, annotation, number))
            annotations[index] = widget
            fields.append(widget)
    if fields:
        pdf.Root.AcroForm = pdf.make_indirect(pikepdf.Dictionary(Fields=pikepdf.Array(fields)))


def _signature_line_number(annotation: pikepdf.Object) -> int | None:
    if annotation.get("/Subtype") != pikepdf.Name.Link:
        return None
    action = annotation.get("/A")
    uri = str(action.get("/URI", "")) if isinstance(action, pikepdf.Dictionary) else ""
    suffix = uri.removeprefix(SIGNATURE_LINE_PREFIX)
    return int(suffix) if suffix != uri and suffix.isdigit() else None


def _empty_signature_widget(
    pdf: pikepdf.Pdf, page: pikepdf.Object, mark: pikepdf.Object, number: int
) -> pikepdf.Dictionary:
    left, bottom, right, top = (float(v) for v in mark.Rect)
    blank = pikepdf.Stream(pdf, b"")
    blank["/Type"] = pikepdf.Name.XObject
    blank["/Subtype"] = pikepdf.Name.Form
    blank["/BBox"] = pikepdf.Array([0, 0, round(right - left, 4), round(top - bottom, 4)])
    return pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Widget,
        FT=pikepdf.Name.Sig,
        T=pikepdf.String(f"{SIGNATURE_FIELD_PREFIX}{number}"),
        # Print (4) and nothing hidden: PDF/A wants every annotation printable.
        F=4,
        Rect=mark.Rect,
        P=page,
        AP=pikepdf.Dictionary(N=blank),
    )


def pdfa_identification(pdf_path: Path) -> tuple[str, str] | None:
    """The (part, conformance) a PDF claims in its XMP, or None."""
    try:
        with pikepdf.open(pdf_path) as pdf:
            return claimed_pdfa(pdf)
    except (pikepdf.PdfError, OSError) as exc:
        raise ReportError(f"cannot read {pdf_path}: {exc}") from exc


def claimed_pdfa(pdf: pikepdf.Pdf) -> tuple[str, str] | None:
    """The (part, conformance) an open PDF claims in its XMP, or None."""
    meta = pdf.open_metadata()
    part, conformance = meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
    if part is None or conformance is None:
        return None
    return str(part), str(conformance)
