"""PDF signatures' timestamps take the evidence path: failover, retry, strict verification."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchoring.devtsa import DevelopmentTSA
from anchoring.tsa import RetryPolicy, TSAConfig, verify_timestamp_token
from evidence.model.errors import TimestampError
from evidence.services.timestamping import pdf_timestamper, trust_roots_of
from tests.conftest import require_tool

ONCE = RetryPolicy(attempts=1, backoff_s=0.0)


@pytest.fixture(scope="module")
def devtsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevelopmentTSA]:
    require_tool("openssl")
    with DevelopmentTSA(tmp_path_factory.mktemp("tsa")) as tsa:
        yield tsa


def _dead(roots: bytes) -> TSAConfig:
    return TSAConfig(url="http://127.0.0.1:9/tsr", trust_roots_pem=roots, timeout_s=2.0)


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_the_token_comes_from_the_next_tsa_when_the_first_is_down(
    devtsa: DevelopmentTSA, algorithm: str
) -> None:
    good = devtsa.config()
    configs = [_dead(good.trust_roots_pem), good]
    digest = hashlib.new(algorithm, b"the signed attributes").digest()
    token_der = pdf_timestamper(configs, ONCE)(digest, algorithm)
    checked = verify_timestamp_token(
        token_der, digest, trust_roots_of(configs), hash_algorithm=algorithm
    )
    assert checked.imprint == digest.hex()


def test_no_tsa_answering_is_a_timestamp_error_naming_each(devtsa: DevelopmentTSA) -> None:
    stamp = pdf_timestamper([_dead(devtsa.config().trust_roots_pem)], ONCE)
    with pytest.raises(TimestampError, match=r"no timestamp for the PDF signature: .*127\.0\.0\.1"):
        stamp(hashlib.sha256(b"x").digest(), "sha256")


def test_a_token_from_an_untrusted_tsa_is_refused(devtsa: DevelopmentTSA, tmp_path: Path) -> None:
    require_tool("openssl")
    other_roots = DevelopmentTSA(tmp_path / "other").ca_certificate_pem
    wrong_roots = TSAConfig(url=devtsa.config().url, trust_roots_pem=other_roots)
    with pytest.raises(TimestampError, match="no timestamp for the PDF signature"):
        pdf_timestamper([wrong_roots], ONCE)(hashlib.sha256(b"x").digest(), "sha256")
