"""Finding and registering the one CJK TrueType font the report uses.

Every glyph in the report, Latin digits and hashes included, comes from an
embedded CJK font: reportlab's built-in CID font STSong-Light is never
embedded, and any base-14 font (Helvetica) would leave the PDF depending on
the reader's own fonts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from evidence.model.errors import ReportError

logger = logging.getLogger(__name__)

FONT_ENV = "EVIDENCE_CJK_FONT"
DEBIAN_PACKAGE = "fonts-wqy-microhei"

# Tried in order when EVIDENCE_CJK_FONT is unset or unusable. Module-level so
# tests can replace it to simulate a machine without CJK fonts.
FALLBACK_FONTS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)


@dataclass(frozen=True, slots=True)
class ReportFonts:
    """Registered reportlab font names."""

    regular: str
    mono: str
    """A monospaced face for hashes and commands; equals ``regular`` when the file has none."""
    path: Path


_lock = threading.Lock()
_registered: dict[Path, ReportFonts] = {}


def candidate_paths() -> list[Path]:
    paths: list[Path] = []
    configured = os.environ.get(FONT_ENV)
    if configured:
        path = Path(configured).expanduser()
        if path.is_file():
            paths.append(path)
        else:
            logger.warning("%s=%s is not a file; trying the default CJK fonts", FONT_ENV, path)
    paths.extend(p for p in FALLBACK_FONTS if p.is_file())
    return paths


def load_fonts() -> ReportFonts:
    """Register (once per process) and return the report's CJK font."""
    candidates = candidate_paths()
    if not candidates:
        raise ReportError(
            f"no CJK TrueType font found: install the Debian package {DEBIAN_PACKAGE} "
            f"(apt-get install {DEBIAN_PACKAGE}) or set {FONT_ENV} to a .ttf/.ttc file",
            hint="reportlab embeds TrueType outlines only; OpenType/CFF fonts "
            "(such as Noto Sans CJK .otf) cannot be used.",
        )
    errors: list[str] = []
    for path in candidates:
        try:
            return _register(path.resolve())
        except TTFError as exc:
            logger.warning("cannot use %s as the report font: %s", path, exc)
            errors.append(f"{path}: {exc}")
    raise ReportError(
        f"no usable CJK TrueType font ({'; '.join(errors)}): install the Debian package "
        f"{DEBIAN_PACKAGE} or point {FONT_ENV} at a TrueType-outline font",
    )


def _register(path: Path) -> ReportFonts:
    with _lock:
        cached = _registered.get(path)
        if cached is not None:
            return cached
        # Stable names keep the PDF bytes independent of registration order.
        stem = "EvidenceCJK-" + hashlib.sha256(str(path).encode()).hexdigest()[:10]
        regular = TTFont(stem, str(path), subfontIndex=0)
        pdfmetrics.registerFont(regular)
        # Platypus looks up <b>/<i> variants through the family mapping; map
        # them to the same face rather than letting it fall back to Helvetica.
        for bold in (0, 1):
            for italic in (0, 1):
                addMapping(stem, bold, italic, stem)
        mono_name = _register_mono(path, stem)
        fonts = ReportFonts(regular=stem, mono=mono_name or stem, path=path)
        _registered[path] = fonts
        logger.debug("registered report font %s (mono: %s)", path, fonts.mono)
        return fonts


def _register_mono(path: Path, stem: str) -> str | None:
    # WenQuanYi's .ttc files carry a "Mono" face at index 1: hex digests line up in it.
    if path.suffix.lower() != ".ttc":
        return None
    try:
        mono = TTFont(stem + "-Mono", str(path), subfontIndex=1)
    except (TTFError, IndexError, ValueError):
        return None
    if b"mono" not in mono.face.name.lower():
        return None
    pdfmetrics.registerFont(mono)
    for bold in (0, 1):
        for italic in (0, 1):
            addMapping(mono.fontName, bold, italic, mono.fontName)
    return str(mono.fontName)
