"""The verification runner: checks ordered by what they need, every result kept, a missing
prerequisite reported NOT CHECKED with its reason, a crashing check turned into a result,
and a new check added by one registry line.

Most tests use a synthetic bundle (no browser); the "every check says something" test
uses one real capture, exported as a bundle and as a WACZ.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from evidence import Settings, Verdict
from evidence.model.records import CheckResult
from evidence.verification import CheckId, VerifyOptions, run_verification, runner
from evidence.verification.context import Check, CheckRun, Context, Fact, Findings
from evidence.verification.runner import (
    BUNDLE_CHECKS,
    WACZ_CHECKS,
    RegistryError,
    order_checks,
    run_source,
)
from reports.bundle import layout as bf
from reports.bundle.reader import open_bundle
from tests.conftest import REPO, require_tool
from tests.test_hostile_bundles import make_bundle
from tests.test_verify_checks import (
    Captured,
    capture_bundle,
    exporting_officer,
    reseal_checksums,
)

OFFLINE = VerifyOptions(offline=True, replay=False)


def _nothing(ctx: Context, out: Findings) -> None:
    return None


def _check(
    id: CheckId,
    needs: set[Fact] | None = None,
    provides: set[Fact] | None = None,
    uses: set[Fact] | None = None,
) -> Check:
    return Check(
        id,
        _nothing,
        "x",
        needs=frozenset(needs or ()),
        uses=frozenset(uses or ()),
        provides=frozenset(provides or ()),
    )


def _runs(path: Path, options: VerifyOptions = OFFLINE) -> list[CheckRun]:
    """Every check's own results, as the runner ran them."""
    source = open_bundle(path)
    try:
        return list(run_source(source, str(path), options).runs)
    finally:
        source.close()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A well-formed bundle without token, anchor, WARC or custody log, unpacked."""
    out = tmp_path_factory.mktemp("runner")
    bundle = make_bundle(out / "good.zip", {"a.bin": 4096})
    folder = out / "folder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(folder)
    return folder


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


# --- ordering ----------------------------------------------------------------


def test_a_check_runs_after_the_check_that_provides_what_it_needs() -> None:
    reader = _check(CheckId.BUNDLE_READ, provides={Fact.DIGESTS})
    needs_manifest = _check(CheckId.ARTIFACT_DIGEST, needs={Fact.DIGESTS, Fact.MANIFEST})
    independent = _check(CheckId.REPORT_FORMAT, needs={Fact.DIGESTS})
    manifest = _check(CheckId.MANIFEST_FORMAT, needs={Fact.DIGESTS}, provides={Fact.MANIFEST})
    ordered = order_checks([needs_manifest, independent, manifest, reader])
    # Moved only as far as its needs require; otherwise registry order.
    assert [c.id for c in ordered] == [
        CheckId.BUNDLE_READ,
        CheckId.REPORT_FORMAT,
        CheckId.MANIFEST_FORMAT,
        CheckId.ARTIFACT_DIGEST,
    ]


def test_an_optional_fact_also_orders_the_checks() -> None:
    warcs = _check(CheckId.WARC_RECORD, uses={Fact.MANIFEST})
    manifest = _check(CheckId.MANIFEST_FORMAT, provides={Fact.MANIFEST})
    assert [c.id for c in order_checks([warcs, manifest])] == [
        CheckId.MANIFEST_FORMAT,
        CheckId.WARC_RECORD,
    ]


@pytest.mark.parametrize("registry", [BUNDLE_CHECKS, WACZ_CHECKS], ids=["bundle", "wacz"])
def test_the_registries_are_already_in_dependency_order(registry: tuple[Check, ...]) -> None:
    ordered = order_checks(registry)
    assert ordered == list(registry)
    for position, check in enumerate(ordered):
        before = {f for c in ordered[:position] for f in c.provides}
        assert check.needs <= before, (check.id, check.needs - before)


def test_a_registry_that_cannot_be_ordered_is_refused() -> None:
    with pytest.raises(RegistryError, match="registered twice"):
        order_checks([_check(CheckId.ANCHOR_CHAIN), _check(CheckId.ANCHOR_CHAIN)])
    with pytest.raises(RegistryError, match="no registered check provides"):
        order_checks([_check(CheckId.TIME_ORDER, needs={Fact.GEN_TIME})])
    chicken = _check(CheckId.TIME_ORDER, needs={Fact.ANCHOR}, provides={Fact.GEN_TIME})
    egg = _check(CheckId.ANCHOR_MERKLE, needs={Fact.GEN_TIME}, provides={Fact.ANCHOR})
    with pytest.raises(RegistryError, match="wait on each other"):
        order_checks([chicken, egg])


# --- missing prerequisites -----------------------------------------------------


def _depends_on(fact: Fact, registry: tuple[Check, ...]) -> set[CheckId]:
    """The checks that need ``fact``, directly or through what they need."""
    lacking = {fact}
    dependent: set[CheckId] = set()
    for check in order_checks(registry):
        if check.needs & lacking:
            dependent.add(check.id)
            lacking |= check.provides
    return dependent


def test_a_failed_manifest_leaves_every_dependent_check_not_checked(
    synthetic: Path, tmp_path: Path
) -> None:
    bad = _copy(synthetic, tmp_path / "bad")
    (bad / bf.MANIFEST).write_bytes(b"{not json")
    reseal_checksums(bad)
    runs = {run.check.id: run for run in _runs(bad)}
    [format_result] = runs[CheckId.MANIFEST_FORMAT].results
    assert format_result.verdict is Verdict.FAIL
    dependent = _depends_on(Fact.MANIFEST, BUNDLE_CHECKS)
    assert {CheckId.ARTIFACT_DIGEST, CheckId.TIME_ORDER, CheckId.SCREENSHOT_REPLAY} <= dependent
    for check_id in dependent:
        [result] = runs[check_id].results
        assert result.check == check_id and result.verdict is Verdict.NOT_CHECKED, result
        assert result.detail.startswith("needs "), result
    [artifacts] = runs[CheckId.ARTIFACT_DIGEST].results
    assert artifacts.detail == "needs the parsed manifest: manifest.json failed (manifest.format)"
    # What does not need the parsed manifest still ran on the same bundle.
    assert [r.verdict for r in runs[CheckId.CHECKSUMS_SHA256].results] == [Verdict.PASS]
    assert [r.verdict for r in runs[CheckId.REPORT_FORMAT].results] == [Verdict.PASS]


def test_a_missing_token_leaves_the_time_checks_not_checked(synthetic: Path) -> None:
    runs = {run.check.id: run for run in _runs(synthetic)}
    [token] = runs[CheckId.TIMESTAMP_TOKEN].results
    assert token.verdict is Verdict.NOT_CHECKED
    [order] = runs[CheckId.TIME_ORDER].results
    assert (order.verdict, order.detail) == (
        Verdict.NOT_CHECKED,
        "needs the verified time-stamp: timestamp/token.tsr was not checked (timestamp.token)",
    )
    [chain] = runs[CheckId.ANCHOR_CHAIN].results
    assert chain.verdict is Verdict.NOT_CHECKED and "anchor/anchor.json" in chain.detail


def test_an_empty_bundle_fails_and_leaves_the_rest_not_checked(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    report = run_verification(empty, OFFLINE).report
    assert report.exit_code == 1
    failed = {c.check for c in report.failures}
    assert failed == {
        CheckId.BUNDLE_READ,
        CheckId.MANIFEST,
        CheckId.CHECKSUMS_SHA256,
        CheckId.CHECKSUMS_SM3,
    }
    assert not [c for c in report.checks if c.verdict is Verdict.PASS]


# --- every check says something ---------------------------------------------------


@pytest.fixture(scope="module")
def captured(
    session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    yield from capture_bundle(session_settings, tmp_path_factory.mktemp("runner-capture"))


def _silent(runs: list[CheckRun]) -> list[str]:
    return [run.check.id.value for run in runs if not run.results]


def test_every_check_reports_on_a_good_bundle_and_an_empty_one(
    captured: Captured, tmp_path: Path
) -> None:
    require_tool("ffmpeg")  # a capture without video has no video.frames line
    anchor = json.loads((captured.unpacked / bf.ANCHOR_JSON).read_bytes())
    token = captured.kit.get_item(captured.item_id).timestamp
    assert token is not None
    # The roots an expert who trusts this TSA, this chain and this exporting officer would give.
    trusted = VerifyOptions(
        rpc_url=anchor["rpc_url"],
        registry=anchor["contract_address"],
        chain_id=anchor["chain_id"],
        trust_roots_pem=token.trust_root_pem,
        signer_roots_pem=exporting_officer(captured.kit).certificate.public_bytes(Encoding.PEM),
    )
    good = _runs(captured.unpacked, trusted)
    assert [run.check for run in good] == list(BUNDLE_CHECKS)
    assert _silent(good) == []
    verdicts = {r.verdict for run in good for r in run.results}
    # The capture is not signed by an officer: only that is NOT CHECKED.
    assert verdicts <= {Verdict.PASS, Verdict.NOT_CHECKED}
    assert [r.check for run in good for r in run.results if r.verdict is not Verdict.PASS] == [
        CheckId.MANIFEST_SIGNATURE
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _silent(_runs(empty)) == []


def test_every_wacz_check_reports_on_a_good_wacz_and_an_empty_one(
    captured: Captured, tmp_path: Path
) -> None:
    wacz = captured.kit.export_wacz(
        captured.item_id, tmp_path / "item.wacz", exported_by=exporting_officer(captured.kit)
    )
    good = _runs(wacz)
    assert [run.check for run in good] == list(WACZ_CHECKS)
    assert _silent(good) == []
    assert not [r for run in good for r in run.results if r.verdict is Verdict.FAIL]
    # Almost empty: a datapackage that lists nothing, and no evidence bundle.
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "datapackage.json").write_text(json.dumps({"resources": []}), encoding="utf-8")
    runs = _runs(bare)
    assert _silent(runs) == []
    [link] = [r for run in runs for r in run.results if r.check == CheckId.WACZ_MANIFEST_LINK]
    assert link.verdict is Verdict.NOT_CHECKED
    assert link.detail.startswith("needs the digest of the bundled manifest: evidence/bundle.zip")


# --- a crashing check, and a new one ------------------------------------------------


def _boom(ctx: Context, out: Findings) -> None:
    out.add(CheckId.MANIFEST_FORMAT, bf.MANIFEST, Verdict.PASS, "found before the crash")
    raise ZeroDivisionError("a defect in the check itself")


def test_an_exception_inside_a_check_becomes_a_result(
    synthetic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashing = Check(
        CheckId.MANIFEST_FORMAT,
        _boom,
        bf.MANIFEST,
        needs=frozenset({Fact.DIGESTS}),
        provides=frozenset({Fact.MANIFEST_BYTES, Fact.MANIFEST}),
    )
    registry = tuple(crashing if c.id is CheckId.MANIFEST_FORMAT else c for c in BUNDLE_CHECKS)
    monkeypatch.setattr(runner, "BUNDLE_CHECKS", registry)
    report = run_verification(synthetic, OFFLINE).report
    mine = [c for c in report.checks if c.check == CheckId.MANIFEST_FORMAT]
    assert [(c.verdict, c.subject) for c in mine] == [
        (Verdict.PASS, bf.MANIFEST),  # what it found before crashing is kept
        (Verdict.FAIL, bf.MANIFEST),
    ]
    assert "ZeroDivisionError: a defect in the check itself" in mine[1].detail
    assert "Traceback" not in mine[1].detail and "\n" not in mine[1].detail
    assert report.exit_code == 1
    # The facts it never established leave its dependents NOT CHECKED, naming it.
    [artifacts] = [c for c in report.checks if c.check == CheckId.ARTIFACT_DIGEST]
    assert artifacts.verdict is Verdict.NOT_CHECKED
    assert artifacts.detail == "needs the parsed manifest: manifest.json failed (manifest.format)"
    # Every other check still ran.
    assert [c.verdict for c in report.checks if c.check == CheckId.CHECKSUMS_SM3] == [Verdict.PASS]


def test_a_new_check_is_one_registry_line(synthetic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def count_artifacts(ctx: Context, out: Findings) -> None:
        seen.append(ctx.manifest.item_id)
        count = len(ctx.manifest.artifacts)
        out.add(CheckId.WACZ_SIGNATURE, bf.MANIFEST, Verdict.PASS, f"{count} artifacts")

    # Any id the bundle registry does not use yet; a real check adds its own to ids.py.
    dummy = Check(
        CheckId.WACZ_SIGNATURE, count_artifacts, bf.MANIFEST, needs=frozenset({Fact.MANIFEST})
    )
    monkeypatch.setattr(runner, "BUNDLE_CHECKS", (dummy, *BUNDLE_CHECKS))
    report = run_verification(synthetic, OFFLINE).report
    mine = [c for c in report.checks if c.check == CheckId.WACZ_SIGNATURE]
    assert mine == [CheckResult(CheckId.WACZ_SIGNATURE, bf.MANIFEST, Verdict.PASS, "1 artifacts")]
    assert seen == ["00000000-0000-4000-8000-000000000001"]
    # Listed first, it still ran after the manifest was parsed (and before what follows it).
    order = [c.check for c in report.checks]
    assert order.index(CheckId.MANIFEST_FORMAT) < order.index(CheckId.WACZ_SIGNATURE)
    assert order.index(CheckId.WACZ_SIGNATURE) < order.index(CheckId.CHECKSUMS_SHA256)
    assert not report.failures


def test_a_check_may_provide_only_what_it_declares(
    synthetic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def sneaky(ctx: Context, out: Findings) -> None:
        ctx.provide(Fact.GEN_TIME, datetime.now(UTC))

    dummy = Check(CheckId.WACZ_SIGNATURE, sneaky, bf.TOKEN, needs=frozenset({Fact.DIGESTS}))
    monkeypatch.setattr(runner, "BUNDLE_CHECKS", (*BUNDLE_CHECKS[:2], dummy, *BUNDLE_CHECKS[2:]))
    report = run_verification(synthetic, OFFLINE).report
    [result] = [c for c in report.checks if c.check == CheckId.WACZ_SIGNATURE]
    assert result.verdict is Verdict.FAIL
    assert "provides GEN_TIME without declaring it" in result.detail
    # The undeclared fact was not taken: the time checks still lack a verified time-stamp.
    [order] = [c for c in report.checks if c.check == CheckId.TIME_ORDER]
    assert order.verdict is Verdict.NOT_CHECKED


# --- hostile JSON and a light import -----------------------------------------------------


def test_deeply_nested_json_is_a_verdict_not_a_crash(synthetic: Path, tmp_path: Path) -> None:
    """With web3 loaded the recursion limit is 100,000 and ``json.loads`` of a deep document
    overflows the C stack; every JSON member is parsed within bounds instead."""
    import anchoring.chain  # noqa: F401 - raises the recursion limit, as in a real run

    deep = b"[" * 200_000 + b"]" * 200_000
    bad = _copy(synthetic, tmp_path / "deep")
    (bad / bf.MANIFEST).write_bytes(deep)
    for member in (bf.CUSTODY_LOG, bf.ANCHOR_JSON):
        (bad / member).parent.mkdir(parents=True, exist_ok=True)
        (bad / member).write_bytes(deep)
    reseal_checksums(bad)
    report = run_verification(bad, OFFLINE).report
    for check in (CheckId.MANIFEST_FORMAT, CheckId.CUSTODY_CHAIN, CheckId.ANCHOR_RECORD):
        [result] = [c for c in report.checks if c.check == check]
        assert result.verdict is Verdict.FAIL, result
        assert "nested 200000 levels deep" in result.detail, result


def test_importing_the_verifier_loads_no_heavy_library() -> None:
    probe = (
        "import sys, evidence.verification\n"
        "heavy = ('web3', 'eth_account', 'warcio', 'playwright', 'pyhanko', 'anchoring.chain')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
