"""Line breaking that keeps technical words whole.

reportlab's CJK wrapping breaks anywhere, so a narrow table cell printed
"viewport-screensh / ot" and "charset=ut / f-8"; its Latin wrapping breaks
only at spaces and leaves Chinese (which has none) to overflow. A
:class:`WrapParagraph` breaks its text itself before reportlab sees it:
between Chinese characters, at spaces, and after ``/``, ``;``, ``,``, ``&``,
``?`` and ``-`` (not in ``SHA-256``), and inside a word only when the
word alone is wider than the cell (a hash).
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Paragraph

_SAFETY = 0.5
"""Points kept free at the right edge, so rounding never pushes a line over."""

_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_CLOSING = re.escape("，。、；：！？）》」』】〕,.;:!?)]}")
# One atom: a CJK character with any closing punctuation after it, a run
# ending at a break point, or a run of spaces.
_ATOM = re.compile(
    rf"[{_CJK}][{_CLOSING}]*"
    rf"|[^\s{_CJK}/;,&?\-]*(?:[/;,&?]+|-(?!\d)|(?=[{_CJK}\s])|$)[{_CLOSING}]*"
    rf"|[^\s{_CJK}]+?(?=[{_CJK}\s]|$)"
    r"|\s+"
)


def break_lines(text: str, font_name: str, font_size: float, width: float) -> list[str]:
    """``text`` as lines no wider than ``width`` points, broken at sensible points."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        out.extend(_break_one(paragraph, font_name, font_size, width - _SAFETY))
    return out


def _break_one(text: str, font_name: str, font_size: float, width: float) -> list[str]:
    def measure(value: str) -> float:
        return float(stringWidth(value, font_name, font_size))

    lines: list[str] = []
    current = ""
    for atom in (m.group(0) for m in _ATOM.finditer(text) if m.group(0)):
        if measure(current + atom.rstrip()) <= width:
            current += atom
            continue
        if atom.isspace():
            lines.append(current.rstrip())
            current = ""
            continue
        if current.strip():
            lines.append(current.rstrip())
        current = ""
        # Only a word wider than the whole cell is cut inside, character by character.
        for char in atom:
            if current and measure(current + char) > width:
                lines.append(current)
                current = ""
            current += char
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


class WrapParagraph(Paragraph):  # type: ignore[misc]
    """A paragraph of plain text broken by :func:`break_lines` at the width it is given."""

    def __init__(self, text: str, style: ParagraphStyle) -> None:
        self._plain = text
        super().__init__(escape(text).replace("\n", "<br/>"), style)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        style = self.style
        inner = avail_width - style.leftIndent - style.rightIndent
        lines = break_lines(self._plain, style.fontName, style.fontSize, inner)
        # Re-parse as explicit lines; each fits, so reportlab breaks nothing more.
        Paragraph.__init__(self, "<br/>".join(escape(line) for line in lines), style)
        width, height = super().wrap(avail_width, avail_height)
        return float(width), float(height)
