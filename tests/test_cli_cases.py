"""The CLI over cases and items, without a browser: case, items, find, log, doctor."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence import Settings, Toolkit
from tests.cli_support import fresh_home, one_line_error, run, succeeded, usage_error
from tests.helpers import seal_synthetic_item

CASE = "案-CLI-CASES"


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield from fresh_home(tmp_path_factory)


@pytest.fixture(scope="module")
def item(module_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """One sealed item in CASE (synthetic files: no browser); its id and manifest digest."""
    created = run(module_home, "case", "create", CASE, "--title", "命令行测试", "--cause", "测试")
    assert created.output.strip() == f"Case created: {CASE} 命令行测试", created.output
    settings = Settings(home=module_home, database_url=f"sqlite:///{module_home / 'evidence.db'}")
    with Toolkit(settings) as kit:
        sealed = seal_synthetic_item(kit, CASE, tmp_path_factory.mktemp("src"), "cases")
    assert sealed.manifest_sha256 is not None
    return sealed.id, sealed.manifest_sha256


def test_case_create_and_list(module_home: Path, item: tuple[str, str]) -> None:
    made = succeeded(run(module_home, "case", "create", "案-CLI-2", "--title", "二", "--json"))
    assert json.loads(made.stdout)["number"] == "案-CLI-2"
    listed = succeeded(run(module_home, "case", "list"))
    assert f"{CASE}\t命令行测试\t测试" in listed.stdout.splitlines()
    as_json = succeeded(run(module_home, "case", "list", "--json"))
    assert {c["number"] for c in json.loads(as_json.stdout)} >= {CASE, "案-CLI-2"}


def test_case_create_twice_is_one_line(module_home: Path, item: tuple[str, str]) -> None:
    line = one_line_error(run(module_home, "case", "create", CASE, "--title", "again"))
    assert line.startswith("error: ") and CASE in line


def test_case_commands_refuse_bad_options(module_home: Path) -> None:
    assert "--title" in usage_error(run(module_home, "case", "create", "案-X"))
    assert "--bogus" in usage_error(run(module_home, "case", "list", "--bogus"))


def test_items_lists_the_sealed_item(module_home: Path, item: tuple[str, str]) -> None:
    item_id, _ = item
    text = succeeded(run(module_home, "items", "--case", CASE))
    assert text.stdout.splitlines() == [f"{item_id}\tsealed\t{CASE}\thttp://example.test/cases"]
    rows = json.loads(succeeded(run(module_home, "items", "--json")).stdout)
    assert [(r["id"], r["status"]) for r in rows] == [(item_id, "sealed")]


def test_items_of_an_unknown_case(module_home: Path, item: tuple[str, str]) -> None:
    line = one_line_error(run(module_home, "items", "--case", "NO-SUCH-CASE"))
    assert "NO-SUCH-CASE" in line


def test_find_by_case_url_and_time(module_home: Path, item: tuple[str, str]) -> None:
    item_id, digest = item
    found = succeeded(run(module_home, "find", "--case", CASE, "--since", "2000-01-01"))
    assert found.stdout.split("\t")[:4] == [item_id, "sealed", CASE, digest]
    by_url = succeeded(run(module_home, "find", "--url", "http://example.test/cases", "--json"))
    assert [i["id"] for i in json.loads(by_url.stdout)] == [item_id]
    none = succeeded(run(module_home, "find", "--until", "2000-01-01", "--json"))
    assert json.loads(none.stdout) == []


def test_find_refuses_a_bad_hash_and_a_bad_date(module_home: Path, item: tuple[str, str]) -> None:
    assert "64 hexadecimal" in usage_error(run(module_home, "find", "--hash", "xyz"))
    assert "--since" in usage_error(run(module_home, "find", "--since", "yesterday"))


def test_log_show_and_verify(module_home: Path, item: tuple[str, str]) -> None:
    item_id, _ = item
    shown = succeeded(run(module_home, "log", "show", item_id, "--reason", "复核"))
    # seq, time, actor, action, hash, reason: the viewing itself is the last event.
    last = shown.stdout.splitlines()[-1].split()
    assert (last[3], last[-1]) == ("view", "复核")
    verified = succeeded(run(module_home, "log", "verify"))
    assert verified.stdout.startswith("custody log intact: ")
    assert json.loads(succeeded(run(module_home, "log", "verify", "--json")).stdout)["ok"]


def test_log_show_of_an_unknown_item(module_home: Path, item: tuple[str, str]) -> None:
    assert "no evidence item" in one_line_error(
        run(module_home, "log", "show", "zzzz-none", "--reason", "复核")
    )


def test_doctor_healthy(module_home: Path, item: tuple[str, str]) -> None:
    result = succeeded(run(module_home, "doctor", "--deep"))
    assert result.stdout.splitlines()[-1].endswith("custody log intact")
    assert json.loads(succeeded(run(module_home, "doctor", "--json")).stdout)["healthy"]


def test_doctor_and_log_verify_name_what_is_wrong(tmp_path: Path) -> None:
    home = tmp_path / "home"
    succeeded(run(home, "case", "create", CASE, "--title", "损坏"))
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(settings) as kit:
        sealed = seal_synthetic_item(kit, CASE, tmp_path / "src", "broken")
    assert sealed.manifest_sha256 is not None
    # The stored manifest disappears behind the toolkit's back.
    stored = next(p for p in home.rglob(sealed.manifest_sha256) if p.is_file())
    stored.chmod(0o600)
    stored.unlink()
    doctor = run(home, "doctor")
    assert doctor.exit_code == 1, doctor.output
    assert doctor.stdout.splitlines()[0] == (
        f"item {sealed.id}: object {sealed.manifest_sha256} is missing from the store"
        " -> needs attention"
    )
    # And one custody event is edited: log verify names it and exits 1.
    with sqlite3.connect(home / "evidence.db") as db:
        db.execute("UPDATE custodyevent SET reason = 'forged' WHERE action = 'seal'")
    broken = run(home, "log", "verify")
    assert broken.exit_code == 1 and "custody log BROKEN at event" in broken.stdout
