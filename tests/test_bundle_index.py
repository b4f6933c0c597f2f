"""The exporting officer's signed index: every file of a bundle is bound, or it FAILs.

One real item (DemoSite, Chromium, the development TSA, anvil) is exported by
an officer of this toolkit; a second item gives "another item's report". A
forger's edits are made on unpacked copies, with SHA256SUMS/SM3SUMS recomputed
as a forger would, and each must fail naming the file.
The VERIFY.txt commands for the index are run as they stand under /bin/sh.

Also holds :func:`synthetic_sealer`, which the writer's own tests use.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from evidence import Settings, Toolkit, Verdict
from evidence.model import officer_keys
from evidence.model.capture_options import CaptureOptions, SafetyOptions
from evidence.model.errors import ReportError
from evidence.model.hashing import digest_file
from evidence.model.records import CheckResult, ReportSigner, VerificationReport
from evidence.model.signatures import sign_detached
from evidence.services.demo_site import DemoSite
from evidence.verification import VerifyOptions, run_verification
from reports.bundle import layout as bf
from reports.bundle.guides import index_steps
from reports.bundle.writer import write_bundle
from tests.cli_support import run, usage_error
from tests.conftest import require, require_tool
from tests.helpers import capture_as_officer
from tests.test_verify_checks import copy_of, custody_lines, rewrite_sums, write_custody

CASE = "测试-2026-INDEX"
PASSPHRASE = "index test passphrase"
EXPORTER = ("钱七", "T-INDEX-1")
STRANGER = ("孙八", "T-INDEX-2")
"""An officer of this toolkit too, but not among the expert's signer roots."""


def synthetic_sealer(signing_time: datetime) -> bf.IndexSealer:
    """A sealer for synthetic bundles: a fresh Ed25519 officer, no TSA (so no token).

    Ed25519 signs deterministically: the same sealer gives the same bytes twice.
    """
    return synthetic_signer(signing_time)[0]


def synthetic_signer(signing_time: datetime) -> tuple[bf.IndexSealer, bytes]:
    """:func:`synthetic_sealer` and its officer's certificate (PEM), which a bundle's
    ``signers.txt`` must name as the index signer (``BundleInput.index_signer_pem``)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    key = officer_keys.generate_key(officer_keys.ED25519)
    subject = officer_keys.officer_subject("测试导出员", "T-SYNTHETIC-1", "测试局")
    cert = officer_keys.self_signed_certificate(
        key, subject, not_before=signing_time - timedelta(days=1)
    )

    def seal(index: bytes) -> bf.IndexSeal:
        return bf.IndexSeal(sign_detached(index, key, cert, signing_time=signing_time), None)

    return seal, cert.public_bytes(Encoding.PEM)


@dataclass(frozen=True)
class Exported:
    kit: Toolkit
    item_id: str
    bundle: Path
    unpacked: Path
    exporter: ReportSigner
    stranger: ReportSigner
    signer_roots: bytes
    tsa_roots: bytes
    other_report: Path
    """The genuine report of another item of the same case."""

    def trusted(self) -> VerifyOptions:
        """What an expert who holds the agency's and the TSA's roots passes."""
        return VerifyOptions(
            signer_roots_pem=self.signer_roots,
            trust_roots_pem=self.tsa_roots,
            offline=True,
            replay=False,
        )


@pytest.fixture(scope="module")
def exported(
    session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Exported]:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("openssl")
    out = tmp_path_factory.mktemp("index")
    with Toolkit(session_settings) as kit, DemoSite() as site:
        kit.create_case(CASE, "签名索引测试案", exist_ok=True)
        local = CaptureOptions(safety=SafetyOptions(allow_private_targets=True))
        item = capture_as_officer(kit, CASE, site.url_for("/old-listing"), local)
        other = capture_as_officer(kit, CASE, site.url_for("/old-listing"), local)
        for officer in (EXPORTER, STRANGER):
            kit.add_officer(*officer, passphrase=PASSPHRASE)
        kit.complete(item.id)
        kit.complete(other.id)
        exporter = kit.report_signer(EXPORTER[1], PASSPHRASE)
        # As `evidence export ITEM --sign T-INDEX-1`: the report and the index are signed.
        bundle = kit.export(item.id, out / "bundle.zip", sign_with=exporter)
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(out / "unpacked")
        token = kit.get_item(item.id).timestamp
        assert token is not None
        yield Exported(
            kit=kit,
            item_id=item.id,
            bundle=bundle,
            unpacked=out / "unpacked",
            exporter=exporter,
            stranger=kit.report_signer(STRANGER[1], PASSPHRASE),
            signer_roots=exporter.certificate.public_bytes(Encoding.PEM),
            tsa_roots=token.trust_root_pem,
            other_report=kit.report(other.id, out / "other.pdf"),
        )


def _verify(root: Path, options: VerifyOptions) -> VerificationReport:
    return run_verification(root, options).report


def _index(report: VerificationReport, check: str) -> list[CheckResult]:
    return [c for c in report.checks if c.check == check]


def _only(report: VerificationReport, check: str) -> CheckResult:
    [result] = _index(report, check)
    return result


def _failing_members(report: VerificationReport) -> dict[str, str]:
    return {c.subject: c.detail for c in report.failures if c.check == "index.member"}


# --- the genuine bundle -----------------------------------------------------------


def test_the_index_lists_every_other_file_sorted_with_both_digests_and_size(
    exported: Exported,
) -> None:
    root = exported.unpacked
    text = (root / bf.SIGNED_INDEX).read_text(encoding="utf-8")
    assert text.startswith(bf.INDEX_HEADER)
    entries = bf.parse_index(text.encode("utf-8"))
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert set(entries) == files - bf.SIGNED_INDEX_FILES
    assert {bf.CHECKSUMS, bf.SM3_CHECKSUMS, bf.REPORT, bf.INSTRUCTIONS, bf.ANCHOR_JSON} <= set(
        entries
    )
    assert list(entries) == sorted(entries)
    report = entries[bf.REPORT]
    data = (root / bf.REPORT).read_bytes()
    assert (report.sha256, report.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert (root / bf.SIGNED_INDEX_TOKEN).is_file()


def test_a_genuine_bundle_passes_every_index_check(exported: Exported) -> None:
    for where in (exported.bundle, exported.unpacked):
        report = _verify(where, exported.trusted())
        assert not report.failures, report.failures
        for check in ("index.member", "index.signature", "index.timestamp"):
            assert _only(report, check).verdict is Verdict.PASS, _only(report, check)
        assert EXPORTER[1] in _only(report, "index.signature").detail
        token = _only(report, "index.timestamp").detail
        assert f"over {bf.SIGNED_INDEX_SIGNATURE}" in token and "root you trust" in token


def test_without_the_experts_roots_the_index_rests_on_the_bundles_word(
    exported: Exported,
) -> None:
    report = _verify(exported.unpacked, VerifyOptions(offline=True, replay=False))
    signature = _only(report, "index.signature")
    assert signature.verdict is Verdict.UNTRUSTED
    fingerprint = officer_keys.fingerprint(exported.exporter.certificate)
    assert EXPORTER[0] in signature.detail and EXPORTER[1] in signature.detail
    assert fingerprint in signature.detail
    token = _only(report, "index.timestamp")
    assert token.verdict is Verdict.UNTRUSTED
    assert bf.TSA_ROOT in token.detail
    assert report.exit_code == 2


def test_the_verify_txt_commands_check_the_index_under_bin_sh(
    exported: Exported, tmp_path: Path
) -> None:
    roots = _root_files(exported, tmp_path)
    signature, token, sha256, sm3, extra = _run_index_commands(exported.unpacked, roots)
    assert signature.returncode == 0 and "Verification successful" in signature.stderr
    assert token.returncode == 0 and "Verification: OK" in token.stdout, token.stderr
    listed = len(bf.parse_index((exported.unpacked / bf.SIGNED_INDEX).read_bytes()))
    assert sha256.returncode == 0 and sha256.stdout.count(": OK\n") == listed, sha256.stdout
    assert sm3.stdout.count(": OK\n") == listed and "FAILED" not in sm3.stdout, sm3.stdout
    assert extra.returncode == 0 and extra.stdout == "", extra.stdout


def test_the_verify_txt_commands_catch_what_the_verifier_catches(
    exported: Exported, tmp_path: Path
) -> None:
    roots = _root_files(exported, tmp_path)
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    shutil.copyfile(exported.other_report, bad / bf.REPORT)
    (bad / "notes.txt").write_text("added later\n", encoding="utf-8")
    _reseal(bad)
    _, _, sha256, sm3, extra = _run_index_commands(bad, roots)
    assert sha256.returncode != 0 and f"{bf.REPORT}: FAILED" in sha256.stdout
    assert f"{bf.REPORT}: FAILED" in sm3.stdout
    assert extra.stdout == "notes.txt\n"
    assert f"{bf.CHECKSUMS}: FAILED" in sha256.stdout
    ours = _failing_members(_verify(bad, exported.trusted()))
    assert set(ours) == {bf.REPORT, "notes.txt", *SUMS}
    # An index edited to match: the stock signature check fails, as ours does.
    (bad / "notes.txt").unlink()
    edited = _reseal(bad, relist=(bf.REPORT,))
    signature, _, sha256, *_ = _run_index_commands(edited, roots)
    assert sha256.returncode == 0
    assert signature.returncode != 0 and "Verification successful" not in signature.stderr
    assert _only(_verify(edited, exported.trusted()), "index.signature").verdict is Verdict.FAIL


def _root_files(exported: Exported, tmp_path: Path) -> dict[str, str]:
    """The expert's own root files, outside the bundle folder."""
    signer, tsa = tmp_path / "officer-roots.pem", tmp_path / "tsa-roots.pem"
    signer.write_bytes(exported.signer_roots)
    tsa.write_bytes(exported.tsa_roots)
    return {"SIGNER_ROOTS": str(signer), "TSA_ROOTS": str(tsa)}


def _run_index_commands(
    root: Path, roots: dict[str, str]
) -> list[subprocess.CompletedProcess[str]]:
    """VERIFY.txt step 2b, block by block, as /bin/sh runs it in the bundle folder.

    The block that names the root files is replaced by the environment: the
    expert points the two variables at their own files.
    """
    text = (root / bf.INSTRUCTIONS).read_text(encoding="utf-8")
    assert "\n".join(index_steps()) in text
    blocks = _command_blocks(index_steps())
    assert blocks[0] == [
        "SIGNER_ROOTS=/path/to/officer-or-agency-ca.pem",
        "TSA_ROOTS=/path/to/tsa-roots.pem",
    ]
    env = {**os.environ, **roots, "LC_ALL": "C"}
    return [
        subprocess.run(
            ["/bin/sh", "-c", "\n".join(block)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for block in blocks[1:]
    ]


def _command_blocks(lines: list[str]) -> list[list[str]]:
    """Runs of command lines (five spaces in), each block one shell snippet."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.startswith("     "):
            current.append(line[5:])
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _reseal(root: Path, *, relist: tuple[str, ...] = ()) -> Path:
    """Recompute SHA256SUMS and SM3SUMS as the writer does, as a forger would.

    ``relist`` files (and then the sums too) get their index lines rewritten to
    what they now hold: a forger's whole work short of the officer's key.
    """
    rewrite_sums(root)
    if relist:
        index = root / bf.SIGNED_INDEX
        entries = bf.parse_index(index.read_bytes())
        for name in (*relist, bf.CHECKSUMS, bf.SM3_CHECKSUMS):
            d = digest_file(root / name)
            entries[name] = bf.IndexEntry(name, d.sha256, d.sm3, d.size)
        index.write_bytes(bf.index_to_text(entries.values()))
    return root


SUMS = {bf.CHECKSUMS, bf.SM3_CHECKSUMS}
"""A forger's recomputed sums are changed files too: they are named with the rest."""


# --- every unbound or changed file fails, named -----------------------------------


@pytest.mark.parametrize("extra", ["notes.txt", "report/extra.pdf", "signed/notes.txt"])
def test_an_extra_file_outside_artifacts_fails_by_name(
    exported: Exported, tmp_path: Path, extra: str
) -> None:
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    (bad / extra).write_bytes(b"%PDF-1.7\n%%EOF\n")
    _reseal(bad)
    report = _verify(bad, exported.trusted())
    failing = _failing_members(report)
    assert set(failing) == {extra, *SUMS}
    assert f"not listed in {bf.SIGNED_INDEX}" in failing[extra]
    assert not [c for c in report.failures if c.check.startswith("checksums.")]


def test_an_extra_file_under_artifacts_keeps_its_own_readable_result(
    exported: Exported, tmp_path: Path
) -> None:
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    (bad / "artifacts" / "planted.png").write_bytes(b"\x89PNG planted")
    _reseal(bad)
    report = _verify(bad, exported.trusted())
    extra = [c for c in report.failures if c.check == "artifact.extra"]
    assert [c.subject for c in extra] == ["artifacts/planted.png"]
    assert "manifest does not list" in extra[0].detail
    assert set(_failing_members(report)) == {"artifacts/planted.png", *SUMS}


@pytest.mark.parametrize(
    "member", [bf.REPORT, bf.CUSTODY_LOG, bf.ANCHOR_JSON, bf.INSTRUCTIONS, bf.TSA_ROOT]
)
def test_a_changed_metadata_file_fails_by_name(
    exported: Exported, tmp_path: Path, member: str
) -> None:
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    target = bad / member
    if member == bf.REPORT:
        shutil.copyfile(exported.other_report, target)  # another item's genuine report
    elif member == bf.CUSTODY_LOG:
        write_custody(bad, custody_lines(3))  # a well-formed log, written from scratch
    elif member == bf.ANCHOR_JSON:
        edited = target.read_bytes().replace(b'"development":true', b'"development":false')
        assert edited != target.read_bytes()
        target.write_bytes(edited)
    else:
        target.write_bytes(target.read_bytes() + b"\n# appended by someone else\n")
    _reseal(bad)
    report = _verify(bad, exported.trusted())
    failing = _failing_members(report)
    assert set(failing) == {member, *SUMS}, report.failures
    assert "changed since the bundle index was signed" in failing[member]
    assert "SHA-256" in failing[member] and "SM3" in failing[member]
    assert not [c for c in report.failures if c.check.startswith("checksums.")]


def test_a_listed_file_that_is_missing_fails_by_name(exported: Exported, tmp_path: Path) -> None:
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    (bad / bf.README).unlink()
    _reseal(bad)
    failing = _failing_members(_verify(bad, exported.trusted()))
    assert set(failing) == {bf.README, *SUMS}
    assert failing[bf.README] == f"listed in {bf.SIGNED_INDEX} but missing from the bundle"


def test_without_an_index_every_unbound_file_fails_by_name(
    exported: Exported, tmp_path: Path
) -> None:
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    shutil.rmtree(bad / "signed")
    _reseal(bad)
    report = _verify(bad, exported.trusted())
    failing = _failing_members(report)
    manifest = bf.parse_index((exported.unpacked / bf.SIGNED_INDEX).read_bytes())
    sealed = {n for n in manifest if n == bf.MANIFEST or n.startswith("artifacts/")}
    assert set(failing) == set(manifest) - sealed
    assert {bf.REPORT, bf.CHECKSUMS, bf.INSTRUCTIONS, bf.README, bf.INDEX} <= set(failing)
    for detail in failing.values():
        assert "neither sealed in the manifest nor listed in a signed bundle index" in detail
    for check in ("index.signature", "index.timestamp"):
        assert _only(report, check).verdict is Verdict.NOT_CHECKED


def test_a_malformed_index_fails_and_binds_nothing(exported: Exported, tmp_path: Path) -> None:
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    index = bad / bf.SIGNED_INDEX
    lines = index.read_text(encoding="utf-8").splitlines(keepends=True)
    index.write_text("".join([lines[0], lines[2], lines[1], *lines[3:]]), encoding="utf-8")
    report = _verify(bad, exported.trusted())
    member = _only(report, "index.member")
    assert (member.subject, member.verdict) == (bf.SIGNED_INDEX, Verdict.FAIL)
    assert "out of order" in member.detail
    assert _only(report, "index.signature").verdict is Verdict.FAIL


# --- the signature and the token ---------------------------------------------------


def test_an_edited_index_fails_its_signature(exported: Exported, tmp_path: Path) -> None:
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    shutil.copyfile(exported.other_report, bad / bf.REPORT)
    _reseal(bad, relist=(bf.REPORT,))
    report = _verify(bad, exported.trusted())
    assert not _failing_members(report)
    signature = _only(report, "index.signature")
    assert (signature.subject, signature.verdict) == (bf.SIGNED_INDEX_SIGNATURE, Verdict.FAIL)
    assert "digest mismatch" in signature.detail and bf.SIGNED_INDEX in signature.detail
    # The token covers the signature file, which did not change: it still holds.
    assert _only(report, "index.timestamp").verdict is Verdict.PASS


def test_an_index_re_signed_by_an_untrusted_officer_is_untrusted(
    exported: Exported, tmp_path: Path
) -> None:
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    shutil.copyfile(exported.other_report, bad / bf.REPORT)
    _reseal(bad, relist=(bf.REPORT,))
    stranger = exported.stranger
    assert isinstance(stranger.key, officer_keys.OfficerPrivateKey)
    (bad / bf.SIGNED_INDEX_SIGNATURE).write_bytes(
        sign_detached(
            (bad / bf.SIGNED_INDEX).read_bytes(),
            stranger.key,
            stranger.certificate,
            signing_time=exported.kit.clock(),
        )
    )
    report = _verify(bad, exported.trusted())
    assert not _failing_members(report)
    signature = _only(report, "index.signature")
    assert signature.verdict is Verdict.UNTRUSTED
    assert STRANGER[0] in signature.detail and STRANGER[1] in signature.detail
    assert officer_keys.fingerprint(stranger.certificate) in signature.detail
    assert "does not chain to the signer roots given" in signature.detail
    # The old token is over the old signature file: re-signing cannot keep the time.
    token = _only(report, "index.timestamp")
    assert token.verdict is Verdict.FAIL and bf.SIGNED_INDEX_SIGNATURE in token.detail


def test_a_missing_signature_fails(exported: Exported, tmp_path: Path) -> None:
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    (bad / bf.SIGNED_INDEX_SIGNATURE).unlink()
    report = _verify(bad, exported.trusted())
    signature = _only(report, "index.signature")
    assert (signature.subject, signature.verdict) == (bf.SIGNED_INDEX_SIGNATURE, Verdict.FAIL)
    assert "missing" in signature.detail
    assert _only(report, "index.timestamp").verdict is Verdict.FAIL


def test_a_removed_token_is_not_checked(exported: Exported, tmp_path: Path) -> None:
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    (bad / bf.SIGNED_INDEX_TOKEN).unlink()
    report = _verify(bad, exported.trusted())
    token = _only(report, "index.timestamp")
    assert (token.subject, token.verdict) == (bf.SIGNED_INDEX_TOKEN, Verdict.NOT_CHECKED)
    assert "no time-stamp token" in token.detail
    assert not report.failures and report.exit_code == 2


def test_a_token_from_another_tsa(exported: Exported, tmp_path: Path) -> None:
    from anchoring.devtsa import DevelopmentTSA
    from anchoring.tsa import build_timestamp_request

    other = DevelopmentTSA(tmp_path / "other-tsa-home")
    bad = copy_of(exported.unpacked, tmp_path / "bad")
    digest = hashlib.sha256((bad / bf.SIGNED_INDEX_SIGNATURE).read_bytes()).digest()
    query = build_timestamp_request(digest, nonce=secrets.randbits(63))
    (bad / bf.SIGNED_INDEX_TOKEN).write_bytes(other.reply(query))
    # Against the TSA roots the expert trusts: the chain fails.
    token = _only(_verify(bad, exported.trusted()), "index.timestamp")
    assert token.verdict is Verdict.FAIL and "the TSA roots you trust" in token.detail
    # Without them, against the bundle's own root: it fails too.
    untrusting = VerifyOptions(signer_roots_pem=exported.signer_roots, offline=True, replay=False)
    assert _only(_verify(bad, untrusting), "index.timestamp").verdict is Verdict.FAIL
    # A forger who ships the other TSA's root gets no more than UNTRUSTED, and the
    # swapped root itself fails as a changed file.
    (bad / bf.TSA_ROOT).write_bytes(other.ca_certificate_pem)
    _reseal(bad)
    report = _verify(bad, untrusting)
    assert _only(report, "index.timestamp").verdict is Verdict.UNTRUSTED
    assert set(_failing_members(report)) == {bf.TSA_ROOT, *SUMS}


# --- exporting -------------------------------------------------------------------


def test_an_export_without_an_officer_is_refused(exported: Exported, tmp_path: Path) -> None:
    out = tmp_path / "unsigned.zip"
    with pytest.raises(ReportError, match="exporting officer") as info:
        exported.kit.export(exported.item_id, out)
    assert "--sign" in info.value.message
    with pytest.raises(ReportError, match="exporting officer"):
        exported.kit.export_case(CASE, tmp_path / "case.zip")
    with pytest.raises(ReportError, match="exporting officer"):
        exported.kit.export_wacz(exported.item_id, tmp_path / "item.wacz")
    assert list(tmp_path.iterdir()) == []


def test_an_officer_whose_key_cannot_sign_an_index_is_refused(
    exported: Exported, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from evidence.services.exports import OfficerIndexSealer

    rsa_officer = replace(
        exported.exporter, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    with pytest.raises(ReportError, match="ECDSA or Ed25519"):
        OfficerIndexSealer(rsa_officer, exported.kit.clock, exported.kit.timestamping)
    with pytest.raises(ReportError, match="ECDSA or Ed25519"):
        exported.kit.export(exported.item_id, tmp_path / "rsa.zip", exported_by=rsa_officer)
    assert not (tmp_path / "rsa.zip").exists()


def test_the_command_line_refuses_an_export_without_sign(tmp_path: Path) -> None:
    out = str(tmp_path / "x.zip")
    for args in (("export", "0000", "--out", out), ("export", "--case", CASE, "--out", out)):
        assert "--sign ENF_ID" in usage_error(run(tmp_path / "home", *args))
    assert not (tmp_path / "x.zip").exists()


def test_when_no_tsa_answers_the_bundle_is_written_without_a_token(
    exported: Exported, session_settings: Settings, tmp_path: Path
) -> None:
    from anchoring.tsa import RetryPolicy

    roots = tmp_path / "roots.pem"
    roots.write_bytes(exported.tsa_roots)
    down = replace(session_settings, tsa_url="http://127.0.0.1:9/tsr", tsa_roots_path=roots)
    with Toolkit(down) as kit:
        kit.timestamping.retry = RetryPolicy(attempts=1, backoff_s=0)
        bundle = kit.export(exported.item_id, tmp_path / "b.zip", exported_by=exported.exporter)
        last = kit.custody_lines(exported.item_id)[-1]
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
    assert {bf.SIGNED_INDEX, bf.SIGNED_INDEX_SIGNATURE} <= names
    assert bf.SIGNED_INDEX_TOKEN not in names
    assert last.action == "export"
    report = _verify(bundle, exported.trusted())
    assert _only(report, "index.signature").verdict is Verdict.PASS
    assert _only(report, "index.timestamp").verdict is Verdict.NOT_CHECKED
    assert not report.failures


def test_each_item_of_a_case_bundle_and_the_wacz_bundle_carry_a_signed_index(
    exported: Exported, tmp_path: Path
) -> None:
    case = exported.kit.export_case(CASE, tmp_path / "case.zip", exported_by=exported.exporter)
    with zipfile.ZipFile(case) as zf:
        zf.extractall(tmp_path / "case")
    folders = sorted((tmp_path / "case" / bf.CASE_ITEMS_DIR).iterdir())
    assert len(folders) >= 2
    for folder in folders:
        report = _verify(folder, exported.trusted())
        for check in ("index.member", "index.signature", "index.timestamp"):
            assert _only(report, check).verdict is Verdict.PASS, (folder, _only(report, check))
    wacz = exported.kit.export_wacz(
        exported.item_id, tmp_path / "item.wacz", exported_by=exported.exporter
    )
    nested = _verify(wacz, exported.trusted())
    for check in ("index.member", "index.signature", "index.timestamp"):
        [result] = _index(nested, check)
        assert result.verdict is Verdict.PASS, result
        assert result.subject.startswith("evidence/bundle.zip/")


# --- the writer and the index format ------------------------------------------------


def test_the_writer_refuses_an_index_nobody_signed(tmp_path: Path) -> None:
    from tests.test_bundle_writer import WHEN, _input

    with pytest.raises(ReportError, match="not signed"):
        write_bundle(
            _input(tmp_path), tmp_path / "b.zip", seal_index=lambda _: bf.IndexSeal(b"", None)
        )
    assert not (tmp_path / "b.zip").exists()
    written = write_bundle(_input(tmp_path, "item-2"), tmp_path / "ok.zip",
                           seal_index=synthetic_sealer(WHEN))  # fmt: skip
    report = _verify(written, VerifyOptions(offline=True, replay=False))
    assert _only(report, "index.member").verdict is Verdict.PASS
    assert _only(report, "index.signature").verdict is Verdict.UNTRUSTED


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("# another format\n", "line 1 is not the header"),
        (bf.INDEX_HEADER + f"{'a' * 64}  {'b' * 64}  1  x", "newline"),
        (bf.INDEX_HEADER + f"{'a' * 64}  {'b' * 64}  01  x\n", "line 2 is not"),
        (bf.INDEX_HEADER + f"{'A' * 64}  {'b' * 64}  1  x\n", "line 2 is not"),
        (bf.INDEX_HEADER + f"{'a' * 64}  {'b' * 64}  1  x\n" * 2, "out of order, twice"),
        (bf.INDEX_HEADER + f"{'a' * 64}  {'b' * 64}  1  {bf.SIGNED_INDEX}\n", "own files"),
        (bf.INDEX_HEADER + "\n", "line 2 is not"),
    ],
)
def test_the_index_parser_is_strict(text: str, problem: str) -> None:
    from evidence.model.errors import BundleError

    with pytest.raises(BundleError, match=problem):
        bf.parse_index(text.encode("utf-8"))
