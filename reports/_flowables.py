"""Custom platypus flowables and the page-numbering canvas of the report."""

from __future__ import annotations

import json
import logging
import struct
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import qrcode
import qrcode.constants
from PIL import Image
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from evidence.model.errors import ReportError
from reports._big_png import (
    ImageHeader,
    file_sha256,
    read_header,
    scaled_overview,
    shown_size,
)

logger = logging.getLogger(__name__)

# --- QR code ---------------------------------------------------------------


def qr_matrix(payload: str) -> list[list[bool]]:
    """Module matrix (with the 4-module quiet zone) for ``payload``."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(payload)
    code.make(fit=True)
    return [[bool(cell) for cell in row] for row in code.get_matrix()]


def qr_payload(
    manifest_sha256: str,
    chain_id: int | None,
    contract: str | None,
    tx_hash: str | None,
) -> str:
    """Compact JSON for the QR code; chain keys only once there is an anchor."""
    data: dict[str, object] = {"v": 1, "m": manifest_sha256}
    if chain_id is not None and contract is not None and tx_hash is not None:
        data.update({"c": chain_id, "a": contract, "t": tx_hash})
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True)


class QRFlowable(Flowable):  # type: ignore[misc]
    """A QR code drawn as filled rectangles.

    reportlab's own QR widget sets Helvetica in the page resources, which
    would put an unembedded font in the file; plain rectangles need no font.
    """

    def __init__(self, matrix: Sequence[Sequence[bool]], size: float) -> None:
        super().__init__()
        self.matrix = matrix
        self.size = size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        canv: Canvas = self.canv
        count = len(self.matrix)
        module = self.size / count
        canv.saveState()
        canv.setFillColor(colors.white)
        canv.rect(0, 0, self.size, self.size, stroke=0, fill=1)
        canv.setFillColor(colors.black)
        path = canv.beginPath()
        for row_index, row in enumerate(self.matrix):
            y = self.size - (row_index + 1) * module
            col = 0
            # One rectangle per horizontal run keeps the content stream small.
            while col < count:
                if not row[col]:
                    col += 1
                    continue
                start = col
                while col < count and row[col]:
                    col += 1
                path.rect(start * module, y, (col - start) * module, module)
        canv.drawPath(path, stroke=0, fill=1)
        canv.restoreState()


# --- screenshot tiles ------------------------------------------------------

# Wider screenshots (high-DPI captures) are downsampled to this many pixels
# across: about 200 dpi at A4 text width, plenty for print, and it bounds the
# PDF size. The original PNG stays in the bundle as the exhibit.
MAX_TILE_WIDTH_PX = 1600


def open_screenshot(path: Path) -> Image.Image:
    """The screenshot as an RGB image, or ReportError.

    A screenshot of more than :data:`~reports._big_png.MAX_DECODE_PIXELS` is
    never decoded whole: it comes back scaled down to :func:`shown_copy`'s
    size, read band by band (bounded memory), or as a blank placeholder of
    that size when its format cannot be read in bands; the sections say so
    beside it (:func:`shown_copy`). The exhibit file is never changed.
    """
    header = _header(path)
    if header.oversized:
        return _oversized(path, header)
    try:
        # Full-page captures of long pages legitimately exceed Pillow's
        # decompression-bomb warning threshold; they are our own captures,
        # and the header was checked against our own bound above.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                opened.load()
                image = _to_rgb(opened)
    except Image.DecompressionBombError as exc:
        raise ReportError(f"screenshot too large to lay out: {path}: {exc}") from exc
    except OSError as exc:
        raise ReportError(f"cannot read screenshot {path}: {exc}") from exc
    logger.debug("screenshot %s: %d x %d px", path, image.width, image.height)
    return image


@dataclass(frozen=True, slots=True)
class ShownCopy:
    """How an oversized screenshot appears in the report, for the note beside it."""

    width: int
    height: int
    """The original's size in pixels."""
    shown: tuple[int, int]
    """The size of the scaled copy laid out (or of the blank placeholder)."""
    scaled: bool
    """False when the format could not be read in bands and nothing is shown."""
    sha256: str
    """Of the original file: the exhibit, unchanged in the bundle."""


def shown_copy(path: Path) -> ShownCopy | None:
    """None for a screenshot laid out as it is; otherwise what the report shows instead."""
    header = _header(path)
    if not header.oversized:
        return None
    try:
        digest = file_sha256(path)
    except OSError as exc:
        raise ReportError(f"cannot read screenshot {path}: {exc}") from exc
    return ShownCopy(
        header.width, header.height, shown_size(header), not header.banded_reason, digest
    )


def _header(path: Path) -> ImageHeader:
    if not path.is_file():
        raise ReportError(f"screenshot not found: {path}")
    try:
        header = read_header(path)
    except (OSError, SyntaxError, ValueError, struct.error) as exc:
        raise ReportError(f"cannot read screenshot {path}: {exc}") from exc
    if header.width < 1 or header.height < 1:
        raise ReportError(f"screenshot {path} is empty ({header.width} x {header.height} px)")
    return header


def _oversized(path: Path, header: ImageHeader) -> Image.Image:
    if header.banded_reason:
        logger.warning("screenshot %s is too large to show and %s", path, header.banded_reason)
        return Image.new("RGB", shown_size(header), (235, 235, 235))
    try:
        image = scaled_overview(path, header)
    except (OSError, SyntaxError, ValueError, struct.error, zlib.error) as exc:
        raise ReportError(f"cannot read screenshot {path}: {exc}") from exc
    logger.info(
        "screenshot %s: %d x %d px shown scaled to %d x %d",
        path, header.width, header.height, image.width, image.height,
    )  # fmt: skip
    return image


def screenshot_size(path: Path) -> tuple[int, int]:
    """The size the screenshot at ``path`` is laid out at, from its header, without decoding.

    That is its own size, or for an oversized one the scaled copy's
    (:func:`shown_copy`), matching what :func:`open_screenshot` returns.
    """
    header = _header(path)
    return shown_size(header) if header.oversized else (header.width, header.height)


class TileSource:
    """Decodes screenshot tiles on demand, keeping only the latest one in memory.

    A page too tall to stitch can hold more pixels than fit in memory at
    once; platypus draws the slices in story order, so each tile is decoded
    once and released when the next one is needed.
    """

    def __init__(self) -> None:
        self._path: Path | None = None
        self._image: Image.Image | None = None

    def rows(self, path: Path, top: int, bottom: int) -> Image.Image:
        """Rows ``[top, bottom)`` of the tile at ``path`` as a new RGB image."""
        if self._image is None or self._path != path:
            self.close()
            self._image = open_screenshot(path)
            self._path = path
        return self._image.crop((0, top, self._image.width, bottom))

    def close(self) -> None:
        if self._image is not None:
            self._image.close()
        self._image = None
        self._path = None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image.copy()
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        # Transparent areas print as the white a browser shows behind them.
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def slice_rows(height_px: int, first_px: int, other_px: int) -> list[tuple[int, int]]:
    """Row ranges ``[y0, y1)`` of consecutive tiles covering ``height_px`` rows."""
    if first_px < 1 or other_px < 1:
        raise ValueError("tile heights must be positive")
    ranges: list[tuple[int, int]] = []
    top = 0
    limit = first_px
    while top < height_px:
        bottom = min(height_px, top + limit)
        ranges.append((top, bottom))
        top = bottom
        limit = other_px
    return ranges


class ScreenshotTile(Flowable):  # type: ignore[misc]
    """One slice of the screenshot with its caption above it."""

    def __init__(
        self,
        tile: Image.Image,
        width: float,
        caption: str,
        font_name: str,
        font_size: float = 8.0,
    ) -> None:
        super().__init__()
        if tile.width > MAX_TILE_WIDTH_PX:
            ratio = MAX_TILE_WIDTH_PX / tile.width
            tile = tile.resize(
                (MAX_TILE_WIDTH_PX, max(1, round(tile.height * ratio))),
                Image.Resampling.LANCZOS,
            )
        self.tile = tile
        self.image_width = width
        self.caption = caption
        self.font_name = font_name
        self.font_size = font_size
        self.caption_height = font_size * 1.9
        self.image_height = width * tile.height / tile.width

    @staticmethod
    def caption_space(font_size: float = 8.0) -> float:
        return font_size * 1.9

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.image_width, self.caption_height + self.image_height

    def draw(self) -> None:
        _draw_captioned(self, self.tile)


def _downsample(tile: Image.Image) -> Image.Image:
    if tile.width <= MAX_TILE_WIDTH_PX:
        return tile
    ratio = MAX_TILE_WIDTH_PX / tile.width
    return tile.resize(
        (MAX_TILE_WIDTH_PX, max(1, round(tile.height * ratio))), Image.Resampling.LANCZOS
    )


def _draw_captioned(flowable: ScreenshotTile | TileSlice, tile: Image.Image) -> None:
    canv: Canvas = flowable.canv
    canv.saveState()
    canv.setFont(flowable.font_name, flowable.font_size)
    canv.setFillColor(colors.HexColor("#333333"))
    canv.drawString(0, flowable.image_height + flowable.font_size * 0.6, flowable.caption)
    canv.drawImage(
        ImageReader(tile), 0, 0, width=flowable.image_width, height=flowable.image_height
    )
    # A hairline frame separates white page content from the white paper.
    canv.setStrokeColor(colors.HexColor("#888888"))
    canv.setLineWidth(0.4)
    canv.rect(0, 0, flowable.image_width, flowable.image_height, stroke=1, fill=0)
    canv.restoreState()


class TileSlice(Flowable):  # type: ignore[misc]
    """Rows of one screenshot tile with a caption, decoded only when drawn.

    Like :class:`ScreenshotTile`, but holding a reference instead of pixels,
    so a story of a page far too tall to stitch stays small.
    """

    def __init__(
        self,
        source: TileSource,
        path: Path,
        rows: tuple[int, int],
        source_width: int,
        width: float,
        caption: str,
        font_name: str,
        font_size: float = 8.0,
    ) -> None:
        super().__init__()
        self.source = source
        self.path = path
        self.rows = rows
        self.image_width = width
        self.caption = caption
        self.font_name = font_name
        self.font_size = font_size
        self.caption_height = font_size * 1.9
        self.image_height = width * (rows[1] - rows[0]) / source_width

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.image_width, self.caption_height + self.image_height

    def draw(self) -> None:
        tile = _downsample(self.source.rows(self.path, *self.rows))
        try:
            _draw_captioned(self, tile)
        finally:
            tile.close()


# --- page furniture --------------------------------------------------------

MARGIN_X = 18 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 20 * mm
HEADER_BASELINE = 12 * mm
"""Distance of the header text from the top edge."""
FOOTER_BASELINE = 10 * mm


@dataclass(frozen=True, slots=True)
class PageFurniture:
    """What every page shows in its header and footer, plus document metadata."""

    font_name: str
    header_left: str
    header_right: str
    footer_pages: str
    """Template with ``{page}`` and ``{total}``."""
    footer_right: str
    pdf_date: str
    """``D:YYYYMMDDHHmmSS+00'00'``, the report's own generation time."""
    id_seed: bytes
    """Mixed into the document ID so it names this report, not just the run."""


class NumberedCanvas(Canvas):  # type: ignore[misc]
    """Holds pages back until the end so each footer can show the page total."""

    def __init__(self, *args: Any, furniture: PageFurniture, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._furniture = furniture
        self._saved_pages: list[dict[str, Any]] = []
        pdf_date = furniture.pdf_date
        self.setDateFormatter(lambda *_parts: pdf_date)
        self._doc.updateSignature(furniture.id_seed)

    def showPage(self) -> None:
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved_pages)
        for state in self._saved_pages:
            self.__dict__.update(state)
            self._draw_furniture(total)
            super().showPage()
        super().save()

    def _draw_furniture(self, total: int) -> None:
        f = self._furniture
        width, height = self._pagesize
        left, right = MARGIN_X, width - MARGIN_X
        self.saveState()
        self.setFont(f.font_name, 7.5)
        self.setFillColor(colors.HexColor("#555555"))
        self.setStrokeColor(colors.HexColor("#999999"))
        self.setLineWidth(0.4)
        top = height - HEADER_BASELINE
        self.drawString(left, top, f.header_left)
        self.drawRightString(right, top, f.header_right)
        self.line(left, top - 3, right, top - 3)
        bottom = FOOTER_BASELINE
        self.line(left, bottom + 9, right, bottom + 9)
        self.drawString(left, bottom, f.footer_pages.format(page=self._pageNumber, total=total))
        self.drawRightString(right, bottom, f.footer_right)
        self.restoreState()
