"""Screenshots too large to decode whole, shown scaled down with bounded memory.

A page that shows a 20,000 × 20,000 px image gives screenshots of hundreds of
millions of pixels: decoded whole they take gigabytes, and Pillow refuses
them as decompression bombs. Such a screenshot is still a sealed exhibit and
the report must show it: here it is read band by band (the PNG's compressed
rows through ``zlib``, each band's row filters undone by Pillow's own PNG
decoder) and each band is scaled into a small overview as it goes, so memory
stays within a few bands whatever the image's size. The exhibit file itself
is never changed; the report says that it shows a scaled copy, with the
original's pixel size and digest.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, PngImagePlugin

__all__ = [
    "MAX_DECODE_PIXELS",
    "ImageHeader",
    "file_sha256",
    "read_header",
    "scaled_overview",
    "shown_size",
]

MAX_DECODE_PIXELS = 32_000_000
"""Screenshots up to this many pixels are decoded whole (about 100 MB as RGB, twice
that while converted); larger ones are read band by band and shown scaled, so the
report's memory does not grow with the page. A capture tile (16,384 px tall) of a
page up to 1,950 px wide stays below it."""
MAX_SHOWN_WIDTH = 1600
"""Width of the scaled copy: about 200 dpi across an A4 text column."""
MAX_SHOWN_PIXELS = 1600 * 16_384
"""The scaled copy's pixel budget (one capture tile at the shown width); a very tall
image is scaled further to fit it."""
_BAND_PIXELS = 8_000_000
"""Pixels decoded at once while scaling (a band of rows)."""
_BYTES_PER_PIXEL = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
"""8-bit PNG colour types whose decoded bytes are the PNG's own scanline bytes."""


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What a screenshot's header says, read without decoding any pixel."""

    width: int
    height: int
    mode: str
    banded_reason: str
    """Why the image cannot be read band by band ("" when it can)."""

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def oversized(self) -> bool:
        return self.pixels > MAX_DECODE_PIXELS


def read_header(path: Path) -> ImageHeader:
    """The size and colour mode of the image at ``path``; OSError when unreadable.

    A PNG is opened through Pillow's PNG plugin directly, which reads the
    header without the decompression-bomb check that ``Image.open`` applies:
    the size is wanted precisely for images that would fail it.
    """
    with path.open("rb") as stream:
        if stream.read(8) != PngImagePlugin._MAGIC:
            with Image.open(path) as other:
                return ImageHeader(other.width, other.height, other.mode, "not a PNG file")
        stream.seek(0)
        with PngImagePlugin.PngImageFile(stream) as png:
            return ImageHeader(png.width, png.height, png.mode, _banded_reason(png))


def _banded_reason(png: PngImagePlugin.PngImageFile) -> str:
    if png.info.get("interlace"):
        return "an interlaced PNG"
    tile = png.tile[0] if len(png.tile) == 1 else None
    if tile is None or tile.codec_name != "zip" or tile.args not in _BYTES_PER_PIXEL:
        return f"a PNG of colour mode {png.mode}"
    return ""


def shown_size(header: ImageHeader) -> tuple[int, int]:
    """The size of the scaled copy shown for an oversized image."""
    ratio = min(
        1.0,
        MAX_SHOWN_WIDTH / header.width,
        math.sqrt(MAX_SHOWN_PIXELS / header.pixels),
    )
    return max(1, round(header.width * ratio)), max(1, round(header.height * ratio))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def scaled_overview(path: Path, header: ImageHeader) -> Image.Image:
    """The whole image scaled to :func:`shown_size`, as RGB, decoded one band at a time.

    Raises OSError, SyntaxError (Pillow: a corrupt chunk), ValueError or
    ``zlib.error`` for a file whose rows cannot be read.
    """
    if header.banded_reason:
        raise OSError(f"cannot be read in bands: {header.banded_reason}")
    shown_w, shown_h = shown_size(header)
    ratio_y = shown_h / header.height
    out = Image.new("RGB", (shown_w, shown_h), "white")
    y = 0
    for band in _bands(path, header):
        top, bottom = round(y * ratio_y), round((y + band.height) * ratio_y)
        if bottom > top:
            scaled = _to_rgb(band).resize((shown_w, bottom - top), Image.Resampling.BOX)
            out.paste(scaled, (0, top))
            scaled.close()
        y += band.height
        band.close()
    if y != header.height:
        raise OSError(f"the PNG holds {y} of its {header.height} rows")
    return out


def _bands(path: Path, header: ImageHeader) -> Iterator[Image.Image]:
    """Consecutive bands of rows, each decoded by Pillow from the PNG's own scanlines.

    A row's filter may refer to the row above it, so each band is decoded
    with the previous band's last row in front of it, unfiltered (filter 0),
    and that row is cropped off again.
    """
    stride = header.width * _BYTES_PER_PIXEL[header.mode] + 1  # a filter-type byte per row
    band_bytes = stride * max(1, _BAND_PIXELS // header.width)
    previous: bytes | None = None
    with path.open("rb") as stream, PngImagePlugin.PngImageFile(stream) as png:
        offset = png.tile[0].offset
        for scanlines in _scanline_bands(stream, offset, band_bytes, stride):
            band, previous = _decode_band(header, scanlines, previous)
            yield band


def _scanline_bands(stream: BinaryIO, offset: int, band_bytes: int, stride: int) -> Iterator[bytes]:
    """The inflated image data in pieces of ``band_bytes`` (the last one shorter).

    Inflating is bounded by ``band_bytes`` each time: a few kilobytes of a
    solid colour can inflate to gigabytes.
    """
    inflater = zlib.decompressobj()
    pending = bytearray()
    for data in _idat_payloads(stream, offset):
        while data:
            pending += inflater.decompress(data, band_bytes - len(pending))
            data = inflater.unconsumed_tail
            if len(pending) == band_bytes:
                yield bytes(pending)
                pending.clear()
    pending += inflater.flush()
    whole = len(pending) - len(pending) % stride
    for start in range(0, whole, band_bytes):
        yield bytes(pending[start : min(start + band_bytes, whole)])


def _decode_band(
    header: ImageHeader, scanlines: bytes | bytearray, previous: bytes | None
) -> tuple[Image.Image, bytes]:
    """Rows of filtered scanlines as an image, and its last row's unfiltered bytes."""
    rows = len(scanlines) // (header.width * _BYTES_PER_PIXEL[header.mode] + 1)
    lead = b"" if previous is None else b"\x00" + previous
    size = (header.width, rows + (previous is not None))
    # Level 0 only frames the bytes for the decoder: no compression work.
    packed = zlib.compress(lead + bytes(scanlines), 0)
    image = Image.frombytes(header.mode, size, packed, "zip", header.mode)
    if previous is not None:
        cropped = image.crop((0, 1, header.width, size[1]))
        image.close()
        image = cropped
    last = image.crop((0, rows - 1, header.width, rows)).tobytes()
    return image, last


def _idat_payloads(stream: BinaryIO, first_data_offset: int) -> Iterator[bytes]:
    """The data of the consecutive IDAT chunks, starting with the one Pillow found."""
    stream.seek(first_data_offset - 8)
    chunks = PngImagePlugin.ChunkStream(stream)
    while True:
        kind, _position, length = chunks.read()
        if kind != b"IDAT":
            return
        data = stream.read(length)
        chunks.crc(kind, data)  # raises SyntaxError on a corrupt chunk
        yield data


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
