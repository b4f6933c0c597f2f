"""The frames in the session video are the ones ``video-frames.json`` lists.

Each frame is copied out of the video with ffmpeg (no re-encoding), so its
JPEG's SHA-256 and time can be compared with the list sealed beside it.
"""

from __future__ import annotations

import subprocess
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from evidence.model import safe_json
from evidence.model.errors import BundleError
from evidence.model.manifest import ManifestEntry
from evidence.model.records import Verdict, isoformat
from evidence.model.verification_messages import Reason
from evidence.model.verification_messages import ReasonCode as C
from evidence.verification.context import Check, Context, Fact, Findings, one_line
from evidence.verification.ids import CheckId
from reports.bundle import layout as bf

CHECK = CheckId.VIDEO_FRAMES


def check_video(ctx: Context, out: Findings) -> None:
    manifest = ctx.manifest
    videos = [e for e in manifest.artifacts if e.role == "video"]
    listings = [e for e in manifest.artifacts if e.role == "video-frames"]
    if not videos:
        return  # recorded without video; the manifest says why (video_note)
    video = videos[0]
    if not listings or any(ctx.digests.of(e.path) is None for e in (video, listings[0])):
        out.add(CHECK, video.path, Verdict.FAIL, Reason.of(C.VIDEO_MISSING))
        return
    listing = listings[0]
    frames = _listed_frames(ctx, out, listing)
    if frames is None:
        return
    _check_frames(ctx, out, video, listing, frames)
    _check_annotated(ctx, out, video, len(frames))


def _check_frames(
    ctx: Context,
    out: Findings,
    video: ManifestEntry,
    listing: ManifestEntry,
    frames: list[tuple[float, str]],
) -> None:
    try:
        got = _frames_in(ctx, video)
    except OSError as exc:
        out.add(CHECK, video.path, Verdict.NOT_CHECKED, Reason.of(C.VIDEO_UNREAD, error=exc))
        return
    except (ValueError, subprocess.SubprocessError, BundleError) as exc:
        out.add(CHECK, video.path, Verdict.FAIL, Reason.of(C.ERROR, error=exc))
        return
    if got == frames:
        out.add(
            CHECK,
            video.path,
            Verdict.PASS,
            Reason.of(C.VIDEO_FRAMES_MATCH, n=len(got), listing=listing.path),
        )
        _check_span(ctx, out, video, listing)
        return
    out.add(CHECK, video.path, Verdict.FAIL, _first_difference(got, frames, listing.path))


SPAN_TOLERANCE_S = 1.0
"""Frame paint times come from the browser, the capture's times from the toolkit: the
same machine's clock, read by two processes."""


def _check_span(ctx: Context, out: Findings, video: ManifestEntry, listing: ManifestEntry) -> None:
    """The span the manifest states is the listed frames', and lies within the capture's."""
    subject = f"{video.path} (span)"
    capture = ctx.manifest.capture
    stated = capture.get("video_span")
    if stated is None:
        out.add(CHECK, subject, Verdict.NOT_CHECKED, Reason.of(C.VIDEO_NO_SPAN))
        return
    data = ctx.read_small(listing.path, out)
    try:
        listed = safe_json.loads(data or b"", listing.path)["frames"]
        first, last = _moment(listed[0]["time"]), _moment(listed[-1]["time"])
        span = (_moment(stated["first_frame_at"]), _moment(stated["last_frame_at"]))
        window = (_moment(capture["started_at"]), _moment(capture["finished_at"]))
    except (BundleError, ValueError, TypeError, KeyError, IndexError) as exc:
        out.add(
            CHECK, subject, Verdict.FAIL, Reason.of(C.VIDEO_SPAN_UNREADABLE, error=one_line(exc))
        )
        return
    tolerance = timedelta(seconds=SPAN_TOLERANCE_S)
    if abs(span[0] - first) > _MS or abs(span[1] - last) > _MS:
        out.add(CHECK, subject, Verdict.FAIL, Reason.of(C.VIDEO_SPAN_DIFFERS, listing=listing.path))
    elif span[0] < window[0] - tolerance or span[1] > window[1] + tolerance:
        out.add(CHECK, subject, Verdict.FAIL, Reason.of(C.VIDEO_SPAN_OUTSIDE))
    else:
        out.add(CHECK, subject, Verdict.PASS, _span_detail(span, window))
        _check_coverage(out, f"{video.path} (coverage)", span, window)


_MS = timedelta(milliseconds=1)
_Span = tuple[datetime, datetime]

COVERAGE_GAP_S = 2.0
"""A longer stretch of the capture without a video frame at its start or end is a
warning: the browser is launched before the first paint and the WARC is written after
the last picture, which takes about a second on a loaded machine."""


def _moment(value: object) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {value}")
    return moment


def _gaps(span: _Span, window: _Span) -> tuple[float, float]:
    """Seconds of the capture before the first frame and after the last one."""
    before = max(0.0, (span[0] - window[0]).total_seconds())
    after = max(0.0, (window[1] - span[1]).total_seconds())
    return before, after


def _span_detail(span: _Span, window: _Span) -> Reason:
    seconds = (span[1] - span[0]).total_seconds()
    whole = (window[1] - window[0]).total_seconds()
    before, after = _gaps(span, window)
    first, last = (isoformat(moment) for moment in span)
    return Reason.of(
        C.VIDEO_SPAN,
        first=first,
        last=last,
        seconds=f"{seconds:.1f}",
        whole=f"{whole:.1f}",
        before=f"{before:.1f}",
        after=f"{after:.1f}",
    )


def _check_coverage(out: Findings, subject: str, span: _Span, window: _Span) -> None:
    """The video shows the whole capture, but for launching the browser and writing the WARC."""
    before, after = _gaps(span, window)
    gaps = {"before": f"{before:.1f}", "after": f"{after:.1f}", "limit": f"{COVERAGE_GAP_S:g}"}
    if before <= COVERAGE_GAP_S and after <= COVERAGE_GAP_S:
        out.add(CHECK, subject, Verdict.PASS, Reason.of(C.VIDEO_COVERS, **gaps))
        return
    # Not a failure, nor something left unchecked: the frames are the browser's and match
    # their list, and a screencast has no frame before the first paint (browser launch,
    # a loaded machine) nor while a page stands still. What the video does not show is
    # said, as a WARNING in the line; the verdict stays the check's, so a busy machine
    # does not turn a whole verification amber.
    if before > COVERAGE_GAP_S and after > COVERAGE_GAP_S:
        warning = Reason.of(C.VIDEO_GAP_BOTH, **gaps)
    elif before > COVERAGE_GAP_S:
        warning = Reason.of(C.VIDEO_GAP_START, before=gaps["before"], limit=gaps["limit"])
    else:
        warning = Reason.of(C.VIDEO_GAP_END, after=gaps["after"], limit=gaps["limit"])
    out.add(CHECK, subject, Verdict.PASS, warning)


ANNOTATED_ROLE = "video-annotated"


def _check_annotated(ctx: Context, out: Findings, video: ManifestEntry, listed: int) -> None:
    """The viewing copy is derived from this video, frame for frame, as the manifest says."""
    copies = [e for e in ctx.manifest.artifacts if e.role == ANNOTATED_ROLE]
    stated = ctx.manifest.capture.get("video_annotated")
    if not copies and stated is None:
        return  # no copy was made; the capture's warnings say why
    subject = copies[0].path if copies else f"{video.path} (annotated copy)"
    if not copies or not isinstance(stated, dict):
        code = C.VIDEO_COPY_NOT_EXHIBIT if not copies else C.VIDEO_COPY_NOT_DESCRIBED
        out.add(CHECK, subject, Verdict.FAIL, Reason.of(code))
        return
    problem = _derivation_problem(stated, video, listed)
    if problem is not None:
        out.add(CHECK, subject, Verdict.FAIL, problem)
        return
    try:
        counted = _count_in(ctx, copies[0])
    except OSError as exc:
        out.add(CHECK, subject, Verdict.NOT_CHECKED, Reason.of(C.VIDEO_COPY_UNREAD, error=exc))
        return
    except (ValueError, subprocess.SubprocessError, BundleError) as exc:
        out.add(CHECK, subject, Verdict.FAIL, Reason.of(C.ERROR, error=one_line(exc)))
        return
    if counted != listed:
        differs = Reason.of(
            C.VIDEO_COPY_COUNT_DIFFERS, counted=counted, listed=listed, video=video.path
        )
        out.add(CHECK, subject, Verdict.FAIL, differs)
        return
    derived = Reason.of(
        C.VIDEO_COPY_DERIVED, video=video.path, sha256=video.sha256[:16], counted=counted
    )
    out.add(CHECK, subject, Verdict.PASS, derived)


def _derivation_problem(
    stated: dict[str, object], video: ManifestEntry, listed: int
) -> Reason | None:
    if stated.get("derived_from") != video.path.rsplit("/", 1)[-1]:
        return Reason.of(C.VIDEO_COPY_OTHER_NAME, name=repr(stated.get("derived_from")))
    if stated.get("source_sha256") != video.sha256:
        return Reason.of(
            C.VIDEO_COPY_OTHER_SOURCE,
            stated=stated.get("source_sha256"),
            video=video.path,
            sha256=video.sha256,
        )
    if stated.get("frame_count") != listed:
        return Reason.of(C.VIDEO_COPY_COUNT_STATED, stated=stated.get("frame_count"), listed=listed)
    return None


def _count_in(ctx: Context, copy: ManifestEntry) -> int:
    from capture import count_video_frames

    with tempfile.TemporaryDirectory(prefix="evidence-video-") as tmp:
        return count_video_frames(ctx.copy_out(copy.path, Path(tmp) / "annotated.mp4"))


def _listed_frames(
    ctx: Context, out: Findings, listing: ManifestEntry
) -> list[tuple[float, str]] | None:
    data = ctx.read_small(listing.path, out)
    if data is None:
        return None  # unreadable or too large: already a FAIL
    try:
        return _parse_frames(safe_json.loads(data, listing.path))
    except (BundleError, ValueError, TypeError, KeyError) as exc:
        unreadable = Reason.of(C.VIDEO_FRAME_LIST_UNREADABLE, error=one_line(exc))
        out.add(CHECK, listing.path, Verdict.FAIL, unreadable)
        return None


def _parse_frames(listed: object) -> list[tuple[float, str]]:
    """(offset in seconds, SHA-256) of every listed frame; TypeError/KeyError when malformed."""
    raw = listed["frames"] if isinstance(listed, dict) else None
    if not isinstance(raw, list):
        raise TypeError("no 'frames' list")
    frames: list[tuple[float, str]] = []
    for frame in raw:
        if not isinstance(frame, dict):
            raise TypeError(f"frame {len(frames)} is not an object")
        frames.append((round(float(frame["offset_s"]), 3), str(frame["sha256"])))
    return frames


def _frames_in(ctx: Context, video: ManifestEntry) -> list[tuple[float, str]]:
    from capture import read_video_frames

    with tempfile.TemporaryDirectory(prefix="evidence-video-") as tmp:
        work = Path(tmp)
        read = read_video_frames(ctx.copy_out(video.path, work / "video.mkv"), work)
    return [(f.offset_s, f.sha256) for f in read]


def _first_difference(
    got: list[tuple[float, str]], frames: list[tuple[float, str]], listing: str
) -> Reason:
    if len(got) != len(frames):
        return Reason.of(
            C.VIDEO_FRAME_COUNT_DIFFERS, got=len(got), listed=len(frames), listing=listing
        )
    n = next(i for i, (a, b) in enumerate(zip(got, frames, strict=True)) if a != b)
    code = C.VIDEO_FRAME_SHA256_DIFFERS if got[n][1] != frames[n][1] else C.VIDEO_FRAME_TIME_DIFFERS
    return Reason.of(code, n=n, offset=f"{frames[n][0]:g}", listing=listing)


VIDEO = Check(CHECK, check_video, bf.MANIFEST, needs=frozenset({Fact.DIGESTS, Fact.MANIFEST}))
