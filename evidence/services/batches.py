"""Many URLs captured as one batch: parallel browsers, resumable, each URL its own item.

A failing URL is reported in its result and never ends the batch. Progress
is kept in a JSON-lines state file, one line per sealed URL written as soon
as it is sealed, so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from evidence.model.capture_options import CaptureOptions
from evidence.model.errors import EvidenceError, NotFoundError, UrlListError
from evidence.model.tables import ItemStatus
from evidence.services.results import (
    BatchCaptureResult,
    BatchSummary,
    CaptureCircumstances,
    CompletionResult,
    ItemInfo,
)

if TYPE_CHECKING:
    from evidence.services.captures import CaptureService
    from evidence.services.cases import CaseService

logger = logging.getLogger(__name__)

ResultCallback = Callable[[BatchCaptureResult], None]


def read_url_list(path: Path) -> list[str]:
    """The URLs of a list file: one per line, blank lines and ``#`` comments ignored."""
    try:
        # utf-8-sig: lists saved by Windows Notepad start with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UrlListError(f"cannot read {path}: {exc}") from None
    urls = [line.strip() for line in text.splitlines()]
    return [u for u in urls if u and not u.startswith("#")]


def batch_state_path(home: Path, case_number: str, url_list: Path) -> Path:
    """Where a batch from ``url_list`` into the case keeps its progress."""
    key = hashlib.sha256(f"{case_number}\n{url_list.resolve()}".encode()).hexdigest()[:16]
    return home / "batch-state" / f"{key}.jsonl"


class BatchCaptureService:
    """Batch captures on top of single captures; completion is passed in."""

    def __init__(
        self,
        home: Path,
        cases: CaseService,
        captures: CaptureService,
        complete: Callable[[str], CompletionResult],
    ) -> None:
        self._home = home
        self._cases = cases
        self._captures = captures
        self._complete = complete

    def capture_list(
        self,
        case_number: str,
        url_list: Path,
        options: CaptureOptions,
        *,
        jobs: int = 1,
        complete: bool = True,
        on_start: Callable[[int, Path], None] | None = None,
        on_result: ResultCallback | None = None,
        circumstances: CaptureCircumstances | None = None,
    ) -> BatchSummary:
        """Capture every URL of a list file, resumably, then complete the new items.

        The progress file depends on the case and the list's resolved path, so
        running the same command again skips what an earlier run sealed.
        ``on_start`` gets the number of URLs and the progress file's path.
        """
        urls = read_url_list(url_list)
        circumstances = circumstances or CaptureCircumstances()
        # Refused before the progress file or any browser: who acts is not a per-URL failure.
        self._captures.acting_officer(case_number, circumstances.officer)
        state_path = batch_state_path(self._home, case_number, url_list)
        if on_start is not None:
            on_start(len(urls), state_path)
        results = self.capture_many(
            case_number,
            urls,
            options,
            jobs=jobs,
            on_result=on_result,
            state_path=state_path,
            circumstances=circumstances,
        )
        still_owed = 0
        if complete:
            for result in results:
                if result.item is not None and not result.skipped:
                    still_owed += bool(self._complete(result.item.id).pending)
        return BatchSummary(
            results=tuple(results),
            state_path=state_path,
            captured=sum(1 for r in results if r.item is not None and not r.skipped),
            skipped=sum(1 for r in results if r.skipped),
            failed=sum(1 for r in results if r.item is None),
            still_owed=still_owed,
        )

    def capture_many(
        self,
        case_number: str,
        urls: Sequence[str],
        options: CaptureOptions | None = None,
        *,
        jobs: int = 2,
        on_result: ResultCallback | None = None,
        state_path: Path | None = None,
        circumstances: CaptureCircumstances | None = None,
    ) -> list[BatchCaptureResult]:
        """Capture each URL as its own evidence item, ``jobs`` browsers at a time.

        A failing URL is reported in its result and does not stop the batch.
        With ``state_path`` (a JSON-lines file) every sealed URL is written
        there as soon as it is sealed, and a re-run skips the URLs listed there
        whose item is still sealed (or further along), so an interrupted batch
        resumes where it stopped. Results come back in the order of ``urls``;
        ``on_result`` is called as each one finishes. ``circumstances`` name the
        acting officer, place and purpose of every capture of the batch.
        """
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self._cases.get_case(case_number)  # an unknown case fails before any browser starts
        circumstances = circumstances or CaptureCircumstances()
        self._captures.acting_officer(case_number, circumstances.officer)  # so does no officer
        done = _read_batch_state(state_path)
        lock = threading.Lock()

        def one(url: str) -> BatchCaptureResult:
            key = url.strip()
            earlier = self._already_sealed(done.get(key))
            if earlier is not None:
                return BatchCaptureResult(key, earlier, skipped=True)
            result = self._capture_one(case_number, key, options, circumstances)
            if state_path is not None and result.item is not None:
                with lock:
                    _append_batch_state(state_path, key, result.item.id)
            return result

        return _run_in_threads(urls, one, jobs, on_result)

    def _already_sealed(self, item_id: str | None) -> ItemInfo | None:
        if item_id is None:
            return None
        try:
            info = self._cases.get_item(item_id)
        except NotFoundError:
            return None
        if info.status in (ItemStatus.CAPTURING, ItemStatus.FAILED):
            return None
        return info

    def _capture_one(
        self,
        case_number: str,
        url: str,
        options: CaptureOptions | None,
        given: CaptureCircumstances,
    ) -> BatchCaptureResult:
        try:
            info = self._captures.capture(
                case_number,
                url,
                options,
                officer=given.officer,
                place=given.place,
                purpose=given.purpose,
            )
        except EvidenceError as exc:
            return BatchCaptureResult(url, None, exc.message)
        except Exception as exc:  # one URL's bug must not end the batch
            logger.exception("capture of %s failed unexpectedly", url)
            return BatchCaptureResult(url, None, f"{exc.__class__.__name__}: {exc}")
        return BatchCaptureResult(url, info)


def _run_in_threads(
    urls: Sequence[str],
    one: Callable[[str], BatchCaptureResult],
    jobs: int,
    on_result: ResultCallback | None,
) -> list[BatchCaptureResult]:
    """``one(url)`` for every URL on ``jobs`` threads; results in the order of ``urls``."""
    import capture

    todo: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
    for n, url in enumerate(urls):
        todo.put((n, url))
    finished: queue.SimpleQueue[tuple[int, BatchCaptureResult | BaseException]] = (
        queue.SimpleQueue()
    )
    stop = threading.Event()

    def worker() -> None:
        # One Playwright driver per worker thread; each URL still gets its own fresh browser.
        with capture.shared_driver():
            while not stop.is_set():
                try:
                    n, url = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    finished.put((n, one(url)))
                except BaseException as exc:  # handed to the caller's thread
                    finished.put((n, exc))

    workers = [
        threading.Thread(target=worker, name=f"capture-{i}", daemon=True)
        for i in range(min(jobs, len(urls)))
    ]
    results: list[BatchCaptureResult | None] = [None] * len(urls)
    try:
        for thread in workers:
            thread.start()
        for _ in urls:
            n, outcome = _next_finished(finished)
            if isinstance(outcome, BaseException):
                raise outcome
            results[n] = outcome
            if on_result is not None:
                on_result(outcome)
    except BaseException:
        # Interrupted: finish the captures in progress (bounded by their
        # total timeout), start no new ones; the state file has the rest.
        stop.set()
        for thread in workers:
            thread.join()
        raise
    for thread in workers:
        thread.join()
    return [r for r in results if r is not None]


def _next_finished(
    finished: queue.SimpleQueue[tuple[int, BatchCaptureResult | BaseException]],
) -> tuple[int, BatchCaptureResult | BaseException]:
    while True:
        try:  # a timeout, so Ctrl-C is seen while captures run
            return finished.get(timeout=0.5)
        except queue.Empty:
            continue


def _read_batch_state(path: Path | None) -> dict[str, str]:
    """URL -> item id of every URL an earlier run of the batch sealed."""
    if path is None or not path.is_file():
        return {}
    done: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            done[str(entry["url"])] = str(entry["item_id"])
        except (json.JSONDecodeError, KeyError, TypeError):
            # A line cut short by the interruption: that URL is simply captured again.
            continue
    return done


def _append_batch_state(path: Path, url: str, item_id: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"url": url, "item_id": item_id, "status": "sealed"}, ensure_ascii=False)
    with path.open("a", encoding="utf-8") as stream:
        stream.write(line + "\n")
        stream.flush()
        os.fsync(stream.fileno())
