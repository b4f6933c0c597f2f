"""Tamper tests: each forgery is caught and the failing file or field is named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchoring.chain import ChainClient
from evidence import Settings
from evidence import bundle_format as bf
from evidence.hashing import digest_file
from evidence.manifest import canonical_json
from evidence.records import isoformat
from evidence.verify import VerifyOptions, run_verification
from tests.test_verify_checks import (
    Captured,
    capture_bundle,
    copy_of,
    failing,
    flip,
    reseal_checksums,
)

pytestmark = pytest.mark.slow

# anvil's second published development account: "someone else".
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


@pytest.fixture(scope="module")
def captured(
    session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    yield from capture_bundle(session_settings, tmp_path_factory.mktemp("tamper"))


def _anchor(root: Path) -> dict[str, object]:
    raw: dict[str, object] = json.loads((root / bf.ANCHOR_JSON).read_bytes())
    return raw


def test_a_flipped_byte_in_a_warc_record_names_the_record(
    captured: Captured, tmp_path: Path
) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "bad")
    warc = bad / "artifacts" / "capture.warc"
    data = warc.read_bytes()
    flip(warc, data.index(b"\r\n\r\n", data.index(b"text/css")) + 44)
    report = run_verification(bad, VerifyOptions(offline=True, replay=False)).report
    assert any(c.subject == "artifacts/capture.warc" for c in report.failures)
    records = failing(report, "warc.record")
    assert records and "<urn:uuid:" in records[0] and "digest failed" in records[0]


def test_replaced_screenshot_with_recomputed_manifest(captured: Captured, tmp_path: Path) -> None:
    from PIL import Image

    bad = copy_of(captured.unpacked, tmp_path / "forged")
    shot = bad / "artifacts" / "screenshot.png"
    with Image.open(shot) as img:
        Image.new("RGB", img.size, (200, 0, 0)).save(shot)
    manifest = json.loads((bad / bf.MANIFEST).read_bytes())
    digests = digest_file(shot)
    for entry in manifest["artifacts"]:
        if entry["path"] == "artifacts/screenshot.png":
            entry.update(size=digests.size, sha256=digests.sha256, sm3=digests.sm3)
    (bad / bf.MANIFEST).write_bytes(canonical_json(manifest))
    reseal_checksums(bad)
    report = run_verification(bad, VerifyOptions(offline=True, replay=False)).report
    token = failing(report, "timestamp.token")
    assert token and "imprint" in token[0] and bf.MANIFEST in token[0]
    assert failing(report, "anchor.leaf")  # the anchored leaf is the old manifest digest


def test_a_token_for_another_hash(captured: Captured, tmp_path: Path) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "other")
    manifest = bad / bf.MANIFEST
    manifest.write_bytes(manifest.read_bytes().replace(b'"sealed_at":"2', b'"sealed_at":"1'))
    reseal_checksums(bad)
    report = run_verification(bad, VerifyOptions(offline=True, replay=False)).report
    token = failing(report, "timestamp.token")
    assert token and "imprint" in token[0] and bf.MANIFEST in token[0]


def test_a_root_anchored_in_someone_elses_registry(captured: Captured, tmp_path: Path) -> None:
    ours = _anchor(captured.unpacked)
    rpc = str(ours["rpc_url"])
    other = ChainClient.connect(rpc, OTHER_KEY, development=True)
    other.deploy_registry()
    receipt = other.anchor_root(bytes.fromhex(str(ours["root"])[2:]), "someone else")
    bad = copy_of(captured.unpacked, tmp_path / "elsewhere")
    forged = {
        **ours,
        "contract_address": receipt.contract_address,
        "transaction_hash": receipt.transaction_hash,
        "block_number": receipt.block_number,
        "block_hash": receipt.block_hash,
        "block_time": isoformat(receipt.block_time),
        "submitter": receipt.submitter,
    }
    (bad / bf.ANCHOR_JSON).write_bytes(canonical_json(forged))
    reseal_checksums(bad)
    trusted = VerifyOptions(
        rpc_url=rpc,
        registry=str(ours["contract_address"]),
        replay=False,
        block_time_tolerance_s=10**9,
    )
    report = run_verification(bad, trusted).report
    registry = failing(report, "anchor.registry")
    assert registry and "contract mismatch" in registry[0] and "not our contract" in registry[0]
    assert failing(report, "anchor.chain")  # the trusted registry never saw that transaction


def test_a_transaction_on_another_chain(captured: Captured, tmp_path: Path) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "chain")
    forged = {**_anchor(bad), "chain_id": 1}
    (bad / bf.ANCHOR_JSON).write_bytes(canonical_json(forged))
    reseal_checksums(bad)
    rpc = str(_anchor(captured.unpacked)["rpc_url"])
    report = run_verification(bad, VerifyOptions(rpc_url=rpc, replay=False)).report
    chain = failing(report, "anchor.chain")
    assert chain and "chain id 31337 differs from the recorded 1" in chain[0]
    trusted = run_verification(
        bad, VerifyOptions(offline=True, chain_id=31337, replay=False)
    ).report
    assert failing(trusted, "anchor.chain_id")

