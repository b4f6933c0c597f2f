"""pyHanko's signer and writer, held to what keeps a signed report PDF/A-2b.

Left alone, pyHanko's signing revision breaks PDF/A-2b in two ways (seen
with pyHanko 0.38 on our reports):

- for an ECDSA P-256 or Ed25519 key it registers the ISO/TS 32002
  extension, which declares the document PDF 2.0 (catalog ``/Version
  /2.0``); PDF/A-2 is based on PDF 1.7, and both algorithms are already
  allowed in PAdES signatures of PDF 1.7 files (ETSI EN 319 142-1);
- it appends itself to the information dictionary's ``/Producer`` but
  writes only its own name into the XMP ``pdf:Producer``, and takes "now"
  twice for ``/ModDate`` and ``xmp:ModifyDate``, so the two may disagree.

:class:`PdfAPdfSigner` registers only the PAdES (ESIC) extension, at PDF
1.7, and signs at the caller's time; :class:`PdfAIncrementalWriter` writes
one producer and one modification time into both places. Both override
pyHanko methods (``register_extensions``, ``init_signing_session``,
``_update_meta``) of the pinned release; ``tests/test_pdfa_signed.py``
checks the result after one and after two signatures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, BinaryIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import model as xmp_model
from pyhanko.pdf_utils.metadata.xmp_xml import MetadataStream
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import constants

__all__ = ["PdfAIncrementalWriter", "PdfAPdfSigner", "pdf_date"]

PDF_BASE_VERSION = (1, 7)
_XMP_METADATADATE = xmp_model.ExpandedName(ns=xmp_model.NS["xmp"], local_name="MetadataDate")


def pdf_date(moment: datetime) -> str:
    """A PDF date string in UTC, as reports/pdfa.py writes them."""
    return moment.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")


class PdfAPdfSigner(signers.PdfSigner):
    """A PAdES signer that keeps the file at PDF 1.7 and signs at ``signed_at``."""

    def __init__(self, *args: Any, signed_at: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signed_at = signed_at

    def register_extensions(self, pdf_out: Any, *, md_algorithm: str) -> None:
        if self.signature_meta.subfilter != SigSeedSubFilter.PADES:
            raise SigningError("report signatures are PAdES signatures")
        if pdf_out.output_version >= (2, 0):
            return  # nothing to declare in a PDF 2.0 file (not a report of ours)
        pdf_out.ensure_output_version(version=PDF_BASE_VERSION)
        pdf_out.register_extension(constants.ESIC_EXTENSION_1)

    def init_signing_session(  # type: ignore[no-untyped-def]
        self, pdf_out, existing_fields_only=False
    ):
        session = super().init_signing_session(pdf_out, existing_fields_only)
        # /M, the appearance's time and the CMS time all come from the caller's clock.
        session.system_time = self._signed_at
        return session


class PdfAIncrementalWriter(IncrementalPdfFileWriter):
    """An incremental update whose Info dictionary and XMP say the same thing."""

    def __init__(self, stream: BinaryIO, *, modified_at: datetime) -> None:
        super().__init__(stream, strict=False)
        self._modified_at = modified_at.astimezone(UTC).replace(microsecond=0)

    def _update_meta(self) -> None:
        # Indexing resolves the reference (``get`` would not).
        metadata = self.root["/Metadata"] if "/Metadata" in self.root else None  # noqa: SIM401
        if self._info is None or not isinstance(metadata, MetadataStream):
            super()._update_meta()  # type: ignore[no-untyped-call]  # not a PDF/A report: pyHanko's own bookkeeping
            return
        info = self._info.get_object()  # type: ignore[no-untyped-call]
        producer = _with_vendor(str(info.get("/Producer", "")))
        info["/Producer"] = generic.TextStringObject(producer)
        info["/ModDate"] = generic.TextStringObject(pdf_date(self._modified_at))
        self.mark_update(self._info)
        self.root["/Metadata"] = self.add_object(
            MetadataStream.from_xmp(_agreeing_xmp(metadata.xmp, producer, self._modified_at))
        )
        self.update_root()  # type: ignore[no-untyped-call]


def _with_vendor(producer: str) -> str:
    """The producer with pyHanko named once, as pyHanko itself appends it."""
    vendor = xmp_model.VENDOR
    if not producer:
        return vendor
    return producer if vendor in producer else f"{producer}; {vendor}"


def _agreeing_xmp(
    structures: list[xmp_model.XmpStructure], producer: str, modified_at: datetime
) -> list[xmp_model.XmpStructure]:
    """The XMP with ``pdf:Producer`` and ``xmp:ModifyDate`` set once, to the Info values."""
    replaced = (xmp_model.PDF_PRODUCER, xmp_model.XMP_MODDATE, _XMP_METADATADATE)
    kept = [
        xmp_model.XmpStructure({k: v for k, v in s if k not in replaced}) for s in structures
    ] or [xmp_model.XmpStructure({})]
    first = dict(kept[0])
    first[xmp_model.PDF_PRODUCER] = xmp_model.XmpValue(producer)
    first[xmp_model.XMP_MODDATE] = xmp_model.XmpValue(modified_at.isoformat())
    first[_XMP_METADATADATE] = xmp_model.XmpValue(modified_at.isoformat())
    return [xmp_model.XmpStructure(first), *kept[1:]]
