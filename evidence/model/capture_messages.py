"""The warnings a capture writes, as codes and values rather than sentences.

The capture modules write each warning as an English sentence into the capture
record and the manifest (old bundles hold them the same way); each sentence is
one of the templates below, filled in. A report reads a warning back into its
:class:`WarningCode` and values by the same template and renders it in its own
language through the message catalogue, so a Chinese report never reprints an
English sentence the capture wrote. A warning that matches no template (a newer
capture's) is shown as recorded. Values (addresses, errors, counts) stay as they are.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from evidence.model.i18n import N_

Translate = Callable[[str], str]
"""English template in, template in the reader's language out (gettext)."""


class WarningCode(enum.StrEnum):
    """One kind of capture warning; its English template is in :data:`TEMPLATES`."""

    NO_MHTML = "supporting.no_mhtml"
    NO_PRINTED_PDF = "supporting.no_pdf"
    LOAD_NOT_FIRED = "settle.load_not_fired"
    LOAD_WAIT_FAILED = "settle.load_wait_failed"
    IMAGES_UNCHECKED = "settle.images_unchecked"
    NOT_SETTLED = "settle.not_settled"
    IMAGES_LOADING = "settle.images_loading"
    IMAGES_BROKEN = "settle.images_broken"
    SCROLL_FAILED = "settle.scroll_failed"
    HEIGHT_CHANGED = "screenshot.height_changed"
    TILES_NOT_STITCHED = "screenshot.tiles_not_stitched"
    DIALOGS_SOME = "page.dialogs_some"
    DIALOGS = "page.dialogs"
    POPUPS = "page.popups"
    DOWNLOAD_INCOMPLETE = "page.download_incomplete"
    DOWNLOAD_UNREADABLE = "page.download_unreadable"
    TLS = "provenance.tls"
    FIRST_SCREEN_EARLY_TIMEOUT = "visit.first_screen_timeout"
    FIRST_SCREEN_EARLY = "visit.first_screen_early"
    STEP_FAILED = "visit.step_failed"
    REQUESTS_FAILED = "traffic.requests_failed"
    BODIES_INCOMPLETE = "traffic.bodies_incomplete"
    NAVIGATIONS_STOPPED = "traffic.navigations_stopped"
    REQUESTS_BLOCKED = "traffic.requests_blocked"
    RESPONSES_UNRECORDED = "traffic.responses_unrecorded"
    NO_VIDEO = "video.none"
    VIDEO_TOO_SLOW = "video.too_slow"
    NO_ANNOTATED_COPY = "video.no_annotated_copy"


# The more specific template of two that could both match comes first.
TEMPLATES: dict[WarningCode, str] = {
    WarningCode.NO_MHTML: N_("could not save the page as MHTML: {error}"),
    WarningCode.NO_PRINTED_PDF: N_("could not print the page to PDF: {error}"),
    WarningCode.LOAD_NOT_FIRED: N_("the page's load event did not fire within {seconds} s"),
    WarningCode.LOAD_WAIT_FAILED: N_("could not wait for the page to load: {error}"),
    WarningCode.IMAGES_UNCHECKED: N_("could not check images: {error}"),
    WarningCode.NOT_SETTLED: N_(
        "page did not settle within {seconds} s: {n} request(s) still loading ({sample})"
    ),
    WarningCode.IMAGES_LOADING: N_("{n} of {total} image(s) had not finished loading ({sample})"),
    WarningCode.IMAGES_BROKEN: N_("{n} image(s) failed to load ({sample})"),
    WarningCode.SCROLL_FAILED: N_("could not scroll the page: {error}"),
    WarningCode.HEIGHT_CHANGED: N_(
        "the page height changed from {before} to {after} px while it was photographed in tiles"
    ),
    WarningCode.TILES_NOT_STITCHED: N_(
        "page of {height} px is kept as {n} screenshot tiles; screenshot.png shows only the "
        "first tile (too large to stitch)"
    ),
    WarningCode.DIALOGS_SOME: N_(
        "the page opened {n} dialog(s), dismissed automatically; only the first {shown} are "
        "recorded"
    ),
    WarningCode.DIALOGS: N_("the page opened {n} dialog(s), dismissed automatically"),
    WarningCode.POPUPS: N_("the page opened {n} pop-up window(s), recorded and closed: {urls}"),
    WarningCode.DOWNLOAD_INCOMPLETE: N_("download {url} did not complete ({error})"),
    WarningCode.DOWNLOAD_UNREADABLE: N_("download {url} could not be read ({error})"),
    WarningCode.TLS: N_("TLS certificate of {origin}: {error}"),
    WarningCode.FIRST_SCREEN_EARLY_TIMEOUT: N_(
        "the first-screen shot was taken before the page had loaded (the load event did not "
        "fire within {seconds} s)"
    ),
    WarningCode.FIRST_SCREEN_EARLY: N_(
        "the first-screen shot was taken before the page had loaded ({error})"
    ),
    WarningCode.STEP_FAILED: N_("navigation step {n} ({step}) {outcome}"),
    WarningCode.REQUESTS_FAILED: N_("{n} request(s) failed: {sample}"),
    WarningCode.BODIES_INCOMPLETE: N_("{n} response body(ies) incomplete in the WARC: {sample}"),
    WarningCode.NAVIGATIONS_STOPPED: N_(
        "stopped {n} navigation(s) of the page or its frames to private or loopback addresses "
        "before they were sent: {sample}"
    ),
    WarningCode.REQUESTS_BLOCKED: N_(
        "the browser blocked {n} request(s) from the page to private or loopback addresses "
        "(nothing was sent): {sample}"
    ),
    WarningCode.RESPONSES_UNRECORDED: N_(
        "{n} response(s) used by the page are not in the WARC: {sample}"
    ),
    WarningCode.VIDEO_TOO_SLOW: N_(
        "no session video: writing the video took longer than {seconds} s"
    ),
    WarningCode.NO_VIDEO: N_("no session video: {note}"),
    WarningCode.NO_ANNOTATED_COPY: N_(
        "no annotated copy of the session video (address and time): {note}"
    ),
}

_FIELD = re.compile(r"\{(\w+)\}")


def _pattern(template: str) -> re.Pattern[str]:
    parts = _FIELD.split(template)
    # split() alternates literal text and field names.
    regex = "".join(
        f"(?P<{part}>.+?)" if i % 2 else re.escape(part) for i, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$", re.DOTALL)


_PATTERNS: tuple[tuple[WarningCode, re.Pattern[str]], ...] = tuple(
    (code, _pattern(template)) for code, template in TEMPLATES.items()
)


@dataclass(frozen=True, slots=True)
class CaptureWarning:
    """One warning of a capture: what (``code``) and its particulars."""

    code: WarningCode
    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, code: WarningCode, **values: object) -> CaptureWarning:
        return cls(code, tuple(sorted((k, str(v)) for k, v in values.items())))

    @property
    def text(self) -> str:
        """The English sentence the capture record keeps."""
        return TEMPLATES[self.code].format(**dict(self.values))

    @classmethod
    def read(cls, text: str) -> CaptureWarning | None:
        """The warning a recorded sentence was made from; ``None`` for one no template made."""
        for code, pattern in _PATTERNS:
            found = pattern.match(text)
            if found is not None:
                return cls.of(code, **found.groupdict())
        return None

    def render(self, translate: Translate) -> str:
        try:
            return translate(TEMPLATES[self.code]).format(**dict(self.values))
        except (KeyError, IndexError, ValueError):
            # A translation that lost a placeholder must not hide the warning.
            return self.text


def render_warning(text: str, translate: Translate) -> str:
    """A recorded warning in the reader's language; one no template made, as recorded."""
    warning = CaptureWarning.read(text)
    return text if warning is None else warning.render(translate)
