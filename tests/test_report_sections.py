"""Report sections a defence lawyer cannot pick apart: trust titles and exhibit descriptions.

"Trusted time-stamp" is printed only for a token that verifies against a TSA
root in this machine's trust configuration; the standing is decided by the
facade from the trust file and real tokens (an OpenSSL-backed TSA), never from
what the token says of itself. Every exhibit role capture writes has a
description, printed in the report's language.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from anchoring.devtsa import DevelopmentTSA
from anchoring.tsa import request_timestamp
from evidence.model.records import AnchorReceipt, ReportInput, TimestampToken, TrustStanding
from evidence.model.trust import (
    TrustedChain,
    TrustPolicy,
    certificates_from_pem,
    save_trust,
)
from evidence.services._report_trust import anchor_standing, report_standings, timestamp_standing
from reports.pdf import render_report
from reports.pdf._descriptions import exhibit_description, known_roles
from tests.conftest import REPO, require_tool
from tests.test_report_pdf import MANIFEST_SHA256, make_input, pdf_text, squeezed

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SUBMITTER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
OTHER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

TITLES = {
    ("zh", TrustStanding.TRUSTED): "可信时间戳",
    ("zh", TrustStanding.DEVELOPMENT): "时间戳（开发用时间戳服务，非可信第三方）",
    ("zh", TrustStanding.UNTRUSTED): "时间戳（签发机构未列入本机信任配置）",
    ("en", TrustStanding.TRUSTED): "Trusted time-stamp",
    ("en", TrustStanding.DEVELOPMENT): "Time-stamp (development TSA, not a trusted third party)",
    ("en", TrustStanding.UNTRUSTED): (
        "Time-stamp (issuer not in this machine's trust configuration)"
    ),
}
ANCHOR_TITLES = {
    ("zh", TrustStanding.TRUSTED): "区块链存证（所在链与存证合约已列入本机信任配置）",
    ("zh", TrustStanding.DEVELOPMENT): "区块链存证（本机开发用测试链，无第三方见证）",
    ("zh", TrustStanding.UNTRUSTED): "区块链存证（所在链或存证合约未列入本机信任配置）",
    ("en", TrustStanding.TRUSTED): (
        "Blockchain anchor (chain and registry in this machine's trust configuration)"
    ),
    ("en", TrustStanding.DEVELOPMENT): (
        "Blockchain anchor (local development chain, no third-party witness)"
    ),
    ("en", TrustStanding.UNTRUSTED): (
        "Blockchain anchor (chain or registry not in this machine's trust configuration)"
    ),
}


@pytest.fixture
def poppler() -> None:
    require_tool("pdftotext")


needs_poppler = pytest.mark.usefixtures("poppler")


# --- real tokens ------------------------------------------------------------------


@pytest.fixture(scope="module")
def agency_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevelopmentTSA]:
    """An OpenSSL TSA with its own root, standing in for an agency's TSA."""
    require_tool("openssl")
    with DevelopmentTSA(tmp_path_factory.mktemp("agency-tsa")) as tsa:
        yield tsa


@pytest.fixture(scope="module")
def other_root(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    require_tool("openssl")
    return DevelopmentTSA(tmp_path_factory.mktemp("other-tsa")).ca_certificate_pem


@pytest.fixture(scope="module")
def agency_token(agency_tsa: DevelopmentTSA) -> TimestampToken:
    """A real token over the manifest digest from a TSA that is not the development one."""
    config = replace(agency_tsa.config(), development=False)
    return request_timestamp(bytes.fromhex(MANIFEST_SHA256), config)


def _tsa_policy(pem: bytes, *, development: bool = False) -> TrustPolicy:
    return TrustPolicy(tsa_roots=certificates_from_pem("agency TSA", pem, development=development))


def test_token_verifying_against_a_configured_root_is_trusted(
    agency_token: TimestampToken, agency_tsa: DevelopmentTSA
) -> None:
    policy = _tsa_policy(agency_tsa.ca_certificate_pem)
    assert timestamp_standing(policy, agency_token, MANIFEST_SHA256) is TrustStanding.TRUSTED


def test_token_with_no_configured_root_is_untrusted(agency_token: TimestampToken) -> None:
    # The token carries its own root (trust_root_pem): that is no trust.
    assert agency_token.trust_root_pem
    assert (
        timestamp_standing(TrustPolicy(), agency_token, MANIFEST_SHA256) is TrustStanding.UNTRUSTED
    )


def test_token_of_another_tsa_than_the_configured_one_is_untrusted(
    agency_token: TimestampToken, other_root: bytes
) -> None:
    policy = _tsa_policy(other_root)
    assert timestamp_standing(policy, agency_token, MANIFEST_SHA256) is TrustStanding.UNTRUSTED


def test_token_over_another_manifest_is_untrusted(
    agency_token: TimestampToken, agency_tsa: DevelopmentTSA
) -> None:
    policy = _tsa_policy(agency_tsa.ca_certificate_pem)
    other_digest = "00" * 32
    assert timestamp_standing(policy, agency_token, other_digest) is TrustStanding.UNTRUSTED


def test_tampered_token_is_untrusted(
    agency_token: TimestampToken, agency_tsa: DevelopmentTSA
) -> None:
    policy = _tsa_policy(agency_tsa.ca_certificate_pem)
    der = bytearray(agency_token.response_der)
    der[-40] ^= 0x01  # inside the CMS signature value
    tampered = replace(agency_token, response_der=bytes(der))
    assert timestamp_standing(policy, tampered, MANIFEST_SHA256) is TrustStanding.UNTRUSTED


def test_root_configured_as_development_titles_development(
    agency_token: TimestampToken, agency_tsa: DevelopmentTSA
) -> None:
    policy = _tsa_policy(agency_tsa.ca_certificate_pem, development=True)
    assert timestamp_standing(policy, agency_token, MANIFEST_SHA256) is TrustStanding.DEVELOPMENT


def test_development_token_is_never_titled_trusted(
    agency_token: TimestampToken, agency_tsa: DevelopmentTSA
) -> None:
    """Trusting the development TSA's root by hand, without --development, still does
    not make its tokens "trusted": the record's own word lowers a title."""
    policy = _tsa_policy(agency_tsa.ca_certificate_pem)
    dev_token = replace(agency_token, development=True)
    assert timestamp_standing(policy, dev_token, MANIFEST_SHA256) is TrustStanding.DEVELOPMENT
    assert timestamp_standing(policy, None, MANIFEST_SHA256) is TrustStanding.UNTRUSTED


def test_standings_come_from_the_trust_file_of_the_data_directory(
    tmp_path: Path,
    agency_token: TimestampToken,
    agency_tsa: DevelopmentTSA,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EVIDENCE_TRUST_FILE", raising=False)
    anchor = _anchor()
    before = report_standings(tmp_path, agency_token, anchor, MANIFEST_SHA256)
    assert before.timestamp is TrustStanding.UNTRUSTED
    assert before.anchor is TrustStanding.UNTRUSTED
    policy = _tsa_policy(agency_tsa.ca_certificate_pem)
    policy = replace(policy, chains=(_chain(),))
    save_trust(policy, tmp_path / "trust.json")
    after = report_standings(tmp_path, agency_token, anchor, MANIFEST_SHA256)
    assert after.timestamp is TrustStanding.TRUSTED
    assert after.anchor is TrustStanding.TRUSTED


# --- anchors against the configured chains --------------------------------------------


def _anchor(**changes: object) -> AnchorReceipt:
    base = AnchorReceipt(
        chain_id=1001,
        network_name="agency chain",
        rpc_url="http://127.0.0.1:8545",
        contract_address=REGISTRY,
        transaction_hash="0x" + "ab" * 32,
        block_number=42,
        block_hash="0x" + "cd" * 32,
        block_time=datetime(2026, 11, 26, 10, 25, 21, tzinfo=UTC),
        root="0x" + MANIFEST_SHA256,
        submitter=SUBMITTER,
        reference="item",
        development=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _chain(**changes: object) -> TrustedChain:
    base = TrustedChain(
        name="agency chain", chain_id=1001, registry=REGISTRY.lower(), submitters=(SUBMITTER,)
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("chain", "anchor", "expected"),
    [
        (_chain(), _anchor(), TrustStanding.TRUSTED),
        (_chain(submitters=()), _anchor(submitter=OTHER), TrustStanding.TRUSTED),
        (_chain(development=True), _anchor(), TrustStanding.DEVELOPMENT),
        (_chain(), _anchor(development=True), TrustStanding.DEVELOPMENT),
        (None, _anchor(), TrustStanding.UNTRUSTED),
        (_chain(chain_id=1002), _anchor(), TrustStanding.UNTRUSTED),
        (_chain(registry=OTHER), _anchor(), TrustStanding.UNTRUSTED),
        (_chain(registry=None), _anchor(), TrustStanding.UNTRUSTED),
        (_chain(), _anchor(submitter=OTHER), TrustStanding.UNTRUSTED),
    ],
    ids=[
        "configured",
        "any-submitter",
        "development-entry",
        "development-record",
        "no-entry",
        "other-chain",
        "other-registry",
        "no-registry",
        "other-submitter",
    ],
)
def test_anchor_standing(
    chain: TrustedChain | None, anchor: AnchorReceipt, expected: TrustStanding
) -> None:
    policy = TrustPolicy(chains=(chain,) if chain is not None else ())
    assert anchor_standing(policy, anchor) is expected


# --- the rendered report --------------------------------------------------------------


def _render(tmp_path: Path, language: str, standing: TrustStanding) -> str:
    data: ReportInput = replace(
        make_input(tmp_path, language=language, development=False),
        timestamp_standing=standing,
        anchor_standing=standing,
    )
    pdf = render_report(data, tmp_path / f"{language}-{standing.value}.pdf")
    return squeezed(pdf_text(pdf))


@needs_poppler
@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("standing", list(TrustStanding))
def test_headings_say_what_the_trust_configuration_says(
    tmp_path: Path, language: str, standing: TrustStanding
) -> None:
    text = _render(tmp_path, language, standing)
    assert squeezed(TITLES[language, standing]) in text
    assert squeezed(ANCHOR_TITLES[language, standing]) in text
    for other in TrustStanding:
        if other is not standing:
            assert squeezed(TITLES[language, other]) not in text, other
            assert squeezed(ANCHOR_TITLES[language, other]) not in text, other
    trusted = "可信时间戳" if language == "zh" else "Trustedtime-stamp"
    assert (trusted in text) is (standing is TrustStanding.TRUSTED)
    caveat = "采信前" if language == "zh" else "Beforerelyingon"
    assert (caveat in text) is (standing is TrustStanding.UNTRUSTED)


@needs_poppler
def test_default_report_input_claims_no_trust(tmp_path: Path) -> None:
    """A ReportInput made without a facade decision never says "trusted"."""
    data = make_input(tmp_path, language="zh", development=False)
    assert data.timestamp_standing is TrustStanding.UNTRUSTED
    text = squeezed(pdf_text(render_report(data, tmp_path / "default.pdf")))
    assert "可信时间戳" not in text
    assert squeezed(TITLES["zh", TrustStanding.UNTRUSTED]) in text


@needs_poppler
def test_untrusted_timestamp_shows_the_tsa_certificate_fingerprint(
    tmp_path: Path, agency_token: TimestampToken
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    fingerprint = (
        x509.load_pem_x509_certificate(agency_token.tsa_certificate_pem)
        .fingerprint(hashes.SHA256())
        .hex()
    )
    data = replace(make_input(tmp_path, language="en"), timestamp=agency_token)
    text = squeezed(pdf_text(render_report(data, tmp_path / "fp.pdf")))
    assert fingerprint in text


# --- exhibit descriptions ----------------------------------------------------------------


def _capture_roles() -> set[str]:
    """Every artifact role the capture stage writes, read from its source."""
    roles: set[str] = set()
    for path in (REPO / "capture").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for call in re.finditer(r"(?:CapturedFile|_Made)\((.*?)\)", source, re.DOTALL):
            strings = re.findall(r'"([a-z][a-z0-9-]*)"', call.group(1))
            roles.update(s for s in strings if "/" not in s)
    return roles


def test_every_role_capture_writes_has_a_description() -> None:
    roles = _capture_roles()
    assert {"screenshot", "warc", "viewport-screenshot", "dom"} <= roles, roles
    assert roles <= known_roles(), roles - known_roles()
    for role in known_roles():
        zh, en = exhibit_description("zh", role), exhibit_description("en", role)
        assert zh and en and zh != en, role
        assert re.search(r"[\u4e00-\u9fff]", zh), role
        assert not re.search(r"[\u4e00-\u9fff]", en), role


def test_an_unknown_role_gets_no_invented_description() -> None:
    assert exhibit_description("zh", "something-new") is None


@needs_poppler
@pytest.mark.parametrize("language", ["zh", "en"])
def test_exhibit_list_prints_each_description(tmp_path: Path, language: str) -> None:
    data = make_input(tmp_path, language=language)
    text = squeezed(pdf_text(render_report(data, tmp_path / "exhibits.pdf")))
    label = "说明：" if language == "zh" else "Whatitshows:"
    described = [e for e in data.exhibits if exhibit_description(language, e.role)]
    assert described
    for exhibit in described:
        description = exhibit_description(language, exhibit.role)
        assert description is not None
        assert squeezed(description) in text, exhibit.role
    assert text.count(label) == len(described)


# --- the case report ----------------------------------------------------------------------


@needs_poppler
@pytest.mark.parametrize("language", ["zh", "en"])
def test_case_report_names_each_items_standing(tmp_path: Path, language: str) -> None:
    from reports.case_report import CaseReportInput, CaseReportItem, render_case_report

    data = make_input(tmp_path, language=language, development=False)
    suffixes = {
        TrustStanding.TRUSTED: (
            "（已列入本机信任配置）",
            "(in this machine's trust configuration)",
        ),
        TrustStanding.DEVELOPMENT: (
            "（开发环境，非可信第三方）",
            "(development, not a trusted third",
        ),
        TrustStanding.UNTRUSTED: (
            "（未列入本机信任配置）",
            "(not in this machine's trust configuration)",
        ),
    }
    for standing, (zh, en) in suffixes.items():
        item = CaseReportItem(
            item_id=f"item-{standing.value}",
            status="anchored",
            requested_url="https://www.shop.example.test/",
            page_title="shop",
            sealed_at=data.generated_at,
            manifest_sha256=data.manifest_sha256,
            manifest_sm3=data.manifest_sm3,
            timestamp=data.timestamp,
            anchor=data.anchor,
            timestamp_standing=standing,
            anchor_standing=standing,
        )
        report = CaseReportInput(
            case_number=data.case_number,
            case_title=data.case_title,
            case_cause=data.case_cause,
            agency=data.agency,
            officers=data.officers,
            generated_at=data.generated_at,
            tool_version="0.1.0",
            items=(item,),
            language=language,
        )
        pdf = render_case_report(report, tmp_path / f"case-{language}-{standing.value}.pdf")
        text = squeezed(pdf_text(pdf))
        expected = squeezed(zh if language == "zh" else en)
        # Once after the TSA's name, once after the chain's.
        assert text.count(expected) == 2, (standing, text)
        for other, pair in suffixes.items():
            if other is not standing:
                assert squeezed(pair[0] if language == "zh" else pair[1]) not in text, other
