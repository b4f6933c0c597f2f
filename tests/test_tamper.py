"""Tamper tests: each forgery is caught and the failing file or field is named."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from anchoring.chain import ChainClient
from evidence import Settings, Verdict
from evidence.cli.output import print_verification
from evidence.model import officer_keys as officers
from evidence.model.hashing import digest_file
from evidence.model.manifest import canonical_json
from evidence.model.officer_keys import OfficerPrivateKey
from evidence.model.records import VerificationReport, isoformat
from evidence.model.signatures import sign_manifest
from evidence.verification import VerifyOptions, run_verification
from reports.bundle import layout as bf
from tests.test_verify_checks import (
    Captured,
    capture_bundle,
    copy_of,
    exporting_officer,
    failing,
    flip,
    reseal_checksums,
    reseal_index,
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


# --- manifest signatures by someone the expert does not trust ----------------

TRUSTED_ID, OTHER_ID = "11010001", "11010002"


@dataclass(frozen=True)
class Officer:
    key: OfficerPrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(Encoding.PEM)

    def sign(self, manifest: bytes) -> bytes:
        return sign_manifest(manifest, self.key, self.certificate, signing_time=datetime.now(UTC))


def _officer(name: str, enforcement_id: str) -> Officer:
    key = officers.generate_key()
    subject = officers.officer_subject(name, enforcement_id, "某市市场监督管理局")
    start = datetime.now(UTC) - timedelta(days=1)
    return Officer(key, officers.self_signed_certificate(key, subject, not_before=start))


@pytest.fixture(scope="module")
def signed(captured: Captured, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Officer]:
    """The bundle with the trusted officer's capture signature, and that officer."""
    trusted = _officer("张三", TRUSTED_ID)
    root = copy_of(captured.unpacked, tmp_path_factory.mktemp("signed") / "bundle")
    _put_signature(root, TRUSTED_ID, trusted.sign((root / bf.MANIFEST).read_bytes()), trusted)
    # Exported again with the signature: its exporting officer signs the new index.
    reseal_index(root, exporting_officer(captured.kit))
    return root, trusted


def _put_signature(root: Path, stem_id: str, der: bytes, signer: Officer) -> str:
    p7s, pem = bf.signature_members(bf.signature_name(1, stem_id))
    (root / p7s).parent.mkdir(exist_ok=True)
    (root / p7s).write_bytes(der)
    (root / pem).write_bytes(signer.pem)
    return p7s


def _signature_checks(report: VerificationReport) -> list[tuple[str, Verdict, str]]:
    return [
        (c.subject, c.verdict, c.detail) for c in report.checks if c.check == "manifest.signature"
    ]


def test_the_trusted_signature_passes(signed: tuple[Path, Officer]) -> None:
    root, trusted = signed
    options = VerifyOptions(offline=True, replay=False, signer_roots_pem=trusted.pem)
    report = run_verification(root, options).report
    assert not report.failures, report.failures
    [(_, verdict, detail)] = _signature_checks(report)
    assert verdict is Verdict.PASS and "张三" in detail and TRUSTED_ID in detail


def test_replaced_screenshot_and_manifest_re_signed_by_another_key(
    signed: tuple[Path, Officer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    root, trusted = signed
    other = _officer("李四", OTHER_ID)
    bad = copy_of(root, tmp_path / "resigned")
    shot = bad / "artifacts" / "screenshot.png"
    with Image.open(shot) as img:
        Image.new("RGB", img.size, (0, 0, 200)).save(shot)
    manifest = json.loads((bad / bf.MANIFEST).read_bytes())
    digests = digest_file(shot)
    for entry in manifest["artifacts"]:
        if entry["path"] == "artifacts/screenshot.png":
            entry.update(size=digests.size, sha256=digests.sha256, sm3=digests.sm3)
    (bad / bf.MANIFEST).write_bytes(canonical_json(manifest))
    # The forger drops the trusted officer's signature and signs the new manifest himself.
    shutil.rmtree(bad / bf.SIGNATURES_DIR)
    p7s = _put_signature(bad, OTHER_ID, other.sign((bad / bf.MANIFEST).read_bytes()), other)
    reseal_checksums(bad)

    options = VerifyOptions(offline=True, replay=False, signer_roots_pem=trusted.pem)
    report = run_verification(bad, options).report
    token = failing(report, "timestamp.token")
    assert token and "imprint" in token[0] and bf.MANIFEST in token[0]
    leaf = failing(report, "anchor.leaf")
    assert leaf and "not the manifest digest" in leaf[0]
    [(subject, verdict, detail)] = _signature_checks(report)
    assert subject == p7s and verdict is Verdict.FAIL
    assert "untrusted signer 李四 (enforcement ID 11010002)" in detail
    # The expert's human output names the signer on the signature's line.
    print_verification(report)
    lines = [line for line in capsys.readouterr().out.splitlines() if "manifest.signature" in line]
    assert len(lines) == 1 and "FAIL" in lines[0] and "李四" in lines[0] and p7s in lines[0]

    # Without the expert's signer roots the signature is intact but unproven: never a PASS.
    unrooted = run_verification(bad, VerifyOptions(offline=True, replay=False)).report
    [(_, verdict, detail)] = _signature_checks(unrooted)
    assert verdict is Verdict.UNTRUSTED and "李四" in detail and OTHER_ID in detail


def test_one_signature_replaced_by_another_keys_signature_over_the_same_manifest(
    captured: Captured, signed: tuple[Path, Officer], tmp_path: Path
) -> None:
    root, trusted = signed
    other = _officer("李四", OTHER_ID)
    bad = copy_of(root, tmp_path / "swapped")
    # Same file name (the trusted officer's slot), same manifest, another signer; and
    # exported so (the exporting officer re-signs the index): the manifest signature
    # check alone must catch it.
    p7s = _put_signature(bad, TRUSTED_ID, other.sign((bad / bf.MANIFEST).read_bytes()), other)
    reseal_index(bad, exporting_officer(captured.kit))
    options = VerifyOptions(offline=True, replay=False, signer_roots_pem=trusted.pem)
    report = run_verification(bad, options).report
    [(subject, verdict, detail)] = _signature_checks(report)
    assert subject == p7s and TRUSTED_ID in subject
    assert verdict is Verdict.FAIL and "untrusted signer 李四 (enforcement ID 11010002)" in detail
    # Everything else about the bundle is still sound: only the signature is named.
    assert [c.check for c in report.failures] == ["manifest.signature"]
