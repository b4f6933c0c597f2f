"""The expert's trust configuration: the file, ``evidence trust``, and the shipped roots."""

from __future__ import annotations

import json
import stat
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from evidence import (
    TrustedChain,
    TrustError,
    TrustKind,
    TrustPolicy,
    load_trust,
    preset_roots,
)
from evidence.model.trust import certificates_from_pem, save_trust
from tests.cli_support import one_line_error, run, succeeded, usage_error

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"

# The fingerprints docs/trust.md publishes for the shipped public TSA roots.
DOCUMENTED = {
    "552f7bdcf1a7af9e6ce672017f4f12abf77240c78e761ac203d1d9d20ac89988",
    "3e9099b5015e8f486c00bcea9d111ee721faba355a89bcf1df69561e3dc6325c",
    "e793c9b02fd8aa13e21c31228accb08119643b749c898964b1746d46c3d4cbd2",
    "2cabeafe37d06ca22aba7391c0033d25982952c453647349763a3ab5ad6ccf69",
}


def _certificate(name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.PEM)


def test_a_policy_round_trips_through_its_file_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    root = certificates_from_pem("agency TSA", _certificate("Agency TSA Root"))[0]
    signer = certificates_from_pem("agency CA", _certificate("Agency CA"))[0]
    chain = TrustedChain(
        name="consortium", chain_id=7, registry=REGISTRY, rpc_urls=("https://rpc.example",)
    )
    policy = (
        TrustPolicy()
        .with_entry(TrustKind.TSA, root)
        .with_entry(TrustKind.SIGNER, signer)
        .with_entry(TrustKind.CHAIN, chain)
    )
    path = tmp_path / "trust.json"
    save_trust(policy, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_trust(path)
    assert loaded.tsa_roots == (root,)
    assert loaded.signer_roots == (signer,)
    assert loaded.chains == (chain,)
    assert loaded.sources == (str(path),)
    assert load_trust(tmp_path / "absent.json") == TrustPolicy()


def test_a_hand_edited_certificate_that_no_longer_matches_its_fingerprint_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "trust.json"
    save_trust(
        TrustPolicy().with_entry(
            TrustKind.TSA, certificates_from_pem("tsa", _certificate("Root A"))[0]
        ),
        path,
    )
    document = json.loads(path.read_text())
    document["tsa_roots"][0]["pem"] = _certificate("Root B").decode()
    path.write_text(json.dumps(document))
    with pytest.raises(TrustError, match="not the recorded"):
        load_trust(path)
    path.write_text('{"format": "something else"}')
    with pytest.raises(TrustError, match="is not a trust configuration"):
        load_trust(path)
    path.write_text("[" * 100_000)
    with pytest.raises(TrustError):
        load_trust(path)


def test_duplicates_and_credentials_are_refused() -> None:
    root = certificates_from_pem("a", _certificate("Root"))[0]
    policy = TrustPolicy().with_entry(TrustKind.TSA, root)
    with pytest.raises(TrustError, match="already trusted"):
        policy.with_entry(TrustKind.TSA, replace(root, name="b"))
    with pytest.raises(TrustError, match="already has an entry named"):
        policy.with_entry(TrustKind.SIGNER, certificates_from_pem("a", _certificate("X"))[0])
    secret = TrustedChain(
        name="c", chain_id=1, registry=REGISTRY, rpc_urls=("https://user:pw@rpc.example/",)
    )
    with pytest.raises(TrustError, match="does not keep credentials"):
        policy.with_entry(TrustKind.CHAIN, secret)
    with pytest.raises(TrustError, match="no entry named"):
        policy.without("nobody")


def test_shipped_public_roots_match_their_documented_fingerprints() -> None:
    shipped = {entry.sha256 for _, entry in preset_roots()}
    assert shipped == DOCUMENTED
    docs = Path("docs/trust.md").read_text(encoding="utf-8")
    for fingerprint in DOCUMENTED:
        assert fingerprint in docs
    # openssl agrees with the fingerprints we compute.
    for root, entry in preset_roots():
        out = subprocess.run(
            ["openssl", "x509", "-noout", "-fingerprint", "-sha256"],
            input=entry.pem,
            capture_output=True,
            check=True,
        ).stdout.decode()
        assert out.split("=", 1)[1].strip().replace(":", "").lower() == entry.sha256, root


def test_trust_commands_add_list_show_and_remove(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pem = tmp_path / "agency-tsa.pem"
    pem.write_bytes(_certificate("Agency TSA Root"))
    fingerprint = certificates_from_pem("x", pem.read_bytes())[0].sha256
    added = succeeded(run(home, "trust", "add", "tsa", str(pem))).stdout
    assert added == f"tsa\tagency-tsa.pem\tSHA-256 {fingerprint}\n"
    presets = succeeded(run(home, "trust", "add", "tsa", "--preset", "digicert")).stdout
    assert presets.count("\n") == 2
    succeeded(
        run(
            home,
            "trust",
            "add",
            "chain",
            "--name",
            "consortium",
            "--chain-id",
            "7",
            "--registry",
            REGISTRY.lower(),
            "--rpc-url",
            "https://rpc.example",
        )
    )
    listed = json.loads(succeeded(run(home, "trust", "list", "--json")).stdout)
    assert listed["tsa_roots"][0]["name"] == "agency-tsa.pem"
    assert listed["chains"][0]["registry"] == REGISTRY  # stored checksummed
    shown = succeeded(run(home, "trust", "show", "agency-tsa.pem")).stdout
    assert "-----BEGIN CERTIFICATE-----" in shown
    assert fingerprint in shown
    succeeded(run(home, "trust", "remove", "agency-tsa.pem"))
    assert "agency-tsa.pem" not in succeeded(run(home, "trust", "list")).stdout
    assert "no entry named" in one_line_error(run(home, "trust", "show", "agency-tsa.pem"))
    # Bad input: one line, non-zero, nothing written.
    before = (home / "trust.json").read_bytes()
    assert "already trusted" in one_line_error(
        run(home, "trust", "add", "tsa", "--preset", "digicert")
    )
    (tmp_path / "x.pem").write_text("not a certificate")
    assert "not PEM" in one_line_error(run(home, "trust", "add", "signer", str(tmp_path / "x.pem")))
    assert "not an account or contract address" in one_line_error(
        run(
            home, "trust", "add", "chain", "--name", "n", "--chain-id", "1", "--registry", "0x12"
        )
    )
    assert "does not keep credentials" in one_line_error(
        run(
            home,
            "trust",
            "add",
            "chain",
            "--name",
            "n",
            "--chain-id",
            "1",
            "--registry",
            REGISTRY,
            "--rpc-url",
            "https://u:secret@rpc.example",
        )
    )
    assert "either a PEM file or --preset" in usage_error(run(home, "trust", "add", "tsa"))
    assert (home / "trust.json").read_bytes() == before


def test_trust_file_option_and_environment_choose_the_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pem = tmp_path / "root.pem"
    pem.write_bytes(_certificate("Root"))
    elsewhere = tmp_path / "expert" / "trust.json"
    succeeded(run(home, "trust", "add", "signer", str(pem), "--file", str(elsewhere)))
    assert load_trust(elsewhere).signer_roots
    assert not (home / "trust.json").exists()
    listed = run(home, "trust", "list", env={"EVIDENCE_TRUST_FILE": str(elsewhere)})
    assert "root.pem" in succeeded(listed).stdout
