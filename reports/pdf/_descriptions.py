"""What each exhibit shows (说明), for the exhibit list.

An exhibit list names each file's number, category, format, hash, size and
what it shows (CR16 Art 14). The description is chosen by the file's role in
the capture record and says only what the capture makes true of that file:
what was recorded, at which moment, and how it can be read.
"""

from __future__ import annotations

from reportlab.platypus import Flowable

from evidence.model.i18n import N_
from reports._i18n import translate
from reports.pdf.layout import Layout

__all__ = ["description_cell", "exhibit_description", "known_roles"]

# TRANSLATORS: the label before an exhibit's description in the exhibit list.
_LABEL = N_("What it shows: {text}")

# role (as the capture record names it) -> English source; Chinese in the catalogue.
_DESCRIPTIONS: dict[str, str] = {
    "screenshot": N_("The whole page, top to bottom, as the browser rendered it at capture time."),
    "viewport-screenshot": N_(
        "The first screen: what the browser window showed once the page had loaded, before any "
        "navigation step or scrolling."
    ),
    "screenshot-tile": N_(
        "One part of the full-page screenshot of a page too tall to keep as one image; the "
        "parts in order, top to bottom, make up the whole page."
    ),
    "step-screenshot": N_(
        "The browser window after one navigation step (--steps), taken when that step was done; "
        "a separate exhibit from the first screen, its step named in the capture record."
    ),
    "warc": N_(
        "Every request the browser made and every response it received, with headers, the "
        "server's IP address and the body bytes as the browser received them (transfer "
        "compression removed), in WARC format (ISO 28500); it can be replayed offline."
    ),
    "dom": N_(
        "The page's document (DOM) as the browser held it at capture time, after its scripts "
        "ran, saved as HTML."
    ),
    "mhtml": N_(
        "The page with its images, style sheets and other resources in one file, as Chromium "
        "saves a page (MHTML); it opens in a browser."
    ),
    "print-pdf": N_(
        "The page printed to PDF by the browser at capture time; print layout, so it may differ "
        "from the screen."
    ),
    "video": N_(
        "A recording of the browser's screen during the capture session, made of the frames "
        "the browser painted."
    ),
    "video-frames": N_(
        "The list of the session video's frames, each with the time the browser painted it and "
        "its SHA-256, so that the video can be checked frame by frame."
    ),
    "video-annotated": N_(
        "A copy of the session video made for viewing: each frame shows the page address and "
        "the time the frame was painted (Beijing time); derived from the session video frame "
        "for frame, which remains the evidence."
    ),
    "environment": N_(
        "The record of the capture environment: the clean-environment checks, the clock check, "
        "software and browser versions and the browser's launch flags."
    ),
    "tls-chains": N_(
        "The TLS certificate chains the web servers presented, each certificate in full, for "
        "checking who the certificates were issued to and by whom."
    ),
    "download": N_("A file the page delivered as a download during the capture, kept as received."),
}


def known_roles() -> frozenset[str]:
    """The roles that have a description (every role capture writes)."""
    return frozenset(_DESCRIPTIONS)


def exhibit_description(language: str, role: str) -> str | None:
    """What an exhibit of ``role`` shows, in ``language``; None for a role not known here."""
    message = _DESCRIPTIONS.get(role)
    return translate(language, message) if message is not None else None


def description_cell(layout: Layout, role: str) -> list[Flowable]:
    """The exhibit list's description line for ``role``; nothing for an unknown role."""
    description = exhibit_description(layout.lang, role)
    if description is None:
        return []
    return [layout.p(translate(layout.lang, _LABEL, text=description), layout.s.cell)]
