"""The officer commands and ``sign`` in-process: keys, CSRs, certificates, assignment.

test_officers.py drives add/list/sign/cosign/signatures end to end; this module
covers the rest of the group, each command's main error path and the Chinese
labels. No browser: the item is sealed from synthetic files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from cli import main
from evidence import KEY_ALGORITHMS, Settings, Toolkit
from evidence.cli import officers
from tests.cli_support import CHINESE, fresh_home, one_line_error, run, succeeded, usage_error
from tests.helpers import TEST_PASSPHRASE, ensure_officer, seal_synthetic_item

CASE = "案-CLI-OFFICERS"
PASSPHRASE = {"EVIDENCE_OFFICER_PASSPHRASE": "officer secret 王五"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield from fresh_home(tmp_path_factory)


@pytest.fixture(scope="module")
def item_id(home: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    succeeded(run(home, "case", "create", CASE, "--title", "执法人员"))
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(settings) as kit:
        # 周九 (J9) captured it, so the capture signature is theirs.
        ensure_officer(kit, CASE, "J9", "周九")
        return seal_synthetic_item(
            kit, CASE, tmp_path_factory.mktemp("src"), "officers", officer="J9"
        ).id


def test_the_algorithm_choices_are_the_librarys() -> None:
    assert tuple(KEY_ALGORITHMS) == officers.ALGORITHMS


def test_add_with_a_self_signed_certificate_in_chinese(home: Path) -> None:
    args = ("officer", "add", "王五", "--id", "W5", "--agency", "测试局")
    added = succeeded(run(home, *args, lang=CHINESE, env=PASSPHRASE))
    lines = added.stdout.splitlines()
    assert lines[0] == "已添加执法人员: 王五 (W5)"
    assert lines[1].startswith("密钥: ecdsa-p256, ")
    assert lines[2].startswith("证书 SHA-256: ")


def test_add_twice_is_one_line(home: Path) -> None:
    succeeded(run(home, "officer", "add", "赵六", "--id", "Z6", env=PASSPHRASE))
    line = one_line_error(run(home, "officer", "add", "赵六", "--id", "Z6", env=PASSPHRASE))
    assert line.startswith("error: ") and "Z6" in line


def test_add_refuses_an_unknown_algorithm(home: Path) -> None:
    result = run(home, "officer", "add", "X", "--id", "X1", "--algorithm", "rsa", env=PASSPHRASE)
    assert "--algorithm" in usage_error(result)


def _issue(csr_pem: bytes) -> bytes:
    """The agency CA's certificate for a CSR (a throw-away CA key)."""
    csr = x509.load_pem_x509_csr(csr_pem)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试 CA")]))
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.PEM)


def test_csr_then_import_cert_then_list(home: Path, tmp_path: Path) -> None:
    csr_file = tmp_path / "q7.csr"
    args = ("officer", "add", "钱七", "--id", "Q7", "--csr", str(csr_file))
    added = run(home, *args, env=PASSPHRASE)
    assert succeeded(added).stderr.strip() == f"Written: {csr_file}"
    assert "Certificate SHA-256" not in added.stdout  # no certificate until the CA issues one
    listed = succeeded(run(home, "officer", "list"))
    assert "Q7\t钱七\t\tecdsa-p256\tno certificate (CSR pending)\t-" in listed.stdout
    # `officer csr` writes the same request again, to stdout.
    again = succeeded(run(home, "officer", "csr", "Q7", env=PASSPHRASE))
    assert again.stdout.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    cert_file = tmp_path / "q7.pem"
    cert_file.write_bytes(_issue(csr_file.read_bytes()))
    imported = succeeded(run(home, "officer", "import-cert", "Q7", str(cert_file)))
    assert imported.stdout.splitlines()[1].startswith("Issuer: ")
    assert "测试 CA" in imported.stdout
    rows = json.loads(succeeded(run(home, "officer", "list", "--json")).stdout)
    q7 = next(r for r in rows if r["enforcement_id"] == "Q7")
    assert q7["certificate_sha256"] and not q7["self_signed"]


def test_csr_and_import_cert_errors(home: Path, tmp_path: Path) -> None:
    line = one_line_error(run(home, "officer", "csr", "NOBODY", env=PASSPHRASE))
    assert "NOBODY" in line
    missing = run(home, "officer", "import-cert", "W5", str(tmp_path / "missing.pem"))
    assert "cannot read" in usage_error(missing)
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a certificate")
    assert one_line_error(run(home, "officer", "import-cert", "W5", str(garbage)))


def test_list_refuses_a_bad_option(home: Path) -> None:
    assert "--bogus" in usage_error(run(home, "officer", "list", "--bogus"))


def test_assign_puts_the_officer_on_the_case(home: Path, item_id: str) -> None:
    succeeded(run(home, "officer", "add", "孙八", "--id", "S8", env=PASSPHRASE))
    assigned = succeeded(run(home, "officer", "assign", CASE, "S8"))
    assert assigned.stdout.startswith(f"{CASE}: ") and "孙八" in assigned.stdout
    line = one_line_error(run(home, "officer", "assign", "NO-SUCH-CASE", "S8"))
    assert "NO-SUCH-CASE" in line


def test_sign_and_signatures(home: Path, item_id: str) -> None:
    j9 = {"EVIDENCE_OFFICER_PASSPHRASE": TEST_PASSPHRASE}
    signed = succeeded(run(home, "sign", item_id, "--officer", "J9", lang=CHINESE, env=j9))
    assert signed.stdout.startswith(f"已签名: {item_id} #1 capture 周九 (J9) ")
    shown = succeeded(run(home, "officer", "signatures", item_id))
    assert shown.stdout.split("\t")[:4] == ["1", "capture", "周九", "J9"]
    rows = json.loads(succeeded(run(home, "officer", "signatures", item_id, "--json")).stdout)
    assert rows[0]["certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert rows[0]["verified"] is True and "signature_der" not in rows[0]


def test_sign_and_signatures_errors(home: Path, item_id: str) -> None:
    line = one_line_error(run(home, "sign", item_id, "--officer", "NOBODY", env=PASSPHRASE))
    assert "NOBODY" in line
    assert "--officer" in usage_error(run(home, "sign", item_id))
    assert "no evidence item" in one_line_error(run(home, "officer", "signatures", "zzzz"))


def test_a_prompted_passphrase_is_never_echoed(home: Path) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(
        main,
        ["--home", str(home), "officer", "add", "吴十", "--id", "W10", "--json"],
        input="typed secret\ntyped secret\n",
        env={"EVIDENCE_OFFICER_PASSPHRASE": None, "LANG": "C.UTF-8", "LC_ALL": None},
    )
    assert result.exit_code == 0, result.output
    assert "Passphrase for the officer's key" in result.stderr
    assert "typed secret" not in result.output
    assert json.loads(result.stdout)["enforcement_id"] == "W10"
