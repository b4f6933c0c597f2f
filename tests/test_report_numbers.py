"""The report's numbers are the token's, in the base OpenSSL prints them.

An expert runs ``openssl ts -reply -in timestamp/token.tsr -text`` and reads
``Serial number: 0x01`` and ``Nonce: 0x1A2B…``; the report must show the same
characters (and the decimal beside them). Tokens come from a real
OpenSSL-backed TSA with chosen nonces (odd digit counts, the high bit set),
and the demo's own token is compared with the demo's own report.
"""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from anchoring.devtsa import DevelopmentTSA
from anchoring.tsa import build_timestamp_request, fetch_timestamp, verify_timestamp
from evidence.model.records import ReportInput, TimestampToken
from reports.pdf import render_report
from reports.pdf._procedure import verification_steps
from reports.pdf._timestamp import openssl_integer
from reports.pdf.layout import Layout
from tests.conftest import REPO, require_tool
from tests.test_report_pdf import MANIFEST_SHA256, make_input, pdf_text, squeezed


# Chosen so the hex has an odd number of digits, a leading zero nibble, the high
# bit set (DER then adds a 00 byte OpenSSL does not print) and the 64-bit maximum.
@pytest.fixture
def poppler() -> None:
    require_tool("pdftotext")


needs_poppler = pytest.mark.usefixtures("poppler")

NONCES = (1, 0xABC, 0x0F00000000000001, 0x8000000000000000, 2**64 - 1, 2**80 + 5)


@pytest.fixture(scope="module")
def devtsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevelopmentTSA]:
    require_tool("openssl")
    with DevelopmentTSA(tmp_path_factory.mktemp("tsa")) as tsa:
        yield tsa


def stamp(tsa: DevelopmentTSA, digest_hex: str, nonce: int) -> TimestampToken:
    """A real token over ``digest_hex`` with ``nonce``, read the way the toolkit reads one."""
    config = tsa.config()
    digest = bytes.fromhex(digest_hex)
    response = fetch_timestamp(build_timestamp_request(digest, nonce=nonce), config)
    checked = verify_timestamp(response, digest, config.trust_roots_pem, nonce=nonce)
    return TimestampToken(
        tsa_url=config.url,
        response_der=response,
        token_der=checked.token_der,
        gen_time=checked.gen_time,
        serial_number=checked.serial,
        policy_oid=checked.policy,
        hash_algorithm=checked.hash_algorithm,
        message_imprint=checked.imprint,
        nonce=checked.nonce,
        tsa_subject=checked.tsa_subject,
        tsa_certificate_pem=checked.tsa_certificate_pem,
        trust_root_pem=config.trust_roots_pem,
        development=True,
    )


def openssl_reply_text(response_der: bytes, tmp_path: Path) -> dict[str, str]:
    """``openssl ts -reply -text`` of a response, as field name -> value."""
    path = tmp_path / "token.tsr"
    path.write_bytes(response_der)
    out = subprocess.run(
        ["openssl", "ts", "-reply", "-in", str(path), "-text"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fields = dict(re.findall(r"^(Serial number|Nonce|Time stamp): (.+)$", out, re.MULTILINE))
    assert {"Serial number", "Nonce", "Time stamp"} <= fields.keys(), out
    return fields


@pytest.fixture(scope="module")
def tokens(devtsa: DevelopmentTSA) -> list[TimestampToken]:
    return [stamp(devtsa, MANIFEST_SHA256, nonce) for nonce in NONCES]


def test_openssl_integer_is_what_openssl_prints(
    tokens: list[TimestampToken], tmp_path: Path
) -> None:
    for token in tokens:
        printed = openssl_reply_text(token.response_der, tmp_path)
        assert token.nonce is not None
        assert openssl_integer(token.nonce) == printed["Nonce"]
        assert openssl_integer(token.serial_number) == printed["Serial number"]


def test_openssl_integer_edge_values() -> None:
    assert openssl_integer(0) == "0x0"
    assert openssl_integer(1) == "0x01"
    assert openssl_integer(0xABC) == "0x0ABC"
    assert openssl_integer(-255) == "0x-FF"


@needs_poppler
@pytest.mark.parametrize("language", ["zh", "en"])
def test_report_shows_serial_and_nonce_as_openssl_and_decimal(
    tokens: list[TimestampToken], tmp_path: Path, language: str
) -> None:
    token = tokens[3]  # the nonce with the high bit set
    assert token.nonce is not None
    data = replace(make_input(tmp_path, language=language), timestamp=token)
    text = squeezed(pdf_text(render_report(data, tmp_path / "report.pdf")))
    printed = openssl_reply_text(token.response_der, tmp_path)
    for value in (printed["Nonce"], printed["Serial number"]):
        assert squeezed(value) in text
    assert str(token.nonce) in text
    assert str(token.serial_number) in text
    # The procedure's expected lines are OpenSSL's own lines, character for character.
    for name in ("Serial number", "Nonce", "Time stamp"):
        assert squeezed(f"{name}: {printed[name]}") in text, name


def test_procedure_expects_openssl_lines(tokens: list[TimestampToken], tmp_path: Path) -> None:
    from reports._fonts import load_fonts

    layout = Layout("en", load_fonts())
    for token in tokens:
        data: ReportInput = replace(make_input(tmp_path), timestamp=token)
        step = next(s for s in verification_steps(layout, data) if "Verification: OK" in s.expected)
        printed = openssl_reply_text(token.response_der, tmp_path)
        for name in ("Serial number", "Nonce", "Time stamp"):
            assert f"{name}: {printed[name]}" in step.expected, (name, step.expected)


def test_a_token_without_nonce_says_so(tmp_path: Path) -> None:
    from reports._fonts import load_fonts

    data = make_input(tmp_path, language="en")
    assert data.timestamp is not None
    data = replace(data, timestamp=replace(data.timestamp, nonce=None))
    step = next(
        s
        for s in verification_steps(Layout("en", load_fonts()), data)
        if "Verification: OK" in s.expected
    )
    # What openssl prints for a token with no nonce.
    assert "Nonce: unspecified" in step.expected


@pytest.mark.slow
@needs_poppler
def test_demo_report_numbers_match_openssl_on_the_demo_token(tmp_path: Path) -> None:
    """The whole pipeline: the demo's bundle token through openssl, against its report."""
    require_tool("openssl")
    out = tmp_path / "out"
    env = {**os.environ, "EVIDENCE_HOME": str(tmp_path / "home")}
    env.pop("EVIDENCE_TRUST_FILE", None)
    evidence = str(REPO / ".venv" / "bin" / "evidence")
    subprocess.run(
        [evidence, "demo", "--out", str(out)],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    (bundle,) = out.glob("*.zip")
    (report,) = out.glob("*.pdf")
    with zipfile.ZipFile(bundle) as archive:
        response = archive.read("timestamp/token.tsr")
    printed = openssl_reply_text(response, tmp_path)
    text = squeezed(pdf_text(report))
    serial = printed["Serial number"]
    nonce = printed["Nonce"]
    assert squeezed(serial) in text and squeezed(nonce) in text
    assert str(int(serial, 16)) in text and str(int(nonce, 16)) in text
    # The demo's development TSA is titled as what it is, never as trusted.
    assert "可信时间戳" not in text
    assert squeezed("时间戳（开发用时间戳服务，非可信第三方）") in text
    # So is it in the verification report, against the trust the demo configured.
    verification = tmp_path / "verification.pdf"
    subprocess.run(
        [
            evidence,
            "verify",
            str(bundle),
            "--offline",
            "--no-replay",
            "--report",
            str(verification),
        ],
        capture_output=True,
        env=env,
        timeout=300,
    )
    checked = squeezed(pdf_text(verification))
    assert squeezed("时间戳（开发用时间戳服务，非可信第三方）") in checked
    assert squeezed("区块链存证（本机开发用测试链，无第三方见证）") in checked
    assert "可信时间戳" not in checked
