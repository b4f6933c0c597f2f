"""The custody log names the person for every action on evidence.

Timestamp, anchor, complete, recheck (re-anchor) and doctor's closing of an
interrupted capture are done by an officer (``--officer`` or the account's
default): the event's actor is the enforcement ID, the OS user and host are in
its details, and a reason is recorded where one is needed. A missing officer,
an unknown one or a blank reason is refused before anything is written.
Real anvil and the development TSA; items are sealed from synthetic files.
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from evidence import Settings, Toolkit
from evidence.model.tables import DefaultOfficer, EvidenceItem, ItemStatus
from evidence.services.cases import case_row
from evidence.services.demo_site import DemoSite
from tests.anchoring_support import rpc
from tests.cli_support import one_line_error, run, stop_local_chain, succeeded, usage_error
from tests.conftest import require, require_tool
from tests.helpers import TEST_PASSPHRASE, ensure_officer, seal_synthetic_item

CASE = "案-ACTORS"
CAPTURER = "CAP-0001"
OTHER = "OTH-0002"
OUTSIDER = "OUT-0003"
PRIVATE = {"EVIDENCE_ALLOW_PRIVATE_TARGETS": "1"}  # the demo site listens on 127.0.0.1


def _kit(home: Path) -> Toolkit:
    return Toolkit(Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_tool("anvil")
    require_tool("openssl")
    path = tmp_path_factory.mktemp("actors-home")
    with _kit(path) as kit:
        kit.create_case(CASE, "经手人")
        ensure_officer(kit, CASE, CAPTURER, "张三")
        ensure_officer(kit, CASE, OTHER, "李四")
        # An officer of the toolkit, but not of this case.
        kit.add_officer("王五", OUTSIDER, passphrase=TEST_PASSPHRASE)
    yield path
    stop_local_chain(path)


def _seal(home: Path, workdir: Path, *, timestamped: bool = False) -> str:
    """A sealed item captured by CAPTURER (timestamped through the library if asked)."""
    with _kit(home) as kit:
        item_id = seal_synthetic_item(kit, CASE, workdir, workdir.name, officer=CAPTURER).id
        if timestamped:
            kit.timestamp(item_id, officer=CAPTURER)
    return item_id


def _events(home: Path, item_id: str, action: str) -> list[dict[str, Any]]:
    """The item's custody events of ``action`` as ``log show --json`` gives them."""
    shown = succeeded(
        run(home, "log", "show", item_id, "--reason", "核对经手人", "--officer", OTHER, "--json")
    )
    return [e for e in json.loads(shown.stdout) if e["action"] == action]


def _log_length(home: Path) -> int:
    with _kit(home) as kit:
        return kit.verify_custody_log().events


NAMES = {CAPTURER: "张三", OTHER: "李四", OUTSIDER: "王五"}


def _assert_by(event: dict[str, Any], officer: str, reason: str = "") -> None:
    """Actor is the officer (shown with their name); the OS account and host are kept
    beside it; the reason, where one is needed."""
    assert event["actor"] == f"{NAMES[officer]}（{officer}）", event
    details = json.loads(event["details"])
    assert details["os_user"] == getpass.getuser()
    assert details["host"] == socket.gethostname()
    if reason:
        assert event["reason"] == reason


def _refused(home: Path, *args: str) -> str:
    """The one-line error of a command that must write nothing to the custody log."""
    before = _log_length(home)
    line = one_line_error(run(home, *args))
    assert _log_length(home) == before, f"{args} wrote to the custody log"
    return line


def test_complete_names_the_officer_for_timestamp_and_anchor(home: Path, tmp_path: Path) -> None:
    item_id = _seal(home, tmp_path / "complete")
    succeeded(run(home, "complete", item_id, "--officer", OTHER))
    [stamped] = _events(home, item_id, "timestamp")
    [anchored] = _events(home, item_id, "anchor")
    _assert_by(stamped, OTHER)
    _assert_by(anchored, OTHER)


def test_nobody_named_unknown_or_off_the_case_is_refused_and_writes_nothing(
    home: Path, tmp_path: Path
) -> None:
    item_id = _seal(home, tmp_path / "refused")
    line = _refused(home, "complete", item_id)
    assert "--officer ENF_ID" in line and "officer default" in line
    assert "NOBODY" in _refused(home, "complete", item_id, "--officer", "NOBODY")
    assert "not on the item's case" in _refused(home, "complete", item_id, "--officer", OUTSIDER)
    assert "NOBODY" in _refused(home, "anchor", "--pending", "--officer", "NOBODY")
    assert "--officer ENF_ID" in _refused(home, "anchor", "--pending")
    with _kit(home) as kit:
        assert kit.get_item(item_id).status is ItemStatus.SEALED
        kit.complete(item_id)  # leave nothing owed for the other tests


def test_anchor_one_and_pending_and_the_default_officer(home: Path, tmp_path: Path) -> None:
    one = _seal(home, tmp_path / "one", timestamped=True)
    succeeded(run(home, "anchor", one, "--officer", CAPTURER))
    _assert_by(_events(home, one, "anchor")[0], CAPTURER)
    # The account's default officer acts when none is named.
    succeeded(run(home, "officer", "default", OTHER))
    try:
        waiting = [_seal(home, tmp_path / f"batch{i}", timestamped=True) for i in range(2)]
        [batch] = json.loads(succeeded(run(home, "anchor", "--pending", "--json")).stdout)
        assert set(waiting) <= set(batch["item_ids"])
        for item_id in waiting:
            [stamped] = _events(home, item_id, "timestamp")
            _assert_by(stamped, CAPTURER)  # timestamped through the library by CAPTURER
            _assert_by(_events(home, item_id, "anchor")[0], OTHER)
    finally:
        _clear_default(home)


def _clear_default(home: Path) -> None:
    with _kit(home) as kit, Session(kit.engine) as session:
        for row in session.exec(select(DefaultOfficer)).all():
            session.delete(row)
        session.commit()


def test_completion_right_after_a_seal_is_the_capturing_officers(
    home: Path, tmp_path: Path
) -> None:
    # The toolkit completing an item on its own (as capture does) names the capture's officer.
    item_id = _seal(home, tmp_path / "auto")
    with _kit(home) as kit:
        assert kit.complete(item_id).item.status is ItemStatus.ANCHORED
    _assert_by(_events(home, item_id, "timestamp")[0], CAPTURER)
    _assert_by(_events(home, item_id, "anchor")[0], CAPTURER)


def test_a_library_action_with_no_officer_is_the_system_not_the_os_account(
    home: Path, tmp_path: Path
) -> None:
    item_id = _seal(home, tmp_path / "system")
    with _kit(home) as kit:
        kit.timestamp(item_id)
    [stamped] = _events(home, item_id, "timestamp")
    assert stamped["actor"] == f"system:{socket.gethostname()}"
    assert json.loads(stamped["details"])["os_user"] == getpass.getuser()
    with _kit(home) as kit:
        kit.anchor(item_id, officer=CAPTURER)


def test_a_reanchor_names_the_officer_and_the_reason(home: Path, tmp_path: Path) -> None:
    args = ("chain", "recheck", "--confirmations", "1", "--officer", OTHER)
    assert "--reason" in usage_error(run(home, *args))
    assert "--reason" in usage_error(run(home, *args, "--reason", "  "))
    item_id = _seal(home, tmp_path / "reorg", timestamped=True)
    with _kit(home) as kit:
        rpc_url = kit.local_chain_rpc_url()
        snapshot = rpc(rpc_url, "evm_snapshot")
        kit.anchor(item_id, officer=CAPTURER)
    # The anchor's block is replaced by another history of the same length.
    assert rpc(rpc_url, "evm_revert", snapshot) is True
    for _ in range(4):
        rpc(rpc_url, "evm_mine")
    refused = _refused(home, *args[:-1], "NOBODY", "--reason", "例行复核")
    assert "NOBODY" in refused
    rows = json.loads(succeeded(run(home, *args, "--reason", "例行复核", "--json")).stdout)
    assert "reanchored" in {r["outcome"] for r in rows}, rows
    dropped = next(r for r in rows if r["outcome"] == "reanchored")
    first, again = _events(home, item_id, "anchor")
    _assert_by(first, CAPTURER)
    _assert_by(again, OTHER, "例行复核")
    details = json.loads(again["details"])
    assert details["reanchors_batch"] == dropped["batch_id"]
    assert details["dropped_because"] == dropped["detail"]


def _interrupted_capture(home: Path) -> str:
    """An item left ``capturing``, as a capture killed before sealing leaves it."""
    with _kit(home) as kit, Session(kit.engine) as session:
        item = EvidenceItem(
            id=kit.new_id(),
            case_id=case_row(session, CASE).id,
            requested_url="http://example.test/killed",
            created_at=kit.clock(),
        )
        session.add(item)
        session.commit()
        return item.id


def test_doctor_closes_an_interrupted_capture_only_for_an_officer_and_a_reason(
    home: Path,
) -> None:
    item_id = _interrupted_capture(home)
    line = _refused(home, "doctor")
    assert "--reason" in line
    assert "--officer ENF_ID" in _refused(home, "doctor", "--reason", "断电")
    assert "NOBODY" in _refused(home, "doctor", "--officer", "NOBODY", "--reason", "断电")
    with _kit(home) as kit:
        assert kit.get_item(item_id).status is ItemStatus.CAPTURING
    succeeded(run(home, "doctor", "--officer", CAPTURER, "--reason", "采集时断电，按失败结案"))
    with _kit(home) as kit:
        assert kit.get_item(item_id).status is ItemStatus.FAILED
    [closed] = _events(home, item_id, "doctor.mark-failed")
    _assert_by(closed, CAPTURER, "采集时断电，按失败结案")
    assert "interrupted before sealing" in json.loads(closed["details"])["finding"]
    # Nothing left to close: a healthy store needs nobody named.
    succeeded(run(home, "doctor"))


def test_a_capture_completed_at_once_is_the_capturing_officers(home: Path) -> None:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    with DemoSite() as site:
        done = run(home, "capture", CASE, site.url, "--officer", OTHER, "--json", env=PRIVATE)
    item = json.loads(succeeded(done).stdout)["item"]
    assert item["status"] == "anchored"
    for action in ("capture.start", "seal", "timestamp", "anchor"):
        [event] = _events(home, item["id"], action)
        _assert_by(event, OTHER)


def test_a_manifest_signature_is_the_signing_officers(home: Path, tmp_path: Path) -> None:
    item_id = _seal(home, tmp_path / "signed")
    passphrase = TEST_PASSPHRASE + "\n"
    succeeded(run(home, "sign", item_id, "--officer", CAPTURER, input=passphrase))
    succeeded(run(home, "sign", item_id, "--officer", OTHER, "--cosign", input=passphrase))
    signed, cosigned = _events(home, item_id, "sign")
    _assert_by(signed, CAPTURER)
    _assert_by(cosigned, OTHER)
    assert json.loads(cosigned["details"])["role"] == "cosign"
    with _kit(home) as kit:
        kit.complete(item_id)  # leave nothing owed for the other tests
