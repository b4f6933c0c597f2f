"""Benchmark: the full evidence capture against a bare Playwright capture.

Run: ``.venv/bin/python -m bench.capture [--runs N] [--no-video]``. On the
bundled demo shop (127.0.0.1), in one run it measures:

* median time of one full evidence capture (WARC, tiles/viewport, DOM, MHTML,
  PDF, environment check, session video) against a bare Playwright
  "navigate, scroll, screenshot" of the same page (target <= 1.3x);
* throughput (pages per minute) at concurrency 1, 2 and 4, each against the
  baseline at the same concurrency (target >= 90 %): once with independent
  captures, once as batch workers that keep one Playwright driver each (as
  ``evidence capture --from`` does), both contenders alike;
* peak memory (PSS summed over this process and every child: the Playwright
  driver, Chromium and its renderers, ffmpeg), read from /proc smaps_rollup;
* CPU time of that process tree per capture, since at concurrency above the
  core count throughput follows CPU time, not wall time;
* where the difference goes: the bare capture again with one piece of the
  evidence capture added at a time (traffic recording, the evidence settle
  rule, viewport screenshot, MHTML and PDF, session video), each against the
  bare capture measured alongside it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from capture import capture_page
from capture._browser import CHROMIUM_ARGS, SCROLL_STEP_DELAY_MS, find_chromium, settle
from capture._driver import driver, shared_driver
from capture._recorder import TrafficRecorder
from capture._video import ScreencastRecorder, ffmpeg_path
from evidence.model.capture_options import (
    CaptureOptions,
    EnvironmentOptions,
    InteractionOptions,
    SafetyOptions,
)
from evidence.model.records import system_clock
from evidence.services.demo_site import DemoSite

_BARE_SCROLL = """
async ({ stepPx, delayMs }) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const root = document.scrollingElement || document.documentElement;
  while (window.scrollY + window.innerHeight < root.scrollHeight) {
    window.scrollBy(0, stepPx);
    await sleep(delayMs);
  }
  window.scrollTo(0, 0);
}
"""


def bare_capture(url: str, out: Path, options: CaptureOptions) -> None:
    """What a simple screenshot tool does: open, scroll for lazy images, photograph."""
    _bare_plus(url, out, options, frozenset())


_PIECES = {
    "recording": "traffic recording (every response held, exact bytes copied)",
    "settle": "evidence settle rule (0.5 s quiet after the last request, images done)",
    "viewport": "viewport screenshot",
    "copies": "MHTML and printed PDF",
    "video": "session video (screencast, ffmpeg mux)",
}


def _bare_plus(url: str, out: Path, options: CaptureOptions, pieces: frozenset[str]) -> None:
    """The bare capture with some pieces of the evidence capture added (see ``_PIECES``).

    ``settle`` needs ``recording``: the quiet period is read from the recorder.
    """
    with driver() as playwright:  # its own driver, or the batch worker's (see --batch)
        browser = playwright.chromium.launch(
            executable_path=find_chromium(options), args=list(CHROMIUM_ARGS)
        )
        try:
            rendering = options.rendering
            page = browser.new_page(
                viewport={"width": rendering.viewport_width, "height": rendering.viewport_height}
            )
            recorder = video = None
            if "recording" in pieces:
                recorder = TrafficRecorder(page.context.new_cdp_session(page), system_clock)
                recorder.start()
            if "video" in pieces:
                video = ScreencastRecorder(
                    page.context.new_cdp_session(page), out,
                    rendering.viewport_width, rendering.viewport_height,
                )  # fmt: skip
                video.start(url)
            if "settle" in pieces and recorder is not None:
                page.goto(url, wait_until="domcontentloaded")
                settle(page, recorder, options)
            else:
                page.goto(url, wait_until="load")
                page.evaluate(
                    _BARE_SCROLL,
                    {"stepPx": rendering.viewport_height - 100, "delayMs": SCROLL_STEP_DELAY_MS},
                )
                page.wait_for_load_state("networkidle")
            if video is not None:
                video.stop()
                video.write_in_background(out, time.monotonic() + 60)
            if "viewport" in pieces:
                page.screenshot(path=out / "viewport.png")
            page.screenshot(path=out / "bare.png", full_page=True)
            if "copies" in pieces:
                session = page.context.new_cdp_session(page)
                mhtml = session.send("Page.captureSnapshot", {"format": "mhtml"})
                (out / "page.mhtml").write_text(str(mhtml.get("data", "")), encoding="utf-8")
                page.pdf(path=out / "page.pdf", print_background=True)
            if recorder is not None:
                recorder.stop()
                recorder.exchanges()
            if video is not None:
                video.result(out, time.monotonic() + 60)
        finally:
            browser.close()


def full_capture(url: str, out: Path, options: CaptureOptions) -> None:
    capture_page(url, out, options)


def _tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_ticks(pid: int) -> tuple[str, int] | None:
    """(start time, user + system ticks) of ``pid``; the start time tells reused pids apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19], int(fields[11]) + int(fields[12])


class TreeMonitor:
    """Samples the process tree every 50 ms: peak PSS, and CPU time used.

    CPU time is the last sample of each process (Chromium's children are
    reaped by the Playwright driver, so ``getrusage`` would miss them); the
    last < 50 ms of each process is not counted, for both contenders alike.
    """

    def __init__(self) -> None:
        self.peak_kib = 0
        self._base: dict[tuple[int, str], int] = {}
        self._last: dict[tuple[int, str], int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_s(self) -> float:
        used = sum(last - self._base.get(key, 0) for key, last in self._last.items())
        return used / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> TreeMonitor:
        self._sample(baseline=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.05)

    def _sample(self, baseline: bool = False) -> None:
        pss = 0
        for pid in _tree(os.getpid()):
            pss += _pss_kib(pid)
            ticks = _cpu_ticks(pid)
            if ticks is None:
                continue
            key = (pid, ticks[0])
            if baseline:
                self._base[key] = ticks[1]  # count only what is used from now on
            self._last[key] = ticks[1]
        self.peak_kib = max(self.peak_kib, pss)


Runner = Callable[[str, Path, CaptureOptions], None]


@dataclass(frozen=True, slots=True)
class Runs:
    seconds: float
    """Median wall time of one capture."""
    cpu_s: float
    """Median CPU time (user + system) of the whole process tree for one capture."""


def _timed_runs(runner: Runner, url: str, options: CaptureOptions, runs: int) -> Runs:
    times, cpu = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp, TreeMonitor() as monitor:
            start = time.perf_counter()
            runner(url, Path(tmp), options)
            times.append(time.perf_counter() - start)
        cpu.append(monitor.cpu_s)
    return Runs(statistics.median(times), statistics.median(cpu))


def _throughput(
    runner: Runner, url: str, options: CaptureOptions, jobs: int, pages: int, *, batch: bool
) -> tuple[float, int]:
    """Pages per minute with ``jobs`` captures at a time, and the peak memory (KiB).

    ``batch``: each worker keeps one Playwright driver, as ``evidence capture
    --from`` does (every page still gets its own browser), for both contenders.
    """
    left = list(range(pages))
    lock = threading.Lock()

    def worker() -> None:
        with shared_driver() if batch else contextlib.nullcontext():
            while True:
                with lock:
                    if not left:
                        return
                    left.pop()
                with tempfile.TemporaryDirectory() as tmp:
                    runner(url, Path(tmp), options)

    with TreeMonitor() as monitor:
        start = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
    return pages * 60 / elapsed, monitor.peak_kib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="captures per median")
    parser.add_argument("--no-video", action="store_true", help="full capture without video")
    parser.add_argument("--levels", default="1,2,4", help="concurrency levels")
    parser.add_argument(
        "--pages", type=int, default=8, help="captures per throughput figure (at least 3 per job)"
    )
    args = parser.parse_args()
    options = CaptureOptions(
        safety=SafetyOptions(allow_private_targets=True),
        # Offline, asking public NTP servers only measures DNS failures.
        environment=EnvironmentOptions(ntp_servers=()),
        interaction=InteractionOptions(record_video=False if args.no_video else None),
    )
    no_video = replace(options, interaction=InteractionOptions(record_video=False))
    print(f"cores: {os.cpu_count()}  runs per median: {args.runs}")
    with DemoSite() as site:
        url = site.url_for("/index.html")
        _timed_runs(bare_capture, url, options, 1)  # warm the page cache
        bare = _timed_runs(bare_capture, url, options, args.runs)
        full = _timed_runs(full_capture, url, options, args.runs)
        print(f"bare Playwright capture      median {bare.seconds:5.2f} s, CPU {bare.cpu_s:5.2f} s")
        print(
            f"full evidence capture        median {full.seconds:5.2f} s, CPU {full.cpu_s:5.2f} s"
            f"   ratio {full.seconds / bare.seconds:.2f}x time, {full.cpu_s / bare.cpu_s:.2f}x CPU"
        )
        if not args.no_video:
            novid = _timed_runs(full_capture, url, no_video, args.runs)
            print(
                f"full capture without video   median {novid.seconds:5.2f} s, CPU "
                f"{novid.cpu_s:5.2f} s   ratio {novid.seconds / bare.seconds:.2f}x time, "
                f"{novid.cpu_s / bare.cpu_s:.2f}x CPU"
            )
        _breakdown(url, options, args.runs, with_video=not args.no_video)
        for batch in (False, True):
            print(
                "batch workers (one driver per worker, a browser per page):"
                if batch
                else "independent captures (a driver and a browser per page):"
            )
            for jobs in (int(x) for x in args.levels.split(",")):
                pages = max(args.pages, 3 * jobs)
                bare_rate, bare_peak = _throughput(
                    bare_capture, url, options, jobs, pages, batch=batch
                )
                full_rate, full_peak = _throughput(
                    full_capture, url, options, jobs, pages, batch=batch
                )
                print(
                    f"  concurrency {jobs}: bare {bare_rate:5.1f} pages/min, full "
                    f"{full_rate:5.1f} pages/min ({full_rate / bare_rate:.0%} of baseline); "
                    f"peak PSS bare {bare_peak / 1024:.0f} MiB, full {full_peak / 1024:.0f} MiB"
                )


def _breakdown(url: str, options: CaptureOptions, runs: int, *, with_video: bool) -> None:
    """Each piece of the evidence capture added alone to the bare capture.

    Runs alternate (without the piece, with it), and the figure is the median
    of the paired differences, so the machine's drift does not land on one piece.
    """
    print("where the difference goes (bare + one piece; median of paired differences):")
    steps: list[tuple[str, frozenset[str], frozenset[str]]] = [
        ("recording", frozenset({"recording"}), frozenset()),
        ("settle", frozenset({"recording", "settle"}), frozenset({"recording"})),
        ("viewport", frozenset({"viewport"}), frozenset()),
        ("copies", frozenset({"copies"}), frozenset()),
    ]
    if with_video and ffmpeg_path() is not None:
        steps.append(("video", frozenset({"video"}), frozenset()))
    for name, pieces, base in steps:
        seconds, cpu = [], []
        for _ in range(runs):
            before = _timed_runs(partial(_bare_plus, pieces=base), url, options, 1)
            after = _timed_runs(partial(_bare_plus, pieces=pieces), url, options, 1)
            seconds.append(after.seconds - before.seconds)
            cpu.append(after.cpu_s - before.cpu_s)
        print(
            f"  + {_PIECES[name]:<72s} {statistics.median(seconds):+5.2f} s, "
            f"CPU {statistics.median(cpu):+5.2f} s"
        )


if __name__ == "__main__":
    main()
