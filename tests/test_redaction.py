"""Credentials never leave the URL they were given in."""

from __future__ import annotations

import pytest

from anchoring.tsa import TSAConfig
from evidence.model.errors import ConfigurationError
from evidence.model.redaction import REDACTED, redact_url

SECRET = "s3cr3tTokenValue0123456789abcdef"


@pytest.mark.parametrize(
    "url",
    [
        f"https://user:{SECRET}@rpc.example/",
        f"https://{SECRET}@rpc.example/",
        f"https://mainnet.infura.io/v3/{SECRET}",
        f"https://rpc.example/?apikey={SECRET}&chain=1",
        f"https://tsa.example/tsr?access_token={SECRET}",
        f"https://rpc.example:8545/path/{SECRET}/more?x=1",
        f"not a url {SECRET}",
        f"https://rpc.example:99999/{SECRET}",
    ],
)
def test_secrets_are_removed(url: str) -> None:
    shown = redact_url(url)
    assert SECRET not in shown
    assert REDACTED in shown


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8545",
        "https://freetsa.org/tsr",
        "http://[::1]:3161/tsr",
        "https://rpc.example/v3/path?chain=1",
    ],
)
def test_plain_urls_are_kept(url: str) -> None:
    assert redact_url(url) == url


def test_tsa_errors_and_labels_show_no_credentials() -> None:
    config = TSAConfig(url=f"https://u:{SECRET}@tsa.example/tsr", trust_roots_pem=b"x")
    assert SECRET not in config.label
    assert SECRET not in config.shown_url
    with pytest.raises(ConfigurationError) as caught:
        TSAConfig(url=f"https://u:{SECRET}@tsa.example/tsr", trust_roots_pem=b" ")
    assert SECRET not in str(caught.value)
