"""Batch capture from a URL list: reading the list, resuming, counting, completing.

The browser is replaced by synthetic sealed items (tests/helpers.py), so
these tests check the batch policy itself: which URLs are captured again,
where progress is kept, and what the summary counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchoring.devtsa import DevelopmentTSA
from anchoring.tsa import RetryPolicy
from evidence import BatchCaptureResult, UrlListError, read_url_list
from evidence.model.capture_options import CaptureOptions
from evidence.model.config import Settings
from evidence.model.errors import CaptureError, EvidenceError
from evidence.model.tables import ItemStatus
from evidence.services.results import ItemInfo
from evidence.services.toolkit import Toolkit
from tests.conftest import require_tool
from tests.helpers import ensure_officer, seal_synthetic_item

CASE = "B-LIST"
DEAD_TSA = "http://127.0.0.1:9/tsr"


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Toolkit]:
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'e.db'}")
    with _browserless(Toolkit(settings), tmp_path) as kit:
        yield kit


def _browserless(kit: Toolkit, tmp_path: Path) -> Toolkit:
    """A toolkit whose captures seal synthetic files; URLs containing 'broken' fail."""
    kit.create_case(CASE, "batch test", exist_ok=True)
    # Batches capture as this account's default officer (no --officer given).
    kit.set_default_officer(ensure_officer(kit, CASE))
    calls: list[str] = []

    def capture(
        case_number: str,
        url: str,
        options: CaptureOptions | None = None,
        **circumstances: str | None,
    ) -> ItemInfo:
        calls.append(url)
        if "broken" in url:
            raise CaptureError(f"could not capture {url}: connection refused")
        label = f"{len(calls)}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"
        return seal_synthetic_item(kit, case_number, tmp_path / "work" / label, label)

    kit.captures.capture = capture  # type: ignore[method-assign]
    return kit


def _url_list(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "urls.txt"
    # A byte-order mark, as Windows Notepad writes it.
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8"))
    return path


def test_a_url_list_skips_blank_lines_comments_and_the_bom(tmp_path: Path) -> None:
    path = _url_list(
        tmp_path, "https://a.example/1", "", "  # a comment", "  https://b.example/2  "
    )
    assert read_url_list(path) == ["https://a.example/1", "https://b.example/2"]


@pytest.mark.parametrize("content", [None, b"https://a.example/\n\xff\xfe broken utf-8\n"])
def test_an_unreadable_url_list_is_a_one_line_evidence_error(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "urls.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UrlListError) as caught:
        read_url_list(path)
    assert isinstance(caught.value, EvidenceError)
    assert str(path) in caught.value.message and "\n" not in caught.value.message


def test_a_list_batch_keeps_progress_where_the_cli_kept_it_and_resumes(
    kit: Toolkit, tmp_path: Path
) -> None:
    urls = _url_list(
        tmp_path, "https://shop.example/1", "https://shop.example/broken", "https://shop.example/2"
    )
    # The key the CLI has always used, so resume files of earlier versions keep working.
    key = hashlib.sha256(f"{CASE}\n{urls.resolve()}".encode()).hexdigest()[:16]
    expected_state = kit.settings.home / "batch-state" / f"{key}.jsonl"
    started: list[tuple[int, Path]] = []
    seen: list[BatchCaptureResult] = []

    first = kit.capture_list(
        CASE,
        urls,
        CaptureOptions(),
        jobs=2,
        complete=False,
        on_start=lambda n, state: started.append((n, state)),
        on_result=seen.append,
    )
    assert started == [(3, expected_state)]
    assert first.state_path == expected_state and expected_state.is_file()
    assert (first.captured, first.skipped, first.failed, first.still_owed) == (2, 0, 1, 0)
    assert [r.url for r in first.results] == [
        "https://shop.example/1",
        "https://shop.example/broken",
        "https://shop.example/2",
    ]
    assert sorted(r.url for r in seen) == sorted(r.url for r in first.results)
    assert first.results[1].item is None and "connection refused" in (first.results[1].error or "")

    again = kit.capture_list(CASE, urls, CaptureOptions(), complete=False)
    assert (again.captured, again.skipped, again.failed) == (0, 2, 1)
    assert [r.item.id for r in again.results if r.item] == [
        r.item.id for r in first.results if r.item
    ]
    assert len(kit.list_items(CASE)) == 2  # nothing sealed twice


def test_completion_runs_for_new_items_and_counts_what_is_still_owed(tmp_path: Path) -> None:
    require_tool("openssl")
    roots = tmp_path / "roots.pem"
    roots.write_bytes(DevelopmentTSA(tmp_path / "dev").ca_certificate_pem)
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'e.db'}",
        tsa_url=DEAD_TSA,
        tsa_roots_path=roots,
    )
    with _browserless(Toolkit(settings), tmp_path) as kit:
        kit.tsa_retry = RetryPolicy(attempts=1, backoff_s=0.0)
        urls = _url_list(tmp_path, "https://shop.example/1", "https://shop.example/2")
        summary = kit.capture_list(CASE, urls, CaptureOptions())
        assert (summary.captured, summary.still_owed) == (2, 2)
        assert {i.status for i in kit.list_items(CASE)} == {ItemStatus.SEALED}
        # Items an earlier run sealed are skipped, and not completed again by this run.
        again = kit.capture_list(CASE, urls, CaptureOptions())
        assert (again.skipped, again.still_owed) == (2, 0)
