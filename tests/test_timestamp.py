"""RFC 3161 against a real openssl-backed TSA, with ``openssl ts -verify`` as the referee.

Nothing is mocked: the development TSA signs with ``openssl ts -reply`` and
every verdict of :func:`anchoring.tsa.verify_timestamp` on a good or damaged
token is compared with what stock OpenSSL says about the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import rfc3161ng
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyasn1.codec.der import decoder as der_decoder
from pyasn1_modules import rfc3161
from rfc3161_client import decode_timestamp_response

from anchoring import _tsa_asn1, _tsa_http, devtsa
from anchoring.devtsa import DEVELOPMENT_POLICY_OID, DevelopmentTSA
from anchoring.tsa import (
    TSAConfig,
    build_timestamp_request,
    fetch_timestamp,
    request_timestamp,
    verify_timestamp,
    verify_timestamp_token,
)
from evidence.model.errors import ConfigurationError, TimestampError
from evidence.model.records import TimestampToken
from tests.conftest import require_tool

# --- fixtures and helpers ---------------------------------------------------------


@pytest.fixture(scope="module")
def openssl() -> str:
    return require_tool("openssl")


@pytest.fixture(scope="module")
def tsa(openssl: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevelopmentTSA]:
    with DevelopmentTSA(tmp_path_factory.mktemp("tsa-home")) as running:
        yield running


@pytest.fixture(scope="module")
def other_tsa(openssl: str, tmp_path_factory: pytest.TempPathFactory) -> DevelopmentTSA:
    """A second development TSA: a different, untrusted CA."""
    return DevelopmentTSA(tmp_path_factory.mktemp("other-tsa-home"))


@dataclass(frozen=True)
class Stamped:
    data_file: Path
    digest: bytes
    token: TimestampToken


@pytest.fixture(scope="module")
def stamped(tsa: DevelopmentTSA, tmp_path_factory: pytest.TempPathFactory) -> Stamped:
    data_file = tmp_path_factory.mktemp("data") / "manifest.json"
    data_file.write_bytes('{"case": "市监-2026-001", "files": []}\n'.encode())
    digest = hashlib.sha256(data_file.read_bytes()).digest()
    return Stamped(data_file, digest, request_timestamp(digest, tsa.config()))


def openssl_verify(
    openssl: str,
    directory: Path,
    blob: bytes,
    *,
    ca_pem: bytes,
    untrusted_pem: bytes | None = None,
    digest_hex: str | None = None,
    data_file: Path | None = None,
    token_in: bool = False,
) -> tuple[bool, str]:
    """Run the stock ``openssl ts -verify`` an expert would run; (passed, output)."""
    directory.mkdir(parents=True, exist_ok=True)
    blob_path = directory / ("token.tst" if token_in else "response.tsr")
    ca_path = directory / "ca.pem"
    blob_path.write_bytes(blob)
    ca_path.write_bytes(ca_pem)
    command = [openssl, "ts", "-verify", "-in", str(blob_path), "-CAfile", str(ca_path)]
    if token_in:
        command.append("-token_in")
    if untrusted_pem is not None:
        untrusted = directory / "untrusted.pem"
        untrusted.write_bytes(untrusted_pem)
        command += ["-untrusted", str(untrusted)]
    if digest_hex is not None:
        command += ["-digest", digest_hex]
    if data_file is not None:
        command += ["-data", str(data_file)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    output = result.stdout + result.stderr
    return result.returncode == 0 and "Verification: OK" in result.stdout, output


def flip(data: bytes, position: int, bit: int = 0x01) -> bytes:
    damaged = bytearray(data)
    damaged[position] ^= bit
    return bytes(damaged)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def assert_one_line(error: TimestampError) -> None:
    assert "\n" not in error.message and error.message == str(error)


# --- round trip --------------------------------------------------------------------


def test_round_trip_fills_every_field_and_openssl_agrees(
    tsa: DevelopmentTSA, stamped: Stamped, openssl: str, tmp_path: Path
) -> None:
    token = stamped.token
    assert token.tsa_url == tsa.url
    assert token.development is True
    assert token.hash_algorithm == "sha256"
    assert token.message_imprint == stamped.digest.hex()
    assert token.policy_oid == DEVELOPMENT_POLICY_OID
    assert token.serial_number > 0
    assert token.nonce is not None and 0 <= token.nonce < 2**64
    assert token.gen_time.tzinfo is not None and token.gen_time.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - token.gen_time) < dt.timedelta(minutes=1)
    # openssl was told clock_precision_digits = 3: the milliseconds must survive.
    assert token.gen_time.microsecond % 1000 == 0
    assert "DEVELOPMENT" in token.tsa_subject and token.tsa_subject.startswith("CN=")
    assert token.tsa_certificate_pem == tsa.tsa_certificate_pem
    assert token.trust_root_pem == tsa.ca_certificate_pem
    # token_der is the exact ContentInfo inside the exact response bytes.
    parsed = decode_timestamp_response(token.response_der)
    assert token.token_der == parsed.time_stamp_token()
    assert token.response_der.endswith(token.token_der)

    again = verify_timestamp(
        token.response_der, stamped.digest, tsa.ca_certificate_pem, nonce=token.nonce
    )
    assert (again.gen_time, again.serial, again.policy, again.imprint, again.nonce) == (
        token.gen_time,
        token.serial_number,
        token.policy_oid,
        token.message_imprint,
        token.nonce,
    )
    assert again.tsa_subject == token.tsa_subject
    assert again.trust_anchor_pem == tsa.ca_certificate_pem
    bare = verify_timestamp_token(token.token_der, stamped.digest, tsa.ca_certificate_pem)
    assert bare.serial == token.serial_number and bare.gen_time == token.gen_time

    by_digest = openssl_verify(
        openssl,
        tmp_path / "digest",
        token.response_der,
        ca_pem=token.trust_root_pem,
        untrusted_pem=token.tsa_certificate_pem,
        digest_hex=stamped.digest.hex(),
    )
    by_data = openssl_verify(
        openssl,
        tmp_path / "data",
        token.response_der,
        ca_pem=token.trust_root_pem,
        untrusted_pem=token.tsa_certificate_pem,
        data_file=stamped.data_file,
    )
    by_token = openssl_verify(
        openssl,
        tmp_path / "token",
        token.token_der,
        ca_pem=token.trust_root_pem,
        data_file=stamped.data_file,
        token_in=True,
    )
    assert by_digest[0], by_digest[1]
    assert by_data[0], by_data[1]
    assert by_token[0], by_token[1]


@pytest.mark.parametrize("algorithm", ["sha384", "sha512"])
def test_longer_digests_round_trip(
    tsa: DevelopmentTSA, openssl: str, tmp_path: Path, algorithm: str
) -> None:
    digest = hashlib.new(algorithm, b"evidence").digest()
    token = request_timestamp(digest, tsa.config(), hash_algorithm=algorithm)
    assert token.hash_algorithm == algorithm and token.message_imprint == digest.hex()
    ok, output = openssl_verify(
        openssl,
        tmp_path,
        token.response_der,
        ca_pem=tsa.ca_certificate_pem,
        untrusted_pem=token.tsa_certificate_pem,
        digest_hex=digest.hex(),
    )
    assert ok, output
    with pytest.raises(TimestampError, match=f"uses {algorithm}"):
        verify_timestamp(
            token.response_der, digest, tsa.ca_certificate_pem, hash_algorithm="sha256"
        )


# --- damaged or foreign tokens: openssl and verify_timestamp must agree ---------------


def test_token_over_another_digest_is_refused(
    tsa: DevelopmentTSA, stamped: Stamped, openssl: str, tmp_path: Path
) -> None:
    other = hashlib.sha256(b"a different manifest").digest()
    ok, _ = openssl_verify(
        openssl,
        tmp_path,
        stamped.token.response_der,
        ca_pem=tsa.ca_certificate_pem,
        untrusted_pem=tsa.tsa_certificate_pem,
        digest_hex=other.hex(),
    )
    assert not ok
    with pytest.raises(TimestampError, match="message imprint does not match") as caught:
        verify_timestamp(stamped.token.response_der, other, tsa.ca_certificate_pem)
    assert_one_line(caught.value)


def _signature_value_position(response: bytes) -> int:
    # The SignerInfo signature is the last element of the response: its final byte.
    return len(response) - 1


def _gen_time_position(response: bytes) -> int:
    _status, token = _tsa_asn1.split_response(response)
    assert token is not None
    tst_info = _tsa_asn1.tst_info_der(token)
    info, _rest = der_decoder.decode(tst_info, asn1Spec=rfc3161.TSTInfo())
    text = str(info["genTime"]).encode("ascii")
    assert tst_info.count(text) == 1
    # The last digit of the seconds: still a well-formed time, just not the signed one.
    return response.index(tst_info) + tst_info.index(text) + 13


@pytest.mark.parametrize(
    "where", [_signature_value_position, _gen_time_position], ids=["signature", "genTime"]
)
def test_flipped_byte_is_refused(
    tsa: DevelopmentTSA,
    stamped: Stamped,
    openssl: str,
    tmp_path: Path,
    where: Callable[[bytes], int],
) -> None:
    damaged = flip(stamped.token.response_der, where(stamped.token.response_der))
    ok, _ = openssl_verify(
        openssl,
        tmp_path,
        damaged,
        ca_pem=tsa.ca_certificate_pem,
        untrusted_pem=tsa.tsa_certificate_pem,
        digest_hex=stamped.digest.hex(),
    )
    assert not ok
    with pytest.raises(TimestampError, match="signature invalid") as caught:
        verify_timestamp(damaged, stamped.digest, tsa.ca_certificate_pem)
    assert_one_line(caught.value)


def test_wrong_ca_is_refused(
    tsa: DevelopmentTSA, other_tsa: DevelopmentTSA, stamped: Stamped, openssl: str, tmp_path: Path
) -> None:
    ok, _ = openssl_verify(
        openssl,
        tmp_path,
        stamped.token.response_der,
        ca_pem=other_tsa.ca_certificate_pem,
        untrusted_pem=tsa.tsa_certificate_pem,
        digest_hex=stamped.digest.hex(),
    )
    assert not ok
    with pytest.raises(TimestampError, match="not issued by a trusted root") as caught:
        verify_timestamp(stamped.token.response_der, stamped.digest, other_tsa.ca_certificate_pem)
    assert_one_line(caught.value)
    # Trusting both roots is fine: one of them issued the TSA certificate.
    both = other_tsa.ca_certificate_pem + tsa.ca_certificate_pem
    assert verify_timestamp(stamped.token.response_der, stamped.digest, both).serial > 0


def test_nonce_mismatch_is_refused(tsa: DevelopmentTSA, stamped: Stamped) -> None:
    assert stamped.token.nonce is not None
    with pytest.raises(TimestampError, match="nonce mismatch"):
        verify_timestamp(
            stamped.token.response_der,
            stamped.digest,
            tsa.ca_certificate_pem,
            nonce=stamped.token.nonce ^ 1,
        )


def test_replayed_response_fails_the_nonce_check(tsa: DevelopmentTSA, stamped: Stamped) -> None:
    """A response to another request (same digest) must not satisfy a fresh request."""
    query = build_timestamp_request(stamped.digest, nonce=12345)
    response = fetch_timestamp(query, tsa.config())
    assert verify_timestamp(response, stamped.digest, tsa.ca_certificate_pem, nonce=12345)
    with pytest.raises(TimestampError, match="nonce mismatch"):
        verify_timestamp(response, stamped.digest, tsa.ca_certificate_pem, nonce=54321)


def test_expired_tsa_certificate_is_refused(openssl: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    expired = DevelopmentTSA(home)
    _reissue_tsa_certificate(
        expired,
        not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=30),
        not_after=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
    )
    digest = hashlib.sha256(b"late").digest()
    query = build_timestamp_request(digest, nonce=7)
    response = expired.reply(query)  # openssl signs with an expired certificate
    ok, _ = openssl_verify(
        openssl,
        tmp_path / "v",
        response,
        ca_pem=expired.ca_certificate_pem,
        untrusted_pem=expired.paths.tsa_certificate.read_bytes(),
        digest_hex=digest.hex(),
    )
    assert not ok
    with pytest.raises(TimestampError, match="not valid at genTime"):
        verify_timestamp(response, digest, expired.ca_certificate_pem, nonce=7)


# Some flips land in a certificate's serial; cryptography warns before we refuse it.
@pytest.mark.filterwarnings("ignore:Parsed a serial number which wasn't positive")
def test_every_single_bit_flip_fails_or_changes_nothing_signed(
    tsa: DevelopmentTSA, stamped: Stamped
) -> None:
    """No damaged response may pass with different content; none may crash."""
    good = verify_timestamp(stamped.token.response_der, stamped.digest, tsa.ca_certificate_pem)
    signed = (good.gen_time, good.serial, good.policy, good.imprint, good.nonce, good.tsa_subject)
    passed = 0
    response = stamped.token.response_der
    for position in range(len(response)):
        for bit in (0x01, 0x80):
            try:
                result = verify_timestamp(
                    flip(response, position, bit), stamped.digest, tsa.ca_certificate_pem
                )
            except TimestampError as error:
                assert_one_line(error)
                continue
            passed += 1
            assert (
                result.gen_time,
                result.serial,
                result.policy,
                result.imprint,
                result.nonce,
                result.tsa_subject,
            ) == signed, f"flip at {position} changed signed content yet passed"
    # Only unsigned fields (CMS versions, the signature algorithm OID) may absorb a flip.
    assert passed < 40


# --- certificate SET order (the openssl `certs =` / real-TSA DER trap) ------------------


def _reissue_tsa_certificate(
    tsa: DevelopmentTSA, *, not_before: dt.datetime, not_after: dt.datetime
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    ca_key = serialization.load_pem_private_key(tsa.paths.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    ca_cert = x509.load_pem_x509_certificate(tsa.paths.ca_certificate.read_bytes())
    key = devtsa._new_key()
    cert = devtsa._make_tsa_certificate(
        key, ca_key, ca_cert, not_before=not_before, not_after=not_after
    )
    devtsa._write_atomic(tsa.paths.tsa_key, devtsa._key_pem(key), 0o600)
    devtsa._write_atomic(tsa.paths.tsa_certificate, devtsa._cert_pem(cert), 0o644)


def test_token_with_intermediate_in_non_der_order_verifies(openssl: str, tmp_path: Path) -> None:
    """Root -> intermediate -> TSA, the intermediate embedded via `certs =`.

    OpenSSL then writes the certificate SET unsorted, which rfc3161-client
    alone rejects; real TSAs do the same, so the verifier must cope.
    """
    now = dt.datetime.now(dt.UTC)
    root_key, inter_key = devtsa._new_key(), devtsa._new_key()
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Root (tests only)")])
    inter_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA CA")])
    ca_usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=9))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ca_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    inter = (
        x509.CertificateBuilder()
        .subject_name(inter_name)
        .issuer_name(root_name)
        .public_key(inter_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=9))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(ca_usage, critical=True)
        # Common on real TSA intermediates; must not break path validation.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(inter_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    tsa_key = devtsa._new_key()
    leaf = devtsa._make_tsa_certificate(tsa_key, inter_key, inter)
    (tmp_path / "tsa.pem").write_bytes(devtsa._cert_pem(leaf))
    (tmp_path / "tsa.key").write_bytes(devtsa._key_pem(tsa_key))
    (tmp_path / "inter.pem").write_bytes(devtsa._cert_pem(inter))
    (tmp_path / "serial").write_text("00\n")
    (tmp_path / "tsa.cnf").write_text(devtsa._TS_CONFIG + "certs = ./inter.pem\n")
    digest = hashlib.sha256(b"chained").digest()
    (tmp_path / "query.tsq").write_bytes(build_timestamp_request(digest, nonce=99))
    subprocess.run(
        [
            openssl,
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "query.tsq",
            "-out",
            "reply.tsr",
        ],
        cwd=tmp_path,
        capture_output=True,
        check=True,
        timeout=60,
    )
    response = (tmp_path / "reply.tsr").read_bytes()
    assert _tsa_asn1.sort_certificate_sets(response) != response, "SET already in DER order"
    with pytest.raises(ValueError, match="InvalidSetOrdering"):
        decode_timestamp_response(response)

    result = verify_timestamp(response, digest, devtsa._cert_pem(root), nonce=99)
    assert result.trust_anchor_pem == devtsa._cert_pem(root)
    assert result.tsa_certificate_pem == devtsa._cert_pem(leaf) + devtsa._cert_pem(inter)
    ok, output = openssl_verify(
        openssl,
        tmp_path / "v",
        response,
        ca_pem=devtsa._cert_pem(root),
        digest_hex=digest.hex(),
    )
    assert ok, output
    unrelated = devtsa._cert_pem(devtsa._make_ca_certificate(devtsa._new_key()))
    with pytest.raises(TimestampError, match="not issued by a trusted root"):
        verify_timestamp(response, digest, unrelated)


# --- transport -------------------------------------------------------------------------


def test_unreachable_tsa_is_a_one_line_error(tsa: DevelopmentTSA) -> None:
    url = f"http://127.0.0.1:{closed_port()}/tsr"
    config = TSAConfig(url=url, trust_roots_pem=tsa.ca_certificate_pem, timeout_s=2)
    with pytest.raises(TimestampError, match="unreachable") as caught:
        request_timestamp(hashlib.sha256(b"x").digest(), config)
    assert url in caught.value.message
    assert_one_line(caught.value)


def test_silent_tsa_times_out(tsa: DevelopmentTSA) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/tsr"
        config = TSAConfig(url=url, trust_roots_pem=tsa.ca_certificate_pem, timeout_s=0.5)
        with pytest.raises(TimestampError, match="did not answer within") as caught:
            request_timestamp(hashlib.sha256(b"x").digest(), config)
    assert url in caught.value.message
    assert_one_line(caught.value)


def test_http_error_names_the_status(tsa: DevelopmentTSA) -> None:
    url = tsa.url.replace("/tsr", "/nowhere")
    config = TSAConfig(url=url, trust_roots_pem=tsa.ca_certificate_pem)
    with pytest.raises(TimestampError, match="HTTP 404") as caught:
        request_timestamp(hashlib.sha256(b"x").digest(), config)
    assert url in caught.value.message


def test_rejection_status_is_an_error(tsa: DevelopmentTSA) -> None:
    digest = hashlib.sha1(b"x", usedforsecurity=False).digest()
    legacy = rfc3161ng.make_timestamp_request(
        digest=digest, hashname="sha1", include_tsa_certificate=True, nonce=1
    )
    response = fetch_timestamp(bytes(rfc3161ng.encode_timestamp_request(legacy)), tsa.config())
    with pytest.raises(TimestampError, match=r"did not grant.*status 2 rejection") as caught:
        verify_timestamp(response, digest, tsa.ca_certificate_pem)
    assert_one_line(caught.value)


def test_requested_policy_is_enforced(tsa: DevelopmentTSA) -> None:
    digest = hashlib.sha256(b"policy").digest()
    config = TSAConfig(
        url=tsa.url, trust_roots_pem=tsa.ca_certificate_pem, policy_oid=DEVELOPMENT_POLICY_OID
    )
    assert request_timestamp(digest, config).policy_oid == DEVELOPMENT_POLICY_OID
    foreign = TSAConfig(
        url=tsa.url, trust_roots_pem=tsa.ca_certificate_pem, policy_oid="1.3.6.1.4.1.55555.9.9"
    )
    with pytest.raises(TimestampError, match="did not grant"):
        request_timestamp(digest, foreign)


def test_concurrent_requests_get_distinct_serials(tsa: DevelopmentTSA) -> None:
    serials: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            for round_ in range(4):
                digest = hashlib.sha256(f"{index}-{round_}".encode()).digest()
                token = request_timestamp(digest, tsa.config())
                with lock:
                    serials.append(token.serial_number)
        except BaseException as error:  # collected and asserted below
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(serials) == 32 and len(set(serials)) == 32


def test_http_handler_refuses_bad_requests(tsa: DevelopmentTSA) -> None:
    def post(body: bytes, content_type: str) -> int:
        request = urllib.request.Request(
            tsa.url, data=body, method="POST", headers={"Content-Type": content_type}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as response:
                assert response.headers.get_content_type() == "application/timestamp-reply"
                status: int = response.status
                return status
        except urllib.error.HTTPError as error:
            return error.code

    good = build_timestamp_request(hashlib.sha256(b"x").digest(), nonce=1)
    assert post(good, "application/timestamp-query") == 200
    assert post(good, "application/octet-stream") == 415
    assert post(b"\x30\x03garbage", "application/timestamp-query") == 400
    assert post(b"\x00" * (_tsa_http.MAX_QUERY_BYTES + 1), "application/timestamp-query") == 413


# --- the development TSA's home ----------------------------------------------------------


def test_development_tsa_home_is_idempotent(openssl: str, tmp_path: Path) -> None:
    first = DevelopmentTSA(tmp_path)
    with first:
        digest = hashlib.sha256(b"before").digest()
        token = request_timestamp(digest, first.config())
    second = DevelopmentTSA(tmp_path)
    assert second.ca_certificate_pem == first.ca_certificate_pem
    assert second.tsa_certificate_pem == first.tsa_certificate_pem
    for key in (second.paths.ca_key, second.paths.tsa_key):
        assert os.stat(key).st_mode & 0o777 == 0o600
    with second:
        later = request_timestamp(digest, second.config())
    # Same root keeps verifying old tokens; the serial file carries on.
    verify_timestamp(token.response_der, digest, second.ca_certificate_pem)
    assert later.serial_number > token.serial_number
    ca = x509.load_pem_x509_certificate(second.ca_certificate_pem)
    assert "DEVELOPMENT" in ca.subject.rfc4514_string()
    config_text = second.paths.config.read_text()
    assert "certs" not in config_text.replace("ess_cert_id", "")


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        TSAConfig(url="ftp://tsa.example/", trust_roots_pem=b"x")
    with pytest.raises(ConfigurationError):
        TSAConfig(url="http://tsa.example/", trust_roots_pem=b"  ")
    with pytest.raises(ValueError, match="32 bytes"):
        build_timestamp_request(b"short", nonce=1)
    with pytest.raises(ValueError, match="unsupported"):
        build_timestamp_request(hashlib.sha1(b"").digest(), hash_algorithm="sha1", nonce=1)


def test_unreadable_trust_roots_are_a_timestamp_error(stamped: Stamped) -> None:
    with pytest.raises(TimestampError, match="trust roots"):
        verify_timestamp(stamped.token.response_der, stamped.digest, b"not a certificate")


# --- failover, hostile servers, ESSCertID, agency TSA -----------------------------------


class _Hostile(threading.Thread):
    """A one-shot HTTP server that answers with whatever a test wants (or drips it)."""

    def __init__(self, body: bytes, content_type: str, drip_s: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/tsr"
        self.body, self.content_type, self.drip_s = body, content_type, drip_s
        self.start()

    def run(self) -> None:
        import time

        with self.server:
            conn, _ = self.server.accept()
            with conn:
                _read_whole_request(conn)
                head = (
                    f"HTTP/1.1 200 OK\r\nContent-Type: {self.content_type}\r\n"
                    f"Content-Length: {len(self.body)}\r\n\r\n"
                ).encode()
                try:
                    conn.sendall(head)
                    for byte in self.body:
                        conn.sendall(bytes([byte]))
                        if self.drip_s:
                            time.sleep(self.drip_s)
                except OSError:
                    pass


def _read_whole_request(conn: socket.socket) -> None:
    # Closing with request bytes still unread makes the kernel send a reset,
    # which the client would see instead of the answer under test.
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def test_html_error_page_is_named(tsa: DevelopmentTSA) -> None:
    page = _Hostile(b"<html><body>502 Bad Gateway</body></html>", "text/html")
    config = TSAConfig(url=page.url, trust_roots_pem=tsa.ca_certificate_pem)
    with pytest.raises(TimestampError, match=r"answered text/html instead of a time-stamp reply"):
        request_timestamp(hashlib.sha256(b"x").digest(), config)


def test_garbage_answer_is_refused(tsa: DevelopmentTSA) -> None:
    junk = _Hostile(b"\x30\x82\x01\x00" + b"\xff" * 40, "application/timestamp-reply")
    config = TSAConfig(url=junk.url, trust_roots_pem=tsa.ca_certificate_pem)
    with pytest.raises(TimestampError, match="not a DER TimeStampResp") as caught:
        request_timestamp(hashlib.sha256(b"x").digest(), config)
    assert_one_line(caught.value)


def test_slow_loris_is_cut_off_by_the_total_deadline(tsa: DevelopmentTSA) -> None:
    # Each byte arrives well within the per-read timeout; the whole never does.
    loris = _Hostile(b"\x30" * 200, "application/timestamp-reply", drip_s=0.05)
    config = TSAConfig(
        url=loris.url, trust_roots_pem=tsa.ca_certificate_pem, timeout_s=2, total_timeout_s=1
    )
    with pytest.raises(TimestampError, match=r"within 1 s \(whole exchange\)"):
        request_timestamp(hashlib.sha256(b"x").digest(), config)


def test_failover_retries_then_moves_on(tsa: DevelopmentTSA) -> None:
    from anchoring.tsa import RetryPolicy, request_timestamps

    dead = TSAConfig(url=f"http://127.0.0.1:{closed_port()}/tsr", trust_roots_pem=b"x" * 3)
    pauses: list[float] = []
    got = request_timestamps(
        hashlib.sha256(b"f").digest(),
        [dead, tsa.config()],
        retry=RetryPolicy(attempts=3, backoff_s=0.2),
        sleep=pauses.append,
    )
    assert len(got.tokens) == 1 and got.tokens[0].tsa_url == tsa.url
    assert len(pauses) == 2 and pauses[1] > pauses[0] * 0.9  # backed off between tries
    assert "unreachable" in got.failures[0] and "after 3 tries" in got.failures[0]
    # Two URLs of the same TSA are not two independent tokens.
    same = request_timestamps(hashlib.sha256(b"g").digest(), [tsa.config(), tsa.config()], needed=2)
    assert len(same.tokens) == 1 and "not independent" in same.failures[0]


def _swap_signer_certificate(response: bytes, new_cert_der: bytes) -> bytes:
    """The response with its embedded certificate replaced (pyasn1, not by hand)."""
    from pyasn1.codec.der import encoder as der_encoder
    from pyasn1_modules import rfc5652

    _status, token = _tsa_asn1.split_response(response)
    assert token is not None
    content_info, _ = der_decoder.decode(token, asn1Spec=rfc5652.ContentInfo())
    signed, _ = der_decoder.decode(content_info["content"], asn1Spec=rfc5652.SignedData())
    cert, _ = der_decoder.decode(new_cert_der, asn1Spec=rfc5652.CertificateChoices()["certificate"])
    signed["certificates"][0]["certificate"] = cert
    content_info["content"] = der_encoder.encode(signed)
    wrapped = _tsa_asn1.wrap_token(der_encoder.encode(content_info))
    return wrapped


def _twin_certificate(tsa: DevelopmentTSA, **eku: object) -> x509.Certificate:
    """Same key, issuer and serial as the TSA certificate, but other bytes (and EKU)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    ca_key = serialization.load_pem_private_key(tsa.paths.ca_key.read_bytes(), password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    original = x509.load_pem_x509_certificate(tsa.tsa_certificate_pem)
    usage = eku.get("usage", ExtendedKeyUsageOID.TIME_STAMPING)
    return (
        x509.CertificateBuilder()
        .subject_name(original.subject)
        .issuer_name(original.issuer)
        .public_key(original.public_key())
        .serial_number(original.serial_number)
        .not_valid_before(original.not_valid_before_utc - dt.timedelta(minutes=5))
        .not_valid_after(original.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=True)  # type: ignore[list-item]
        .sign(ca_key, hashes.SHA256())
    )


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        (
            ExtendedKeyUsageOID.TIME_STAMPING,
            r"signing-certificate attribute \(ESSCertIDv2\) does not match",
        ),
        (ExtendedKeyUsageOID.SERVER_AUTH, "lacks the timeStamping key usage"),
    ],
    ids=["essCertIdMismatch", "wrongPurpose"],
)
def test_swapped_signer_certificate_is_refused(
    tsa: DevelopmentTSA, stamped: Stamped, openssl: str, tmp_path: Path, usage: object, message: str
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    twin = _twin_certificate(tsa, usage=usage)
    forged = _swap_signer_certificate(stamped.token.response_der, twin.public_bytes(Encoding.DER))
    ok, output = openssl_verify(
        openssl, tmp_path, forged, ca_pem=tsa.ca_certificate_pem, digest_hex=stamped.digest.hex()
    )
    assert not ok, output
    with pytest.raises(TimestampError, match=message) as caught:
        verify_timestamp(forged, stamped.digest, tsa.ca_certificate_pem)
    assert_one_line(caught.value)


def _agency_files(tsa: DevelopmentTSA, tmp_path: Path) -> tuple[Path, Path, Path]:
    """An 'agency' TSA certificate issued by a CA: here the dev CA stands in for it."""
    cert, key, ca = tmp_path / "tsa.pem", tmp_path / "tsa.key", tmp_path / "ca.pem"
    cert.write_bytes(tsa.tsa_certificate_pem)
    key.write_bytes(tsa.paths.tsa_key.read_bytes())
    ca.write_bytes(tsa.ca_certificate_pem)
    return cert, key, ca


@pytest.mark.parametrize("ess", ["sha1", "sha256"], ids=["ESSCertIDv1", "ESSCertIDv2"])
def test_agency_tsa_servers_share_serials_and_openssl_agrees(
    tsa: DevelopmentTSA, openssl: str, tmp_path: Path, ess: str
) -> None:
    from anchoring.devtsa import AgencyTSA

    cert, key, ca = _agency_files(tsa, tmp_path)
    state = tmp_path / "state"
    policy = "1.2.3.4.5"
    servers = [
        AgencyTSA(state, certificate=cert, key=key, policy_oid=policy, ess_cert_id_alg=ess)
        for _ in range(2)
    ]
    serials: list[int] = []
    lock = threading.Lock()
    with servers[0], servers[1]:

        def work(server: AgencyTSA, n: int) -> None:
            for i in range(3):
                d = hashlib.sha256(f"{n}-{i}".encode()).digest()
                token = request_timestamp(
                    d, TSAConfig(url=server.url, trust_roots_pem=ca.read_bytes())
                )
                with lock:
                    serials.append(token.serial_number)

        threads = [threading.Thread(target=work, args=(servers[n % 2], n)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        digest = hashlib.sha256(b"agency").digest()
        token = request_timestamp(
            digest, TSAConfig(url=servers[1].url, trust_roots_pem=ca.read_bytes())
        )
    assert len(serials) == 12 and len(set(serials)) == 12  # one serial file, two servers
    assert token.policy_oid == policy
    ok, output = openssl_verify(
        openssl, tmp_path / "v", token.response_der, ca_pem=ca.read_bytes(), digest_hex=digest.hex()
    )
    assert ok, output


def test_agency_tsa_refuses_unusable_certificates(tsa: DevelopmentTSA, tmp_path: Path) -> None:
    from anchoring.devtsa import AgencyTSA

    cert, key, _ca = _agency_files(tsa, tmp_path)
    ca_as_cert = tmp_path / "ca-as-tsa.pem"
    ca_as_cert.write_bytes(tsa.ca_certificate_pem)
    with pytest.raises(ConfigurationError, match="lacks the critical timeStamping"):
        AgencyTSA(tmp_path / "s", certificate=ca_as_cert, key=key, policy_oid="1.2.3")
    other_key = tmp_path / "other.key"
    other_key.write_bytes(devtsa._key_pem(devtsa._new_key()))
    with pytest.raises(ConfigurationError, match="does not belong"):
        AgencyTSA(tmp_path / "s", certificate=cert, key=other_key, policy_oid="1.2.3")
    with pytest.raises(ConfigurationError, match="not a dotted OID"):
        AgencyTSA(tmp_path / "s", certificate=cert, key=key, policy_oid="policy")
