"""``evidence verify`` on a WACZ we exported: the WACZ's own hashes, its WARCs, and
the evidence bundle it carries (``evidence/bundle.zip``) with every bundle check."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from evidence import Settings, Verdict
from evidence.model.records import VerificationReport
from evidence.verification import WACZ_EVIDENCE, VerifyOptions, run_verification
from reports.bundle import layout as bf
from reports.bundle.wacz import EVIDENCE_BUNDLE
from reports.signing import validate_pdf_signatures
from reports.verification_report import EXPERT_FIELD
from tests.conftest import REPO, require, require_tool
from tests.helpers import TEST_OFFICER_ID, TEST_PASSPHRASE
from tests.test_verify_checks import (
    Captured,
    capture_bundle,
    exporting_officer,
    failing,
    verdicts,
)

pytestmark = pytest.mark.slow

WARC = "archive/capture.warc"
OFFLINE = VerifyOptions(offline=True, replay=False)


@dataclass(frozen=True)
class Waczs:
    captured: Captured
    full: Path
    """With the evidence bundle inside."""
    bare: Path
    """WARCs only, as third-party tools write them."""


@pytest.fixture(scope="module")
def waczs(session_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Waczs]:
    out = tmp_path_factory.mktemp("verify-wacz")
    for captured in capture_bundle(session_settings, out):
        # A signed item, so that the signature check runs inside the WACZ too: the
        # capture signature is the acting officer's.
        captured.kit.sign_item(captured.item_id, TEST_OFFICER_ID, TEST_PASSPHRASE)
        captured.kit.trust.trust_this_machine()  # the officer, too
        full = captured.kit.export_wacz(
            captured.item_id, out / "item.wacz", exported_by=exporting_officer(captured.kit)
        )
        bare = captured.kit.export_wacz(captured.item_id, out / "bare.wacz", with_evidence=False)
        yield Waczs(captured, full, bare)


def rewrite(src: Path, dst: Path, change: Callable[[str, bytes], bytes]) -> Path:
    """Copy a zip member by member, passing each member's bytes through ``change``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, change(info.filename, zin.read(info)))
    return dst


def flip_payload(data: bytes) -> bytes:
    """One byte of the stylesheet's payload, leaving the WARC framing intact."""
    position = data.index(b"\r\n\r\n", data.index(b"text/css")) + 44
    return data[:position] + bytes([data[position] ^ 1]) + data[position + 1 :]


def reseal_datapackage(src: Path, dst: Path) -> Path:
    """Recompute datapackage.json and its digest over the zip's members, as a forger would."""
    with zipfile.ZipFile(src) as zin:
        package = json.loads(zin.read("datapackage.json"))
        for resource in package["resources"]:
            data = zin.read(resource["path"])
            resource["hash"] = "sha256:" + hashlib.sha256(data).hexdigest()
            resource["bytes"] = len(data)
    package_bytes = json.dumps(package, indent=2).encode()
    digest = {
        "path": "datapackage.json",
        "hash": "sha256:" + hashlib.sha256(package_bytes).hexdigest(),
    }

    def change(name: str, data: bytes) -> bytes:
        if name == "datapackage.json":
            return package_bytes
        if name == "datapackage-digest.json":
            return json.dumps(digest).encode()
        return data

    return rewrite(src, dst, change)


def by_check(report: VerificationReport, check: str) -> list[tuple[str, Verdict]]:
    return [(c.subject, c.verdict) for c in report.checks if c.check == check]


def test_the_evidence_folder_name_is_shared() -> None:
    assert WACZ_EVIDENCE == EVIDENCE_BUNDLE


def test_good_wacz_passes_every_check(waczs: Waczs, tmp_path: Path) -> None:
    kit = waczs.captured.kit
    token = kit.get_item(waczs.captured.item_id).timestamp
    assert token is not None
    # An expert who trusts this development TSA (the officers' roots are this machine's).
    roots = token.trust_root_pem
    report = kit.verify(waczs.full, trust_roots_pem=roots, report_path=tmp_path / "v.pdf")
    assert not report.failures, report.failures
    assert not report.not_checked, report.not_checked
    assert report.exit_code == 0
    assert by_check(report, "wacz.datapackage") == [("datapackage.json", Verdict.PASS)]
    assert by_check(report, "wacz.digest") == [("datapackage-digest.json", Verdict.PASS)]
    assert by_check(report, "wacz.warc") == [(WARC, Verdict.PASS)]
    assert (WARC, Verdict.PASS) in by_check(report, "warc.record")
    assert by_check(report, "wacz.manifest_link")[0][1] is Verdict.PASS
    # Every bundle check ran on the nested bundle, named by its path inside the WACZ.
    inner = f"{EVIDENCE_BUNDLE}/"
    for check in (
        "manifest.format",
        "checksums.sha256",
        "checksums.sm3",
        "artifact.digest",
        "timestamp.token",
        "time.order",
        "anchor.merkle",
        "anchor.chain",
        "custody.chain",
        "manifest.signature",
        "screenshot.replay",
    ):
        found = [c for c in report.checks if c.check == check]
        assert found and all(c.subject.startswith(inner) for c in found), check
        assert all(c.verdict is Verdict.PASS for c in found), check
    sealed = waczs.captured.kit.get_item(waczs.captured.item_id).manifest_sha256
    assert report.manifest_sha256 == sealed


def test_a_flipped_byte_in_the_warc_is_named(waczs: Waczs, tmp_path: Path) -> None:
    bad = rewrite(
        waczs.full,
        tmp_path / "bad.wacz",
        lambda name, data: flip_payload(data) if name == WARC else data,
    )
    report = run_verification(bad, OFFLINE).report
    assert report.exit_code == 1
    datapackage = failing(report, "wacz.datapackage")
    assert datapackage and datapackage[0].startswith(f"{WARC}: SHA-256")
    sealed = failing(report, "wacz.warc")
    assert sealed and sealed[0].startswith(WARC) and "artifacts/capture.warc" in sealed[0]
    records = failing(report, "warc.record")
    assert (
        records and records[0].startswith(f"{WARC}: <urn:uuid:") and "digest failed" in records[0]
    )
    # The evidence bundle itself is untouched and still passes.
    assert not [c for c in report.failures if c.subject.startswith(EVIDENCE_BUNDLE)]

    # A forger who also recomputes datapackage.json still cannot match the sealed manifest.
    forged = run_verification(reseal_datapackage(bad, tmp_path / "forged.wacz"), OFFLINE).report
    assert verdicts(forged, "wacz.datapackage") == [Verdict.PASS]
    assert verdicts(forged, "wacz.digest") == [Verdict.PASS]
    sealed = failing(forged, "wacz.warc")
    assert sealed and "not byte-identical to the sealed artifacts/capture.warc" in sealed[0]


def test_a_changed_datapackage_digest_is_named(waczs: Waczs, tmp_path: Path) -> None:
    bad = rewrite(
        waczs.full,
        tmp_path / "digest.wacz",
        lambda name, data: (
            data.replace(b'"hash": "sha256:', b'"hash": "sha256:0')
            if name == "datapackage-digest.json"
            else data
        ),
    )
    report = run_verification(bad, OFFLINE).report
    problems = failing(report, "wacz.digest")
    assert problems and problems[0].startswith("datapackage-digest.json")


def test_a_tampered_manifest_inside_the_wacz_is_named(waczs: Waczs, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        if name != EVIDENCE_BUNDLE:
            return data
        inner = tmp_path / "inner.zip"
        inner.write_bytes(data)
        changed = rewrite(
            inner,
            tmp_path / "inner-bad.zip",
            lambda n, d: (
                d.replace(b'"sealed_at":"2', b'"sealed_at":"1') if n == "manifest.json" else d
            ),
        )
        return changed.read_bytes()

    bad = reseal_datapackage(rewrite(waczs.full, tmp_path / "m.wacz", change), tmp_path / "m2.wacz")
    report = run_verification(bad, OFFLINE).report
    token = failing(report, "timestamp.token")
    assert token and token[0].startswith(f"{EVIDENCE_BUNDLE}/timestamp/token.tsr")
    assert failing(report, "checksums.sha256")  # the bundle's SHA256SUMS names manifest.json
    link = failing(report, "wacz.manifest_link")
    assert link and "evidenceManifestSha256" in link[0]


def test_malformed_wacz_parts_are_verdicts(waczs: Waczs, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        if name == "datapackage.json":
            return b"{not json"
        if name == EVIDENCE_BUNDLE:
            return b"PK\x03\x04 not really a zip"
        return data

    report = run_verification(rewrite(waczs.full, tmp_path / "junk.wacz", change), OFFLINE).report
    assert failing(report, "wacz.datapackage")[0].startswith("datapackage.json: not UTF-8 JSON")
    assert failing(report, "wacz.digest")  # the digest no longer matches datapackage.json
    bundle = failing(report, "evidence.bundle")
    assert bundle and bundle[0].startswith(EVIDENCE_BUNDLE) and "not a readable zip" in bundle[0]


def test_a_wacz_without_our_evidence_is_not_checked(waczs: Waczs) -> None:
    report = run_verification(waczs.bare, OFFLINE).report
    assert not report.failures, report.failures
    assert report.exit_code == 2
    assert verdicts(report, "wacz.datapackage") == [Verdict.PASS]
    assert (WARC, Verdict.PASS) in by_check(report, "warc.record")
    for check in ("manifest", "artifact.digest", "timestamp.token", "anchor", "manifest.signature"):
        found = [c for c in report.not_checked if c.check == check]
        assert found and "carries no evidence bundle" in found[0].detail, check
        assert found[0].subject == EVIDENCE_BUNDLE


def test_wacz_validate_still_accepts_it(waczs: Waczs) -> None:
    wacz = REPO / ".venv-interop" / "bin" / "wacz"
    require(wacz.exists(), "wacz missing: run scripts/setup-interop.sh")
    run = subprocess.run(
        [str(wacz), "validate", "-f", str(waczs.full)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0 and "Validation succeeded" in run.stdout, run.stdout + run.stderr
    with zipfile.ZipFile(waczs.full) as zf:
        assert EVIDENCE_BUNDLE in zf.namelist()
        package = json.loads(zf.read("datapackage.json"))
    assert package["evidenceBundle"] == EVIDENCE_BUNDLE
    assert EVIDENCE_BUNDLE in [r["path"] for r in package["resources"]]


# --- the expert's signed verification report ----------------------------------


def _expert(tmp_path: Path, passphrase: bytes) -> tuple[Path, Path, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "赵鉴定"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "某司法鉴定所"),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = tmp_path / "expert-key.pem", tmp_path / "expert-cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path, certificate


def test_signed_verification_report_validates_in_pyhanko(waczs: Waczs, tmp_path: Path) -> None:
    kit = waczs.captured.kit
    key_path, cert_path, certificate = _expert(tmp_path, b"expert-secret")
    signer = kit.expert_signer(key_path.read_bytes(), cert_path.read_bytes(), "expert-secret")
    tsa_root = x509.load_pem_x509_certificates((waczs.captured.unpacked / bf.TSA_ROOT).read_bytes())

    plain = tmp_path / "no-timestamp.pdf"
    kit.verify(waczs.full, options=OFFLINE, report_path=plain, report_signer=signer)
    [check] = validate_pdf_signatures(plain, [certificate])
    assert check.field == EXPERT_FIELD and "赵鉴定" in check.signer_subject
    assert check.intact and check.trusted and check.covers_whole_file
    assert check.timestamp_time is None  # no --tsa-url: signed without a timestamp

    stamped = tmp_path / "timestamped.pdf"
    kit.verify(
        waczs.full,
        options=OFFLINE,
        report_path=stamped,
        report_signer=signer,
        report_tsa_url="configured",
    )
    [check] = validate_pdf_signatures(stamped, [certificate, *tsa_root])
    assert check.valid, check.summary  # intact, trusted, timestamp trusted, nothing appended
    # Someone else's roots: still intact, but not trusted.
    [foreign] = validate_pdf_signatures(stamped, tsa_root)
    assert foreign.intact and not foreign.trusted


def test_cli_signs_the_report_with_an_encrypted_key(
    waczs: Waczs, session_settings: Settings, tmp_path: Path
) -> None:
    pdftotext = require_tool("pdftotext")
    key_path, cert_path, certificate = _expert(tmp_path, b"cli-secret")
    out = tmp_path / "opinion.pdf"
    env = {
        **os.environ,
        "EVIDENCE_HOME": str(session_settings.home),
        "EVIDENCE_DATABASE_URL": session_settings.database_url,
        "EVIDENCE_EXPERT_KEY_PASSPHRASE": "cli-secret",
    }
    command = [
        sys.executable, "-m", "cli", "verify", str(waczs.full), "--offline", "--no-replay",
        "--lang", "en", "--report", str(out),
        "--sign-key", str(key_path), "--sign-cert", str(cert_path),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    # Offline leaves the chain unchecked: exit 2, and the report is still written and signed.
    assert run.returncode == 2, run.stdout + run.stderr
    assert "wacz.warc" in run.stdout and "archive/capture.warc" in run.stdout
    [check] = validate_pdf_signatures(out, [certificate])
    assert check.intact and check.trusted
    text = subprocess.run(
        [pdftotext, str(out), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "not signed by the verifier" not in text

    wrong = {**env, "EVIDENCE_EXPERT_KEY_PASSPHRASE": "not-it"}
    bad = subprocess.run(command, cwd=REPO, env=wrong, capture_output=True, text=True, check=False)
    assert bad.returncode not in (0, 2)
    error = bad.stderr.strip().splitlines()
    assert len(error) == 1 and "passphrase" in error[0], bad.stderr
