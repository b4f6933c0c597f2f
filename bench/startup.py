"""Benchmark: what an officer waits for, measured as whole processes.

Run: ``.venv/bin/python -m bench.startup [--runs N] [--evidence PATH ...]``.

In one run, each figure against a baseline measured alongside it:

* ``evidence --version``, ``evidence --help`` and ``evidence items`` (a data
  directory with one case) — wall time of the whole process, against the
  bare interpreter (``python -c pass``) and a bare ``import click`` (target
  ``--version``/``--help`` <= 0.3 s);
* ``evidence capture CASE URL`` of the bundled sample shop page, end to end
  (capture, seal, timestamp on the development TSA, anchor on the local
  chain), against a bare Playwright navigate-scroll-screenshot of the same
  page run as its own process (target <= 1.5x).

``--evidence`` may name several executables (for example an older checkout's
``.venv/bin/evidence``) to compare them in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from capture._browser import CHROMIUM_ARGS, SCROLL_STEP_DELAY_MS, find_chromium
from evidence.model.capture_options import CaptureOptions
from evidence.services.demo_site import DemoSite

# The bare contender imports nothing of ours: what a simple screenshot script does.
_BARE_SCRIPT = """
import json, sys
from playwright.sync_api import sync_playwright
url, out, chromium, args, step, delay = sys.argv[1], sys.argv[2], sys.argv[3], \
    json.loads(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
scroll = '''async ({ step, delay }) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const root = document.scrollingElement || document.documentElement;
  while (window.scrollY + window.innerHeight < root.scrollHeight) {
    window.scrollBy(0, step); await sleep(delay);
  }
  window.scrollTo(0, 0);
}'''
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=chromium, args=args)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(url, wait_until="load", timeout=30000)
    page.evaluate(scroll, {"step": step, "delay": delay})
    try:
        page.wait_for_load_state("networkidle", timeout=5000)
    except Exception:
        pass
    page.screenshot(path=out, full_page=True)
    browser.close()
"""


@dataclass(frozen=True, slots=True)
class Figure:
    label: str
    seconds: float


def _median_run(argv: Sequence[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise SystemExit(f"{' '.join(argv[:3])} failed ({done.returncode}): {tail}")
    return statistics.median(times)


BENCH_OFFICER = "BENCH-0001"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENCE_")}
    env.update(
        EVIDENCE_HOME=str(home),
        EVIDENCE_ALLOW_PRIVATE_TARGETS="1",
        EVIDENCE_OFFICER_PASSPHRASE="bench-passphrase-1",
        LANG="C.UTF-8",
    )
    return env


def _startup(evidence: str, home: Path, runs: int) -> list[Figure]:
    env = _env(home)
    # A capture names its acting officer, one of the case's.
    for argv in (
        [evidence, "case", "create", "BENCH-1", "--title", "bench"],
        [evidence, "officer", "add", "测试员", "--id", BENCH_OFFICER],
        [evidence, "officer", "assign", "BENCH-1", BENCH_OFFICER],
    ):
        subprocess.run(argv, env=env, capture_output=True, check=False)
    return [
        Figure("evidence --version", _median_run([evidence, "--version"], runs, env)),
        Figure("evidence --help", _median_run([evidence, "--help"], runs, env)),
        Figure("evidence items --json", _median_run([evidence, "items", "--json"], runs, env)),
    ]


def _bare_capture_argv(url: str, out: Path) -> list[str]:
    options = CaptureOptions()
    return [
        sys.executable, "-c", _BARE_SCRIPT, url, str(out), str(find_chromium(options)),
        json.dumps(list(CHROMIUM_ARGS)), "700", str(SCROLL_STEP_DELAY_MS),
    ]  # fmt: skip


def _capture(evidence: str, home: Path, url: str, runs: int) -> float:
    env = _env(home)
    argv = [evidence, "capture", "BENCH-1", url, "--officer", BENCH_OFFICER, "--json"]
    _median_run(argv, 1, env)  # the first capture starts the local chain and deploys
    return _median_run(argv, runs, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--evidence",
        action="append",
        help="evidence executable(s) to measure (default: this checkout's .venv/bin/evidence)",
    )
    parser.add_argument("--no-capture", action="store_true", help="startup figures only")
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    executables = args.evidence or [str(root / ".venv/bin/evidence")]
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env = _env(Path(tmp) / "none")
        interpreter = _median_run([sys.executable, "-c", "pass"], args.runs, env)
        click_only = _median_run([sys.executable, "-c", "import click"], args.runs, env)
        print(f"cores: {os.cpu_count()}  runs per median: {args.runs}")
        print(f"baseline: python -c pass {interpreter:.3f} s; import click {click_only:.3f} s")
        for index, evidence in enumerate(executables):
            home = Path(tmp) / f"home-{index}"
            print(f"\n{evidence}")
            for fig in _startup(evidence, home, args.runs):
                print(
                    f"  {fig.label:24} {fig.seconds:6.3f} s"
                    f"  ({fig.seconds / click_only:.1f}x import click)"
                )
        if args.no_capture:
            return
        with DemoSite() as site:
            url = site.url_for("/index.html")
            bare_argv = _bare_capture_argv(url, Path(tmp) / "bare.png")
            _median_run(bare_argv, 1, env)  # warm the page cache and Chromium's files
            bare = _median_run(bare_argv, args.runs, env)
            print(f"\nbare Playwright navigate-scroll-screenshot (process): {bare:.2f} s")
            for index, evidence in enumerate(executables):
                home = Path(tmp) / f"home-{index}"
                full = _capture(evidence, home, url, args.runs)
                print(f"  {evidence}: evidence capture {full:.2f} s = {full / bare:.2f}x bare")
            for index, evidence in enumerate(executables):
                home = Path(tmp) / f"home-{index}"
                subprocess.run(
                    [evidence, "chain", "down"], env=_env(home), capture_output=True, check=False
                )


if __name__ == "__main__":
    main()
