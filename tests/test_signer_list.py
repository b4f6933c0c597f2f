"""``signers.txt`` must name the certificate inside every signature it lists (signers.list).

The file is sealed by the sums and the signed index, so a forger cannot edit it;
what this check catches is a writer that lists the wrong certificate, or leaves
a signature out. Bundles are built through the writer API with a real Ed25519
index signature (tests/test_bundle_index.py) and verified offline.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from evidence.model.records import CheckResult, Verdict
from evidence.verification import VerifyOptions, run_verification
from evidence.verification.ids import CheckId
from evidence.verification.signer_list import parse_signer_list
from reports.bundle import layout as bf
from tests.test_bundle_index import synthetic_signer
from tests.test_hostile_bundles import WHEN, make_bundle

OFFLINE = VerifyOptions(offline=True, replay=False)


def _signer_list_results(bundle: Path) -> list[CheckResult]:
    report = run_verification(bundle, OFFLINE).report
    return [c for c in report.checks if c.check == CheckId.SIGNERS_LIST]


def test_a_bundle_whose_list_names_every_signature_passes(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "good.zip", {"a.bin": 1024})
    [result] = _signer_list_results(bundle)
    assert result.verdict is Verdict.PASS, result
    assert result.subject == bf.SIGNERS
    assert "each of the bundle's 1 signatures" in result.detail


def test_a_list_naming_another_certificate_fails_naming_signers_txt(tmp_path: Path) -> None:
    # The writer is told the wrong officer: the index is signed by one, listed as another.
    seal, _right = synthetic_signer(WHEN)
    _other_seal, wrong = synthetic_signer(WHEN)
    bundle = make_bundle(tmp_path / "wrong.zip", {"a.bin": 1024}, index_signer=(seal, wrong))
    results = _signer_list_results(bundle)
    assert results and all(r.verdict is Verdict.FAIL for r in results), results
    assert all(r.subject == bf.SIGNERS for r in results)
    listed = parse_signer_list(zipfile.ZipFile(bundle).read(bf.SIGNERS).decode())
    wrong_fingerprint = listed[bf.SIGNED_INDEX_SIGNATURE].fingerprint
    [differs] = [r for r in results if "fingerprint" in r.detail]
    assert bf.SIGNED_INDEX_SIGNATURE in differs.detail
    assert f"the fingerprint {wrong_fingerprint}" in differs.detail
    # Everything else about the bundle holds: only the list is wrong.
    report = run_verification(bundle, OFFLINE).report
    assert {c.check for c in report.failures} == {CheckId.SIGNERS_LIST}


def test_a_signature_the_list_leaves_out_fails(tmp_path: Path) -> None:
    seal, _certificate = synthetic_signer(WHEN)
    bundle = make_bundle(tmp_path / "unlisted.zip", {"a.bin": 1024}, index_signer=(seal, None))
    [result] = _signer_list_results(bundle)
    assert result.verdict is Verdict.FAIL
    assert f"{bf.SIGNED_INDEX_SIGNATURE} is signed with the certificate SHA-256" in result.detail
    assert "does not list that signature" in result.detail


def test_a_listed_signature_the_bundle_lacks_fails(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "good.zip", {"a.bin": 1024})
    folder = tmp_path / "folder"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(folder)
    (folder / bf.SIGNED_INDEX_SIGNATURE).unlink()
    [result] = _signer_list_results(folder)
    assert result.verdict is Verdict.FAIL
    assert f"lists a signature at {bf.SIGNED_INDEX_SIGNATURE}" in result.detail


def test_the_parser_reads_each_block_and_keeps_an_incomplete_one() -> None:
    text = (
        "header\n[1] role\n    签名位置 / Signature: signatures/1-X.p7s\n"
        "    sha256 Fingerprint=AB:CD\n    issuer=C = CN, CN = Root\n\n"
        "[2] role\n    签名位置 / Signature: report/report.pdf (Signature1)\n"
    )
    listed = parse_signer_list(text)
    assert listed["signatures/1-X.p7s"].fingerprint == "AB:CD"
    assert listed["signatures/1-X.p7s"].issuer == "C = CN, CN = Root"
    assert listed["report/report.pdf (Signature1)"].fingerprint == ""
