"""Officer keys, certificates and two-officer manifest signatures through the facade and CLI.

Real SQLite, real artifact store, real OpenSSL as the agency CA and as the
independent checker; no browser (items are sealed from synthetic files).
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from cli import main as cli_main
from evidence.model import officer_keys as officers
from evidence.model.config import Settings
from evidence.model.errors import (
    CertificateError,
    EvidenceError,
    LifecycleError,
    NotFoundError,
    OfficerKeyError,
)
from evidence.model.signatures import verify_manifest_signature
from evidence.services.toolkit import Toolkit
from reports.bundle import layout as bf
from tests.conftest import require_tool
from tests.helpers import seal_synthetic_item

PASS_A = "correct horse 张三"
PASS_B = "battery staple 李四"
CASE = "市监-2026-007"


def _settings(home: Path) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")


@pytest.fixture(scope="module")
def openssl() -> str:
    return require_tool("openssl")


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Toolkit]:
    home = tmp_path_factory.mktemp("officers-home")
    with Toolkit(_settings(home)) as toolkit:
        toolkit.create_case(CASE, "某网店销售假冒商品案")
        toolkit.add_officer("张三", "11010001", agency="某市市场监督管理局", passphrase=PASS_A)
        toolkit.add_officer(
            "李四", "11010002", agency="某市市场监督管理局", passphrase=PASS_B, algorithm="ed25519"
        )
        yield toolkit


# -- the keystore ------------------------------------------------------------


@pytest.mark.parametrize("algorithm", officers.KEY_ALGORITHMS)
def test_keys_are_encrypted_0600_and_openssl_agrees(
    algorithm: str, tmp_path: Path, openssl: str
) -> None:
    store = officers.Keystore(tmp_path)
    key, relative = store.create_key("A/1", algorithm, "s3cret")
    path = tmp_path / relative
    assert relative == "officers/A_2f1/key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert officers.key_algorithm_of(store.load_key("A/1", relative, "s3cret")) == algorithm
    assert officers.key_algorithm_of(key) == algorithm
    assert not list(path.parent.glob(".*tmp"))  # no temporary left behind

    def pkey(secret: str) -> int:
        env = {**os.environ, "PW": secret}
        return subprocess.run(
            [openssl, "pkey", "-in", str(path), "-passin", "env:PW", "-noout"],
            env=env,
            capture_output=True,
            timeout=30,
            check=False,
        ).returncode

    assert pkey("s3cret") == 0
    assert pkey("wrong") != 0

    # PBES2: PBKDF2-HMAC-SHA256 at 600,000 iterations and AES-256-CBC, as the
    # stock parser shows it (cryptography's own PKCS#8 writer uses 2,048).
    listing = subprocess.run(
        [openssl, "asn1parse", "-in", str(path)], capture_output=True, text=True, check=True
    ).stdout
    fields = [line.split(":", 3)[-1].strip() for line in listing.splitlines()]
    assert fields[fields.index("PBES2") + 1 :].count("PBKDF2") == 1
    salt_at = fields.index("PBKDF2") + 2  # SEQUENCE { salt, iterationCount, prf }
    assert int(fields[salt_at + 1], 16) == 600_000
    assert "hmacWithSHA256" in fields and "aes-256-cbc" in fields


def test_wrong_empty_and_missing_are_one_line_errors(tmp_path: Path) -> None:
    store = officers.Keystore(tmp_path)
    _, relative = store.create_key("X9", officers.ECDSA_P256, "right")
    with pytest.raises(OfficerKeyError) as caught:
        store.load_key("X9", relative, "wrong")
    assert caught.value.message == "wrong passphrase for officer X9"
    with pytest.raises(OfficerKeyError) as caught:
        store.load_key("X9", relative, "")
    assert caught.value.message.startswith("an empty passphrase is refused for officer X9")
    with pytest.raises(OfficerKeyError) as caught:
        store.create_key("X8", officers.ECDSA_P256, b"")
    assert not (tmp_path / store.relative_key_path("X8")).exists()
    with pytest.raises(OfficerKeyError) as caught:
        store.load_key("X7", store.relative_key_path("X7"), "right")
    assert caught.value.message.startswith("the private key of officer X7 is missing")
    for error in (caught.value,):
        assert "\n" not in error.message


def test_an_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    store = officers.Keystore(tmp_path)
    _, relative = store.create_key("X1", officers.ECDSA_P256, "one")
    before = (tmp_path / relative).read_bytes()
    with pytest.raises(OfficerKeyError) as caught:
        store.create_key("X1", officers.ECDSA_P256, "two")
    assert "already exists" in caught.value.message
    assert (tmp_path / relative).read_bytes() == before
    store.load_key("X1", relative, "one")


def test_enforcement_ids_map_to_distinct_safe_names() -> None:
    ids = ["A 1", "A/1", "A-1", "a-1", "..", "A.1", "A:1"]
    safe = [officers.safe_enforcement_id(i) for i in ids]
    assert len(set(safe)) == len(ids)
    assert all(s.replace("_", "").replace("-", "").isalnum() for s in safe)
    with pytest.raises(OfficerKeyError):
        officers.validate_enforcement_id("执法证号")
    with pytest.raises(OfficerKeyError):
        officers.validate_enforcement_id("a_b")


def test_the_key_stays_out_of_logs_and_repr(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with Toolkit(_settings(tmp_path)) as toolkit:
        toolkit.create_case("C-1", "t")
        info = toolkit.add_officer("王五", "11010009", passphrase="hunter2-secret")
        item = seal_synthetic_item(toolkit, "C-1", tmp_path / "work", "logs", officer="11010009")
        toolkit.sign_item(item.id, "11010009", "hunter2-secret")
        key = officers.Keystore(tmp_path).load_key("11010009", info.key_path, "hunter2-secret")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    secret_number = str(key.private_numbers().private_value)
    pem = (tmp_path / info.key_path).read_text()
    signer = officers.OfficerSigner(
        "11010009", x509.load_pem_x509_certificate(toolkit_cert(tmp_path, "11010009")), key
    )
    for text in (caplog.text, repr(signer), repr(info)):
        assert "hunter2-secret" not in text
        assert secret_number not in text
        assert "PRIVATE KEY" not in text
        assert pem[40:100] not in text
    assert "added officer 11010009" in caplog.text


def toolkit_cert(home: Path, enforcement_id: str) -> bytes:
    with Toolkit(_settings(home)) as toolkit:
        from sqlmodel import Session, select

        from evidence.model.tables import Officer

        with Session(toolkit.engine) as session:
            row = session.exec(
                select(Officer).where(Officer.enforcement_id == enforcement_id)
            ).one()
            assert row.certificate_pem is not None
            return row.certificate_pem


# -- officers through the facade -------------------------------------------


def test_added_officers_have_self_signed_certificates(kit: Toolkit) -> None:
    listed = {o.enforcement_id: o for o in kit.list_officers()}
    zhang = listed["11010001"]
    assert zhang.key_algorithm == "ecdsa-p256" and listed["11010002"].key_algorithm == "ed25519"
    assert zhang.self_signed and zhang.agency == "某市市场监督管理局"
    cert = x509.load_pem_x509_certificate(toolkit_cert(kit.settings.home, "11010001"))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "张三"
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "11010001"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert zhang.certificate_sha256 == cert.fingerprint(hashes.SHA256()).hex()


def test_bad_officer_input_is_refused_before_any_key_is_written(kit: Toolkit) -> None:
    before = sorted((kit.settings.home / "officers").iterdir())
    with pytest.raises(EvidenceError, match="officer 11010001 already exists"):
        kit.add_officer("张三", "11010001", passphrase="x")
    with pytest.raises(OfficerKeyError, match="empty passphrase"):
        kit.add_officer("赵六", "11019999", passphrase="")
    with pytest.raises(OfficerKeyError, match="unknown key algorithm 'rsa'"):
        kit.add_officer("赵六", "11019999", passphrase="x", algorithm="rsa")
    with pytest.raises(OfficerKeyError, match="not 1-64 letters"):
        kit.add_officer("赵六", "证号", passphrase="x")
    assert sorted((kit.settings.home / "officers").iterdir()) == before


def _openssl_ca(openssl: str, directory: Path) -> tuple[Path, Path]:
    key, cert = directory / "ca.key", directory / "ca.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "30",
            "-subj", "/CN=Agency CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ],
        capture_output=True, timeout=30, check=True,
    )  # fmt: skip
    return key, cert


def test_csr_to_openssl_ca_and_back(kit: Toolkit, openssl: str, tmp_path: Path) -> None:
    info = kit.add_officer("赵六", "11010004", passphrase="p4", self_signed=False)
    assert info.certificate_sha256 is None
    item = seal_synthetic_item(kit, CASE, tmp_path / "work", "csr", officer="11010004")
    with pytest.raises(CertificateError, match="officer 11010004 has no certificate yet"):
        kit.sign_item(item.id, "11010004", "p4")
    with pytest.raises(OfficerKeyError, match="wrong passphrase for officer 11010004"):
        kit.officer_csr("11010004", "nope")
    csr = tmp_path / "officer.csr"
    csr.write_bytes(kit.officer_csr("11010004", "p4"))
    checked = subprocess.run(
        [openssl, "req", "-verify", "-in", str(csr), "-noout"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert checked.returncode == 0 and "verify OK" in checked.stderr + checked.stdout
    ca_key, ca_cert = _openssl_ca(openssl, tmp_path)
    issued = tmp_path / "officer.pem"
    subprocess.run(
        [
            openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "30", "-out", str(issued), "-copy_extensions", "copy",
        ],
        capture_output=True, timeout=30, check=True,
    )  # fmt: skip
    imported = kit.import_officer_certificate(
        "11010004", issued.read_bytes() + ca_cert.read_bytes()
    )
    assert imported.certificate_issuer == "CN=Agency CA" and not imported.self_signed
    signature = kit.sign_item(item.id, "11010004", "p4")
    manifest = kit.store.read_bytes(kit.get_item(item.id).manifest_sha256 or "")
    root = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    assert verify_manifest_signature(manifest, signature.signature_der, [root]).trusted
    (tmp_path / "manifest.json").write_bytes(manifest)
    (tmp_path / "sig.p7s").write_bytes(signature.signature_der)
    result = subprocess.run(
        [
            openssl, "cms", "-verify", "-binary", "-inform", "DER",
            "-in", str(tmp_path / "sig.p7s"), "-content", str(tmp_path / "manifest.json"),
            "-CAfile", str(ca_cert),
            "-purpose", "any", "-out", "/dev/null",
        ],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and "Verification successful" in result.stderr


def _issue(
    subject_key: ec.EllipticCurvePrivateKey | None,
    public_key: object,
    not_before: datetime,
    not_after: datetime,
    serial_number: str = "11010005",
) -> bytes:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "钱七"),
                    x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number),
                ]
            )
        )
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(subject_key or ca_key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.PEM)


def test_mismatched_expired_and_future_certificates_are_refused(kit: Toolkit) -> None:
    kit.add_officer("钱七", "11010005", passphrase="p5", self_signed=False)
    csr = x509.load_pem_x509_csr(kit.officer_csr("11010005", "p5"))
    now = datetime.now(UTC)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(CertificateError) as caught:
        kit.import_officer_certificate(
            "11010005", _issue(None, other, now, now + timedelta(days=9))
        )
    assert caught.value.message.startswith("the certificate does not match the key of officer")
    expired_from, expired_to = now - timedelta(days=30), now - timedelta(days=1)
    with pytest.raises(CertificateError) as caught:
        kit.import_officer_certificate(
            "11010005", _issue(None, csr.public_key(), expired_from, expired_to)
        )
    assert "has expired" in caught.value.message
    assert expired_to.replace(microsecond=0).isoformat() in caught.value.message
    with pytest.raises(CertificateError) as caught:
        kit.import_officer_certificate(
            "11010005",
            _issue(None, csr.public_key(), now + timedelta(days=2), now + timedelta(days=9)),
        )
    assert "is not yet valid" in caught.value.message
    with pytest.raises(CertificateError, match="names enforcement ID '99'"):
        kit.import_officer_certificate(
            "11010005",
            _issue(None, csr.public_key(), now, now + timedelta(days=9), serial_number="99"),
        )
    with pytest.raises(CertificateError, match=r"not a PEM or DER X\.509 certificate"):
        kit.import_officer_certificate("11010005", b"garbage")
    assert kit.get_officer("11010005").certificate_sha256 is None


# -- two officers sign one item ----------------------------------------------


def test_capture_signature_and_a_later_cosignature(kit: Toolkit, tmp_path: Path) -> None:
    item = seal_synthetic_item(kit, CASE, tmp_path / "work", "two", officer="11010001")
    with pytest.raises(LifecycleError, match="no capture signature yet"):
        kit.sign_item(item.id, "11010002", PASS_B, role="cosign")
    with pytest.raises(OfficerKeyError, match="wrong passphrase for officer 11010001"):
        kit.sign_item(item.id, "11010001", PASS_B)
    first = kit.sign_item(item.id, "11010001", PASS_A)
    assert (first.index, first.role, first.officer_name) == (1, "capture", "张三")
    with pytest.raises(LifecycleError, match=r"already signed item .* second signature"):
        kit.sign_item(item.id, "11010001", PASS_A, role="cosign")
    with pytest.raises(LifecycleError, match="already carries the capture signature of 张三"):
        kit.sign_item(item.id, "11010002", PASS_B)
    second = kit.sign_item(item.id, "11010002", PASS_B, role="cosign")
    assert (second.index, second.role, second.key_algorithm) == (2, "cosign", "ed25519")
    with pytest.raises(LifecycleError, match="officer 11010002 has already signed"):
        kit.sign_item(item.id, "11010002", PASS_B, role="cosign")

    listed = kit.item_signatures(item.id)
    assert [(s.index, s.enforcement_id, s.role) for s in listed] == [
        (1, "11010001", "capture"),
        (2, "11010002", "cosign"),
    ]
    signers = kit.verify_item_signatures(item.id)
    assert [(s.common_name, s.enforcement_id) for s in signers] == [
        ("张三", "11010001"),
        ("李四", "11010002"),
    ]
    roots = [x509.load_pem_x509_certificate(listed[0].certificate_pem)]
    from evidence.model.errors import SignatureError

    with pytest.raises(SignatureError, match=r"untrusted signer 李四 \(enforcement ID 11010002\)"):
        kit.verify_item_signatures(item.id, roots)

    entries = bf.bundle_signatures(listed)
    assert [name for name, _, _ in entries] == ["signatures/1-11010001", "signatures/2-11010002"]
    members = [m for name, _, _ in entries for m in bf.signature_members(name)]
    assert bf.signature_names_in([*members, "manifest.json"]) == [e[0] for e in entries]
    with pytest.raises(EvidenceError, match=r"its signer certificate .* is missing"):
        bf.signature_names_in(["signatures/1-11010001.p7s"])


def test_only_sealed_items_are_signed(kit: Toolkit, tmp_path: Path) -> None:
    from sqlmodel import Session

    from evidence.model.tables import EvidenceItem
    from evidence.services.cases import case_row

    with Session(kit.engine) as session:
        case = case_row(session, CASE)
        row = EvidenceItem(
            id="capturing-item-0001",
            case_id=case.id,
            requested_url="http://example.test/x",
            created_at=datetime.now(UTC),
        )
        session.add(row)
        session.commit()
    with pytest.raises(LifecycleError, match="is capturing; only a sealed item"):
        kit.sign_item("capturing-item-0001", "11010001", PASS_A)
    with pytest.raises(NotFoundError, match="no officer with enforcement ID '404'"):
        kit.sign_item(seal_synthetic_item(kit, CASE, tmp_path, "404").id, "404", PASS_A)


def test_assigning_an_officer_names_them_on_the_case(kit: Toolkit) -> None:
    info = kit.assign_officer(CASE, "11010001")
    kit.assign_officer(CASE, "11010001")  # idempotent
    assert info.officers.count("张三 (执法证号 11010001)") == 1
    assert kit.get_case(CASE).officers == info.officers


# -- the CLI -----------------------------------------------------------------


def test_cli_add_list_sign_and_cosign(tmp_path: Path) -> None:
    runner = CliRunner()
    home = str(tmp_path)
    env = {"EVIDENCE_OFFICER_PASSPHRASE": "env-secret", "LANG": "C.UTF-8"}
    added = runner.invoke(
        cli_main,
        ["--home", home, "officer", "add", "张三", "--id", "A1", "--agency", "局"],
        env=env,
    )
    assert added.exit_code == 0, added.output
    with Toolkit(_settings(tmp_path)) as toolkit:
        toolkit.create_case("C-9", "t")
        item = seal_synthetic_item(toolkit, "C-9", tmp_path / "work", "cli", officer="A1")
    # Prompted twice, hidden: the passphrase is never echoed.
    prompted = runner.invoke(
        cli_main,
        ["--home", home, "officer", "add", "李四", "--id", "B2", "--algorithm", "ed25519"],
        input="typed-secret\ntyped-secret\n",
        env={"LANG": "C.UTF-8"},
    )
    assert prompted.exit_code == 0, prompted.output
    assert "typed-secret" not in prompted.output
    listed = runner.invoke(cli_main, ["--home", home, "officer", "list", "--json"], env=env)
    rows = json.loads(listed.output)
    assert [(r["enforcement_id"], r["key_algorithm"]) for r in rows] == [
        ("A1", "ecdsa-p256"),
        ("B2", "ed25519"),
    ]
    signed = runner.invoke(cli_main, ["--home", home, "sign", item.id, "--officer", "A1"], env=env)
    assert signed.exit_code == 0, signed.output
    wrong = runner.invoke(
        cli_main,
        ["--home", home, "sign", item.id, "--officer", "B2", "--cosign"],
        input="not-it\n",
        env={"LANG": "C.UTF-8"},
    )
    assert wrong.exit_code == 1
    assert wrong.output.strip().splitlines()[-1] == "error: wrong passphrase for officer B2"
    cosigned = runner.invoke(
        cli_main,
        ["--home", home, "sign", item.id, "--officer", "B2", "--cosign", "--json"],
        input="typed-secret\n",
        env={"LANG": "C.UTF-8"},
    )
    assert cosigned.exit_code == 0, cosigned.output
    assert '"role": "cosign"' in cosigned.output
    again = runner.invoke(
        cli_main, ["--home", home, "sign", item.id, "--officer", "A1", "--cosign"], env=env
    )
    assert again.exit_code == 1 and "a second signature by the same officer" in again.output
    shown = runner.invoke(cli_main, ["--home", home, "officer", "signatures", item.id], env=env)
    assert shown.exit_code == 0
    assert [line.split("\t")[:4] for line in shown.output.splitlines()] == [
        ["1", "capture", "张三", "A1"],
        ["2", "cosign", "李四", "B2"],
    ]
    empty = runner.invoke(
        cli_main,
        ["--home", home, "officer", "add", "王五", "--id", "C3"],
        env={"EVIDENCE_OFFICER_PASSPHRASE": ""},
    )
    assert empty.exit_code == 1 and "empty passphrase is refused" in empty.output


def test_a_signer_whose_certificate_is_for_another_key_is_refused(tmp_path: Path) -> None:
    store = officers.Keystore(tmp_path)
    key, relative = store.create_key("M1", officers.ECDSA_P256, "pw")
    subject = officers.officer_subject("M", "M1", None)
    own = officers.self_signed_certificate(key, subject, not_before=datetime.now(UTC))
    other = officers.self_signed_certificate(
        officers.generate_key(), subject, not_before=datetime.now(UTC)
    )
    signer = officers.load_signer(store, "M1", relative, "pw", own)
    assert repr(signer).startswith("OfficerSigner(enforcement_id='M1', certificate_sha256=")
    with pytest.raises(CertificateError, match="certificate of officer M1 is not for the key"):
        officers.load_signer(store, "M1", relative, "pw", other)
