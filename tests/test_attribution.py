"""Who did what: a capture names its acting officer, place and purpose; the custody log
names the person. One real capture (Chromium); the refusals happen before any browser.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from evidence import AttributionError, CustodyAction, Settings, Toolkit
from evidence.model.capture_options import CaptureOptions, SafetyOptions
from evidence.model.errors import BundleError
from evidence.model.manifest import parse_manifest
from evidence.services.demo_site import DemoSite
from tests.cli_support import one_line_error, run, succeeded, usage_error
from tests.conftest import require
from tests.helpers import TEST_PASSPHRASE, ensure_officer, seal_synthetic_item

CASE = "案-ATTR-1"
LOCAL = CaptureOptions(safety=SafetyOptions(allow_private_targets=True))


def _kit(home: Path) -> Toolkit:
    return Toolkit(Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}"))


@dataclass(frozen=True)
class Captured:
    home: Path
    item_id: str


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    home = tmp_path_factory.mktemp("attribution")
    with _kit(home) as kit, DemoSite() as site:
        kit.create_case(CASE, "归属测试", place="某局取证室", purpose="固定网店页面")
        officer = ensure_officer(kit, CASE, "AT-0001", "赵六")
        item = kit.capture(CASE, site.url, LOCAL, officer=officer, place="外勤车")
    yield Captured(home, item.id)


def test_a_case_without_officers_takes_no_capture(tmp_path: Path) -> None:
    with _kit(tmp_path) as kit:
        kit.create_case("案-EMPTY", "无人")
        with pytest.raises(AttributionError, match="has no officers"):
            kit.capture("案-EMPTY", "http://127.0.0.1:9/", LOCAL, officer="NOBODY")
        assert kit.list_items("案-EMPTY") == []
    line = one_line_error(run(tmp_path, "capture", "案-EMPTY", "http://127.0.0.1:9/"))
    assert "has no officers" in line and "officer assign" in line


def test_a_capture_names_one_of_the_cases_officers(tmp_path: Path) -> None:
    with _kit(tmp_path) as kit:
        kit.create_case("案-TWO", "两人")
        ensure_officer(kit, "案-TWO")
        kit.add_officer("局外人", "OUT-1", passphrase=TEST_PASSPHRASE)
        with pytest.raises(AttributionError, match="name the acting officer"):
            kit.capture("案-TWO", "http://127.0.0.1:9/", LOCAL)
        with pytest.raises(AttributionError, match="OUT-1 is not on case"):
            kit.capture("案-TWO", "http://127.0.0.1:9/", LOCAL, officer="OUT-1")
        assert kit.list_items("案-TWO") == []
        # This account's default officer stands in for --officer, on their cases only.
        kit.set_default_officer("OUT-1")
        with pytest.raises(AttributionError, match="name the acting officer"):
            kit.captures.acting_officer("案-TWO")
        kit.set_default_officer("TEST-0001")
        acting = kit.captures.acting_officer("案-TWO")
        assert acting.enforcement_id == "TEST-0001"
        assert acting.certificate_sha256 == kit.get_officer("TEST-0001").certificate_sha256
    line = one_line_error(
        run(tmp_path, "capture", "案-TWO", "http://127.0.0.1:9/", "--officer", "OUT-1")
    )
    assert "OUT-1 is not on case 案-TWO" in line
    shown = succeeded(run(tmp_path, "officer", "default"))
    assert "TEST-0001" in shown.stdout


def test_the_manifest_item_and_custody_name_the_officer_place_and_purpose(
    captured: Captured,
) -> None:
    with _kit(captured.home) as kit:
        item = kit.get_item(captured.item_id)
        assert item.manifest_sha256 is not None
        manifest = parse_manifest(kit.store.read_bytes(item.manifest_sha256))
        officer = kit.get_officer("AT-0001")
        lines = kit.custody_lines(item.id)
        events = [json.loads(line) for line in kit.custody_extract(item.id).splitlines()]
    assert manifest.acting_officer is not None
    assert (manifest.acting_officer.enforcement_id, manifest.acting_officer.name) == (
        "AT-0001",
        "赵六",
    )
    assert manifest.acting_officer.certificate_sha256 == officer.certificate_sha256
    # The capture's own place overrides the case's; the case's purpose is the default.
    assert (manifest.place, manifest.purpose) == ("外勤车", "固定网店页面")
    mine = [e for e in events if not e.get("redacted") and e.get("item_id") == item.id]
    assert [e["action"] for e in mine][:2] == ["capture.start", "seal"]
    for event in mine[:2]:
        assert event["actor"] == "AT-0001"
        details = json.loads(event["details"])
        assert details["os_user"] and details["host"]  # secondary: the account it ran under
    assert lines[0].actor == "赵六（AT-0001）"


def test_the_capture_signature_is_the_acting_officers(tmp_path: Path) -> None:
    with _kit(tmp_path) as kit:
        kit.create_case("案-SIG", "签名")
        kit.add_officer("孙八", "SG-2", passphrase="p2")
        ensure_officer(kit, "案-SIG", "SG-2")
        item = seal_synthetic_item(kit, "案-SIG", tmp_path / "w", "sig")  # by TEST-0001
        with pytest.raises(AttributionError, match="acting officer's, 测试员"):
            kit.sign_item(item.id, "SG-2", "p2", role="capture")
        kit.sign_item(item.id, "TEST-0001", TEST_PASSPHRASE, role="capture")
        assert kit.sign_item(item.id, "SG-2", "p2", role="cosign").index == 2


def test_viewing_and_case_outputs_are_logged_with_person_and_reason(captured: Captured) -> None:
    home = captured.home
    assert "--reason" in usage_error(run(home, "log", "show", captured.item_id))
    unknown = run(home, "log", "show", captured.item_id, "--reason", "x", "--officer", "NOBODY")
    assert "NOBODY" in one_line_error(unknown)
    args = ("log", "show", captured.item_id, "--reason", "核对", "--officer", "AT-0001")
    last = succeeded(run(home, *args)).stdout.splitlines()[-1]
    assert "赵六（AT-0001）" in last and last.endswith("核对")
    pdf = home / "case.pdf"
    report_args = (
        "report",
        "--case",
        CASE,
        "--out",
        str(pdf),
        "--officer",
        "AT-0001",
        "--reason",
        "汇总",
    )
    succeeded(run(home, *report_args))
    with _kit(home) as kit:
        case_events = [
            json.loads(line)
            for line in kit.custody_extract(captured.item_id).splitlines()
            if b'"redacted"' not in line
        ]
    report_event = case_events[-1]
    assert report_event["action"] == CustodyAction.REPORT.value
    assert (report_event["actor"], report_event["reason"]) == ("AT-0001", "汇总")
    assert report_event["item_id"] == "" and report_event["case_id"]


def test_older_manifests_keep_their_bytes_and_a_malformed_officer_is_named() -> None:
    old = {
        "artifacts": [],
        "capture": {},
        "case": {"agency": "", "cause": "", "number": "1", "title": "t"},
        "format": "evidence-toolkit/manifest/v1",
        "item_id": "i",
        "officers": [],
        "sealed_at": "2026-01-01T00:00:00.000Z",
        "tool": {},
    }
    data = json.dumps(old, sort_keys=True, separators=(",", ":")).encode()
    parsed = parse_manifest(data)
    assert parsed.acting_officer is None and parsed.place is None
    assert parsed.to_bytes() == data
    bad = json.dumps({**old, "acting_officer": "张三"}, sort_keys=True, separators=(",", ":"))
    with pytest.raises(BundleError, match="acting_officer"):
        parse_manifest(bad.encode())
