"""Repeatable navigation: a steps file read, checked and run in the page (进入步骤).

A steps file is JSON (``.json``) or TOML (``.toml``): a list of steps, either
at the top level (JSON) or under ``steps``. Each step is an object with one
action key::

    {"goto": "https://shop.example/search"}
    {"click": "#search-button"}
    {"type": "#q", "text": "运动鞋"}
    {"press": "Enter", "selector": "#q"}
    {"scroll": 1200}            (pixels; "bottom" or 0 scrolls to the end)
    {"wait": "#results"}        (a selector) or {"wait": 500} (milliseconds)
    {"screenshot": "results"}   (an extra named screenshot)

Every step run is written into the capture record with its time and outcome,
so the capture can be repeated. Each step that changes what the page shows
(every action but ``wait`` and ``screenshot``) is followed by a viewport shot,
``step-NN-after.png``: a separate exhibit, linked to its step by the step's
``artifact``, so no picture taken after a step is mistaken for the page as it
first loaded.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from capture._urls import validate_url
from evidence.model.capture_options import CaptureStep, StepAction
from evidence.model.capture_record import StepResult
from evidence.model.errors import EvidenceError, InvalidURLError, StepsFileError
from evidence.model.records import Clock

logger = logging.getLogger(__name__)

ACTIONS = tuple(action.value for action in StepAction)
MAX_STEPS = 200
MAX_WAIT_MS = 60_000
STEP_SCREENSHOT_NAME = "step-{:02d}-{}.png"
AFTER_STEP_NAME = "step-{:02d}-after.png"
_SHOT_AFTER = frozenset(
    {StepAction.GOTO, StepAction.CLICK, StepAction.TYPE, StepAction.PRESS, StepAction.SCROLL}
)
"""Steps that change what the page shows; ``wait`` only waits, ``screenshot`` is one."""

_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def load_steps(path: Path | str) -> tuple[CaptureStep, ...]:
    """Read and check a steps file; raise :class:`StepsFileError` naming what is wrong."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StepsFileError(f"cannot read steps file {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".toml":
            raw: Any = tomllib.loads(data.decode("utf-8"))
        else:
            raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise StepsFileError(f"steps file {path} is not UTF-8 text") from None
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StepsFileError(f"steps file {path} is malformed: {first}") from None
    if isinstance(raw, dict):
        raw = raw.get("steps")
    if not isinstance(raw, list):
        raise StepsFileError(f"steps file {path}: expected a list of steps (or a 'steps' list)")
    if not raw:
        raise StepsFileError(f"steps file {path} has no steps")
    if len(raw) > MAX_STEPS:
        raise StepsFileError(f"steps file {path} has {len(raw)} steps (at most {MAX_STEPS})")
    return tuple(parse_step(item, f"{path}: step {n}") for n, item in enumerate(raw, 1))


def parse_step(item: object, where: str) -> CaptureStep:
    if not isinstance(item, dict):
        raise StepsFileError(f"{where} is not an object")
    actions = [key for key in item if key in ACTIONS]
    if len(actions) != 1:
        raise StepsFileError(
            f"{where} needs exactly one action ({', '.join(ACTIONS)}), has {sorted(item)}"
        )
    action = StepAction(actions[0])
    extra = set(item) - {action, "text", "selector"}
    if extra:
        raise StepsFileError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    value = item[action]
    if action is StepAction.GOTO:
        # Checked here so a bad URL in the file is an error before the browser starts.
        try:
            return CaptureStep(action, target=validate_url(_text(value, where, action)))
        except InvalidURLError as exc:
            raise StepsFileError(f"{where}: {exc.message}") from None
    if action is StepAction.CLICK:
        return CaptureStep(action, target=_text(value, where, action))
    if action is StepAction.TYPE:
        text = item.get("text")
        if not isinstance(text, str):
            raise StepsFileError(f"{where}: 'type' needs a 'text' string")
        return CaptureStep(action, target=_text(value, where, action), value=text)
    if action is StepAction.PRESS:
        selector = item.get("selector", "")
        if not isinstance(selector, str):
            raise StepsFileError(f"{where}: 'selector' must be a string")
        return CaptureStep(action, target=selector, value=_text(value, where, action))
    if action is StepAction.SCROLL:
        if value == "bottom":
            return CaptureStep(action, amount=0)
        return CaptureStep(action, amount=_int(value, where, action, 0, 1_000_000))
    if action is StepAction.WAIT:
        if isinstance(value, str):
            return CaptureStep(action, target=_text(value, where, action))
        return CaptureStep(action, amount=_int(value, where, action, 0, MAX_WAIT_MS))
    name = _NAME.sub("-", _text(value, where, action)).strip("-")[:40]
    if not name:
        raise StepsFileError(f"{where}: screenshot name has no letters or digits")
    return CaptureStep(StepAction.SCREENSHOT, target=name)


def describe(step: CaptureStep) -> str:
    if step.action is StepAction.TYPE:
        return f"type {step.value!r} into {step.target}"
    if step.action is StepAction.PRESS:
        return f"press {step.value}" + (f" in {step.target}" if step.target else "")
    if step.action is StepAction.SCROLL:
        return f"scroll {step.amount} px" if step.amount else "scroll to the bottom"
    if step.action is StepAction.WAIT:
        return f"wait for {step.target}" if step.target else f"wait {step.amount} ms"
    return f"{step.action.value} {step.target}"


def run_steps(
    page: Page,
    steps: tuple[CaptureStep, ...],
    workdir: Path,
    *,
    clock: Clock,
    timeout_s: float,
    check_url: Callable[[str], None],
) -> tuple[list[StepResult], list[Path]]:
    """Run ``steps`` in order; stop at the first failure and mark the rest skipped.

    A failed step does not fail the capture: what the page shows then is still
    evidence, and the record says which step failed and why. Returns the
    results and the screenshots taken (explicit ones and after-step shots),
    each named in its step's ``artifact``.
    """
    results: list[StepResult] = []
    shots: list[Path] = []
    failed = False
    timeout_ms = timeout_s * 1000
    for index, step in enumerate(steps, 1):
        started = clock()
        if failed:
            results.append(
                StepResult(index, step.action, describe(step), started, started, "skipped")
            )
            continue
        artifact = ""
        try:
            artifact = _perform(page, step, index, workdir, timeout_ms, check_url)
            if step.action in _SHOT_AFTER:
                artifact = _shot_after(page, index, workdir, timeout_ms)
            if artifact:
                shots.append(workdir / artifact)
            outcome = "ok"
        except PlaywrightTimeoutError:
            outcome = f"failed: timed out after {timeout_s:g} s"
            failed = True
        except PlaywrightError as exc:
            text = str(exc).strip().splitlines()
            outcome = "failed: " + (
                re.sub(r"^[A-Za-z]+\.[A-Za-z_]+: ", "", text[0]) if text else "error"
            )
            failed = True
        except EvidenceError as exc:  # e.g. a goto to a refused private host
            outcome = f"failed: {exc.message}"
            failed = True
        logger.info("step %d %s: %s", index, describe(step), outcome)
        results.append(
            StepResult(index, step.action, describe(step), started, clock(), outcome, artifact)
        )
    return results, shots


def _perform(
    page: Page,
    step: CaptureStep,
    index: int,
    workdir: Path,
    timeout_ms: float,
    check_url: Callable[[str], None],
) -> str:
    """Do one step in the page; the name of the file it made, if any."""
    if step.action is StepAction.GOTO:
        check_url(step.target)
        page.goto(step.target, wait_until="domcontentloaded", timeout=timeout_ms)
    elif step.action is StepAction.CLICK:
        page.click(step.target, timeout=timeout_ms)
    elif step.action is StepAction.TYPE:
        page.fill(step.target, step.value, timeout=timeout_ms)
    elif step.action is StepAction.PRESS:
        if step.target:
            page.press(step.target, step.value, timeout=timeout_ms)
        else:
            page.keyboard.press(step.value)
    elif step.action is StepAction.SCROLL:
        if step.amount:
            page.mouse.wheel(0, step.amount)
        else:
            page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    elif step.action is StepAction.WAIT:
        if step.target:
            page.wait_for_selector(step.target, timeout=timeout_ms)
        else:
            page.wait_for_timeout(min(step.amount, timeout_ms))
    elif step.action is StepAction.SCREENSHOT:
        path = workdir / STEP_SCREENSHOT_NAME.format(index, step.target)
        page.screenshot(path=path, full_page=False, type="png", timeout=timeout_ms)
        return path.name
    return ""


def _shot_after(page: Page, index: int, workdir: Path, timeout_ms: float) -> str:
    """The viewport right after step ``index``: what the step made the page show."""
    path = workdir / AFTER_STEP_NAME.format(index)
    page.screenshot(path=path, full_page=False, type="png", timeout=timeout_ms)
    return path.name


def _text(value: object, where: str, action: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StepsFileError(f"{where}: '{action}' needs a non-empty string")
    return value.strip()


def _int(value: object, where: str, action: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise StepsFileError(f"{where}: '{action}' needs a whole number from {low} to {high}")
    return value
