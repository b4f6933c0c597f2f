"""The forger's suite: a second data directory with its own TSA, chain and officers.

The genuine agency (home G) captures, signs, timestamps, anchors and exports
one item; its expert trusts G's material (``evidence trust add
this-machine``). A forger (home F) has its own development TSA, its own
anvil, its own officers, and may also use G's chain. Every forgery below must
get FAIL or UNTRUSTED (exit 1 or 2) under G's trust, never PASS; the genuine
bundle passes under G's trust and only under it.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from evidence import Settings, Toolkit, Verdict, VerificationReport
from evidence.model.capture_options import CaptureOptions, SafetyOptions
from evidence.services.demo_site import DemoSite
from evidence.verification import VerifyOptions
from reports.bundle import layout as bf
from tests.conftest import require, require_tool
from tests.helpers import capture_as_officer
from tests.test_verify_checks import reseal_checksums

PASSPHRASE = "forgery-suite-passphrase"
GENUINE_OFFICER = ("张三", "11010001")
NO_REPLAY = VerifyOptions(replay=False)


@dataclass(frozen=True)
class Party:
    kit: Toolkit
    home: Path
    bundle: Path
    item_id: str


def _settings(home: Path, **overrides: object) -> Settings:
    return Settings(
        home=home,
        database_url=f"sqlite:///{home / 'evidence.db'}",
        allow_private_targets=True,
        **overrides,  # type: ignore[arg-type]
    )


def _make(kit: Toolkit, site: DemoSite, path: str, out: Path, case: str) -> tuple[str, Path]:
    """Capture, sign, timestamp, anchor and export one item as the home's officer."""
    name, badge = GENUINE_OFFICER
    kit.create_case(case, "伪造测试案", exist_ok=True)
    try:
        kit.get_officer(badge)
    except Exception:
        kit.add_officer(name, badge, agency="某市市场监督管理局", passphrase=PASSPHRASE)
    kit.assign_officer(case, badge)
    local = CaptureOptions(safety=SafetyOptions(allow_private_targets=True))
    item = capture_as_officer(kit, case, site.url_for(path), local, officer=badge)
    kit.sign_item(item.id, badge, PASSPHRASE)
    kit.complete(item.id)
    signer = kit.report_signer(badge, PASSPHRASE)
    return item.id, kit.export(item.id, out, sign_with=signer)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Party, Party, Party]]:
    """The genuine item, a second genuine item (for swaps), and the forger's own item."""
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("anvil")
    require_tool("openssl")
    g_home = tmp_path_factory.mktemp("genuine")
    f_home = tmp_path_factory.mktemp("forger")
    out = tmp_path_factory.mktemp("bundles")
    with (
        Toolkit(_settings(g_home)) as genuine,
        Toolkit(_settings(f_home)) as forger,
        DemoSite() as site,
    ):
        g_id, g_bundle = _make(genuine, site, "/", out / "genuine.zip", "真-2026-001")
        o_id, o_bundle = _make(genuine, site, "/old-listing", out / "other.zip", "真-2026-001")
        f_id, f_bundle = _make(forger, site, "/", out / "forged.zip", "真-2026-001")
        genuine.trust.trust_this_machine()
        forger.trust.trust_this_machine()
        try:
            yield (
                Party(genuine, g_home, g_bundle, g_id),
                Party(genuine, g_home, o_bundle, o_id),
                Party(forger, f_home, f_bundle, f_id),
            )
        finally:
            from anchoring.anvil import LocalChain

            LocalChain(g_home).stop()
            LocalChain(f_home).stop()


def _expert(world: tuple[Party, Party, Party], bundle: Path) -> VerificationReport:
    """The genuine expert's verdict: G's data directory and trust configuration."""
    return world[0].kit.verify(bundle, options=NO_REPLAY)


def _never_passes(report: VerificationReport, *why: str) -> None:
    assert report.exit_code in (1, 2), report.checks
    bad = {c.check for c in report.checks if c.verdict in (Verdict.FAIL, Verdict.UNTRUSTED)}
    for check in why:
        assert check in bad, (check, [c for c in report.checks if c.verdict is not Verdict.PASS])


def _unpack(bundle: Path, into: Path) -> Path:
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(into)
    return into


def test_the_genuine_bundle_passes_under_the_genuine_trust_only(
    world: tuple[Party, Party, Party], tmp_path: Path
) -> None:
    genuine, _, forger = world
    report = genuine.kit.verify(genuine.bundle)  # with the replay: every check runs
    assert report.exit_code == 0, [c for c in report.checks if c.verdict is not Verdict.PASS]
    chain = next(c for c in report.checks if c.check == "anchor.chain")
    assert "DEVELOPMENT" in chain.detail and "asked http://127.0.0.1:" in chain.detail
    # Under the forger's trust the same genuine bundle is not a PASS ...
    assert forger.kit.verify(genuine.bundle, options=NO_REPLAY).exit_code in (1, 2)
    # ... nor under no trust at all.
    empty = tmp_path / "empty-trust.json"
    assert genuine.kit.verify(genuine.bundle, options=NO_REPLAY, trust_file=empty).exit_code == 2


def test_the_forgers_own_bundle_is_never_a_pass(world: tuple[Party, Party, Party]) -> None:
    forged = world[2].bundle
    _never_passes(_expert(world, forged), "timestamp.token", "manifest.signature")
    # The forger, trusting himself, does get a PASS: trust is the expert's decision.
    own = world[2].kit.verify(forged, options=NO_REPLAY)
    assert not own.failures and not own.untrusted, own.checks


def test_altered_content_with_recomputed_checksums_fails(
    world: tuple[Party, Party, Party], tmp_path: Path
) -> None:
    root = _unpack(world[0].bundle, tmp_path / "b")
    shot = next((root / "artifacts").glob("*.png"))
    data = bytearray(shot.read_bytes())
    data[len(data) // 2] ^= 1
    shot.write_bytes(bytes(data))
    reseal_checksums(root)
    _never_passes(_expert(world, root), "artifact.digest")


def test_a_token_spliced_from_the_forgers_tsa_is_untrusted(
    world: tuple[Party, Party, Party], tmp_path: Path
) -> None:
    """The forger timestamps the genuine manifest with his own TSA and ships his root."""
    root = _unpack(world[0].bundle, tmp_path / "b")
    manifest_digest = hashlib.sha256((root / bf.MANIFEST).read_bytes()).digest()
    token = world[2].kit.timestamping.request_one(manifest_digest, "the genuine manifest")
    (root / bf.TOKEN).write_bytes(token.response_der)
    from anchoring.devtsa import DevelopmentTSA

    (root / bf.TSA_ROOT).write_bytes(DevelopmentTSA(world[2].home).ca_certificate_pem)
    reseal_checksums(root)
    report = _expert(world, root)
    _never_passes(report)
    token_line = next(c for c in report.checks if c.check == "timestamp.token")
    assert token_line.verdict is Verdict.UNTRUSTED
    assert "only against the root the bundle ships" in token_line.detail


def test_a_swapped_report_fails(world: tuple[Party, Party, Party], tmp_path: Path) -> None:
    root = _unpack(world[0].bundle, tmp_path / "b")
    other = _unpack(world[1].bundle, tmp_path / "o")
    shutil.copy(other / bf.REPORT, root / bf.REPORT)
    reseal_checksums(root)
    _never_passes(_expert(world, root), "report.identity")


def test_rewritten_custody_fails(world: tuple[Party, Party, Party], tmp_path: Path) -> None:
    root = _unpack(world[0].bundle, tmp_path / "b")
    log = root / bf.CUSTODY_LOG
    log.write_text(log.read_text().replace("2026", "2025"))
    reseal_checksums(root)
    _never_passes(_expert(world, root))


def test_flipped_flags_change_no_verdict(world: tuple[Party, Party, Party], tmp_path: Path) -> None:
    """ "development": false in the anchor and timestamp records silences nothing."""
    root = _unpack(world[0].bundle, tmp_path / "b")
    for name in (bf.ANCHOR_JSON, bf.TIMESTAMP_JSON):
        path = root / name
        path.write_text(path.read_text().replace('"development": true', '"development": false'))
    reseal_checksums(root)
    report = _expert(world, root)
    _never_passes(report)
    chain = next(c for c in report.checks if c.check == "anchor.chain")
    assert "DEVELOPMENT" in chain.detail


def test_extra_files_fail(world: tuple[Party, Party, Party], tmp_path: Path) -> None:
    root = _unpack(world[0].bundle, tmp_path / "b")
    (root / "notes.txt").write_text("价格 ¥1", encoding="utf-8")
    (root / "report" / "appendix.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    reseal_checksums(root)
    report = _expert(world, root)
    _never_passes(report)
    failed = {c.subject for c in report.failures}
    assert {"notes.txt", "report/appendix.pdf"} <= failed


def test_dropped_signatures_are_never_a_pass(
    world: tuple[Party, Party, Party], tmp_path: Path
) -> None:
    root = _unpack(world[0].bundle, tmp_path / "b")
    for signature in root.rglob("*.p7s"):
        signature.unlink()
    reseal_checksums(root)
    _never_passes(_expert(world, root))


def test_the_forgers_own_registry_on_the_genuine_chain_fails(
    world: tuple[Party, Party, Party], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The forger anchors on the genuine chain, in a registry he deployed himself."""
    genuine = world[0]
    rpc = genuine.kit.chains.local_chain_rpc_url()
    home = tmp_path_factory.mktemp("forger-on-genuine-chain")
    # anvil's second well-known account: funded on every anvil, known to everybody.
    key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
    settings = _settings(home, rpc_url=rpc, chain_private_key=key)
    with Toolkit(settings) as forger, DemoSite() as site:
        registry = forger.deploy_registry()
        item_id, bundle = _make(forger, site, "/", home / "forged.zip", "真-2026-001")
        assert forger.get_item(item_id).anchor is not None
    report = _expert(world, bundle)
    chain = next(c for c in report.checks if c.check == "anchor.registry")
    assert registry in chain.detail
    _never_passes(report, "anchor.registry")


def test_the_public_anvil_key_cannot_anchor_in_the_genuine_registry(
    world: tuple[Party, Party, Party], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """anvil's first well-known key, the one every anvil funds, aims at the genuine registry."""
    genuine = world[0]
    identity = genuine.kit.local_chain_identity()
    home = tmp_path_factory.mktemp("forger-with-public-key")
    key = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    settings = _settings(
        home, rpc_url=identity.rpc_url, chain_private_key=key, registry_address=identity.registry
    )
    with Toolkit(settings) as forger, DemoSite() as site:
        _, bundle = _make(forger, site, "/", home / "forged.zip", "真-2026-001")
    report = _expert(world, bundle)
    _never_passes(report)
    assert not any(c.check == "anchor.chain" and c.verdict is Verdict.PASS for c in report.checks)
