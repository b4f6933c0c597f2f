"""The sealed WARC, replayed offline in Chromium, shows what the sealed screenshot shows.

The WARC and screenshot are copied (checked against their digests) into a
private temporary directory; the page is rendered from the WARC alone at the
recorded viewport and user agent, and both images are compared at 256 px wide.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from evidence.model.capture_options import CaptureOptions, RenderingOptions
from evidence.model.errors import BrowserUnavailableError, BundleError, CaptureError
from evidence.model.manifest import Manifest, ManifestEntry
from evidence.model.records import Verdict
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
from evidence.verification.context import Check, Context, Fact, Findings, one_line
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf

COMPARE_WIDTH = 256
MAX_COMPARE_PIXELS = 120_000_000
"""Decoding a taller screenshot would need more than about 500 MB; such a one is not compared."""
CHECK = CheckId.SCREENSHOT_REPLAY


@dataclass(frozen=True, slots=True)
class _Replay:
    screenshot: ManifestEntry
    warc: ManifestEntry
    url: str
    viewport: tuple[int, int]
    options: CaptureOptions


def check_replay(ctx: Context, out: Findings) -> None:
    replay = _plan(ctx, out, ctx.manifest)
    if replay is None:
        return
    shot, warc, url, size = replay.screenshot, replay.warc, replay.url, replay.viewport
    try:
        with tempfile.TemporaryDirectory(prefix="evidence-replay-") as tmp:
            similarity, note, fences = _render_and_compare(ctx, replay, Path(tmp))
    except BrowserUnavailableError as exc:
        # The verifier's own machine lacks a browser: nothing about the bundle is known.
        out.add(
            CHECK,
            shot.path,
            Verdict.NOT_CHECKED,
            Reason.of(C.REPLAY_NO_BROWSER, warc=warc.path, error=exc.message),
        )
        return
    except CaptureError as exc:
        # Decided by the error's type, never by its text: the text quotes the
        # bundle's own URL, which its author chose.
        out.add(
            CHECK,
            shot.path,
            Verdict.FAIL,
            Reason.of(C.REPLAY_FAILED, url=url, warc=warc.path, error=exc.message),
        )
        return
    except BundleError as exc:
        out.add(CHECK, shot.path, Verdict.FAIL, Reason.of(C.ERROR, error=exc.message))
        return
    threshold = ctx.options.replay_threshold
    # note and fences are English phrases as values: the report translates them
    # (reports/_verification_setup.py).
    detail = Reason.of(
        C.REPLAY_COMPARED,
        warc=warc.path,
        width=size[0],
        height=size[1],
        screenshot=shot.path,
        similarity=f"{similarity:.4f}",
        threshold=f"{threshold:g}",
        note=note,
        fences=fences,
    )
    out.add(CHECK, shot.path, Verdict.PASS if similarity >= threshold else Verdict.FAIL, detail)


def _plan(ctx: Context, out: Findings, manifest: Manifest) -> _Replay | None:
    """What to replay and compare, or None with the reason reported."""
    screenshots = [e for e in manifest.artifacts if e.role == "screenshot"]
    warcs = [e for e in manifest.artifacts if e.role == "warc"]
    tiles = [e for e in manifest.artifacts if e.role == "screenshot-tile"]
    if tiles and not manifest.capture.get("screenshot_stitched", True):
        # screenshot.png is then only the first tile: comparing the whole
        # replayed page with it would be a false failure.
        out.add(
            CHECK,
            screenshots[0].path if screenshots else tiles[0].path,
            Verdict.NOT_CHECKED,
            Reason.of(
                C.REPLAY_TILES,
                height=manifest.capture.get("page_height", "?"),
                n=len(tiles),
            ),
        )
        return None
    if not screenshots or not warcs:
        detail = Reason.of(C.REPLAY_NOTHING)
        out.add(CHECK, bf.MANIFEST, Verdict.NOT_CHECKED, detail)
        return None
    shot, warc = screenshots[0], warcs[0]
    if not ctx.options.replay:
        out.add(CHECK, shot.path, Verdict.NOT_CHECKED, Reason.of(C.REPLAY_DISABLED))
        return None
    if any(ctx.digests.of(e.path) is None for e in (shot, warc)):
        detail = Reason.of(C.REPLAY_MISSING, screenshot=shot.path, warc=warc.path)
        out.add(CHECK, shot.path, Verdict.NOT_CHECKED, detail)
        return None
    try:
        size = _viewport(manifest)
    except (KeyError, TypeError, ValueError) as exc:
        out.add(CHECK, bf.MANIFEST, Verdict.FAIL, Reason.of(C.REPLAY_VIEWPORT, error=exc))
        return None
    url = str(manifest.capture.get("final_url") or manifest.capture.get("requested_url"))
    agent = manifest.capture.get("user_agent")
    # The recorded user agent: a server may send another page to another browser.
    options = (
        CaptureOptions(rendering=RenderingOptions(user_agent=agent))
        if isinstance(agent, str) and agent
        else CaptureOptions()
    )
    return _Replay(shot, warc, url, size, options)


def _viewport(manifest: Manifest) -> tuple[int, int]:
    viewport = manifest.capture.get("viewport") or {}
    size = (int(viewport["width"]), int(viewport["height"]))
    if not (100 <= size[0] <= 10_000 and 100 <= size[1] <= 10_000):
        raise ValueError(f"viewport {size} out of range")
    return size


def _render_and_compare(ctx: Context, replay: _Replay, work: Path) -> tuple[float, str, str]:
    """Similarity, a note on sizes, and how the replay browser was fenced in."""
    from capture.replay import replay as replay_offline

    os.chmod(work, 0o700)
    warc_copy = ctx.copy_out(replay.warc.path, work / "capture.warc")
    shot_copy = ctx.copy_out(replay.screenshot.path, work / "screenshot.png")
    result = replay_offline(
        warc_copy, replay.url, work / "replay.png", replay.viewport, options=replay.options
    )
    similarity, note = screenshot_similarity(shot_copy, result.png)
    return similarity, note, result.summary()


def screenshot_similarity(captured: Path, rendered: Path) -> tuple[float, str]:
    """1 − mean absolute grey-level difference of the two images, both scaled to 256 px wide.

    Returns the figure (1.0 = identical at that scale) and a note on any size
    difference. Raises :class:`BundleError` for a PNG that cannot be read
    within the pixel budget.
    """
    from PIL import Image, ImageChops, ImageStat

    images = []
    for path in (captured, rendered):
        try:
            with Image.open(path) as img:
                width, height = img.size
                if width * height > MAX_COMPARE_PIXELS:
                    raise BundleError(
                        f"{path.name}: {width}×{height} px is too large to compare "
                        f"(limit {MAX_COMPARE_PIXELS} px)"
                    )
                images.append(img.convert("L"))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise BundleError(f"screenshot is not a readable image: {one_line(exc)}") from exc
    shot, replay = images
    note = ""
    if shot.size != replay.size:
        note = f"; sizes differ: captured {shot.size[0]}×{shot.size[1]}, replayed " + (
            f"{replay.size[0]}×{replay.size[1]}"
        )
    width = COMPARE_WIDTH
    height = max(1, round(shot.size[1] * width / max(shot.size[0], 1)))
    a = shot.resize((width, height), Image.Resampling.BOX)
    b = replay.resize((width, height), Image.Resampling.BOX)
    mean = ImageStat.Stat(ImageChops.difference(a, b)).mean[0]
    return 1.0 - mean / 255.0, note


REPLAY = Check(CHECK, check_replay, bf.MANIFEST, needs=frozenset({Fact.DIGESTS, Fact.MANIFEST}))
