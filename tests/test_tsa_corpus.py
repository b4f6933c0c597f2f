"""RFC 3161 responses shaped like real TSAs' ones: our verdict next to `openssl ts -verify`'s.

The corpus (:mod:`tests.tsa_corpus`) is made fresh each run with the stock
``openssl ts -reply`` and pyasn1 variants of its replies. For every item the
test asserts what :func:`anchoring.tsa.verify_timestamp` says *and* what the
command an expert would run says, so the two are shown to agree or the
difference is written down next to the case (``why``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import decode_timestamp_response

from anchoring import _tsa_asn1
from anchoring.tsa import TimestampVerification, verify_timestamp, verify_timestamp_token
from evidence.model.errors import TimestampError
from tests.conftest import require_tool
from tests.tsa_corpus import (
    CorpusTSA,
    Issued,
    Resign,
    certificates_of,
    gen_time_of,
    make_ca,
    make_tsa_certificate,
    new_key,
    openssl_verify,
    resign,
    token_of,
    with_certificates,
)

DAY = dt.timedelta(days=1)
YEAR = dt.timedelta(days=365)
DIGEST = hashlib.sha256("市监-2026-017 manifest".encode()).digest()


@dataclass(frozen=True)
class Openssl:
    """One run of ``openssl ts -verify`` and what it must say."""

    passes: bool
    untrusted: bool = False
    """Give the case's supplied certificates as ``-untrusted``."""
    attime: str | None = None
    """``"gen_time"`` or ``"now"`` (the case's verification time) for ``-attime``."""
    why: str = ""


@dataclass(frozen=True)
class Case:
    blob: bytes
    roots_pem: bytes
    error: str | None
    """A regex our verifier's message must match; ``None``: it must pass."""
    openssl: tuple[Openssl, ...]
    supplied_pem: bytes | None = None
    token: bool = False
    now: dt.datetime | None = None


@dataclass
class Pki:
    openssl: str
    directory: Path
    now: dt.datetime = field(init=False)
    """When the corpus is built: every validity window is placed around it."""
    root: Issued = field(init=False)

    def __post_init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.root = make_ca("Corpus Root", self.now - 5 * YEAR, self.now + 5 * YEAR)

    def tsa(
        self,
        name: str,
        *,
        valid: tuple[dt.datetime, dt.datetime] | None = None,
        intermediate: tuple[dt.datetime, dt.datetime] | None = None,
        root: Issued | None = None,
        ec: bool = False,
        ess_cert_id_alg: str = "sha256",
        embed_chain: bool = False,
    ) -> CorpusTSA:
        anchor = root or self.root
        valid = valid or (self.now - DAY, self.now + YEAR)
        inter = make_ca(f"{name} CA", *intermediate, issuer=anchor) if intermediate else None
        leaf = make_tsa_certificate(
            inter or anchor, *valid, kind="ec" if ec else "rsa", common_name=name
        )
        return CorpusTSA(
            self.openssl,
            self.directory / name,
            anchor,
            leaf,
            intermediate=inter,
            ess_cert_id_alg=ess_cert_id_alg,
            embed_chain=embed_chain,
        )


BUILDERS: dict[str, Callable[[Pki], Case]] = {}


def case(builder: Callable[[Pki], Case]) -> Callable[[Pki], Case]:
    BUILDERS[builder.__name__] = builder
    return builder


OPENSSL_OK = (Openssl(passes=True),)
OPENSSL_FAILS = (Openssl(passes=False),)


# --- what real TSAs send, accepted ----------------------------------------------------


@case
def certificate_embedded(pki: Pki) -> Case:
    return Case(pki.tsa("Plain TSA").stamp(DIGEST), pki.root.pem, None, OPENSSL_OK)


@case
def bare_token(pki: Pki) -> Case:
    blob = pki.tsa("Token TSA").stamp(DIGEST, token_out=True)
    return Case(blob, pki.root.pem, None, OPENSSL_OK, token=True)


@case
def certificates_absent_supplied(pki: Pki) -> Case:
    tsa = pki.tsa("Certless TSA")
    blob = tsa.stamp(DIGEST, cert_req=False)  # certReq false: openssl embeds nothing
    assert certificates_of(blob) is None
    return Case(blob, pki.root.pem, None, (Openssl(True, untrusted=True),), tsa.tsa.pem)


@case
def certificates_empty_set_supplied(pki: Pki) -> Case:
    tsa = pki.tsa("Empty-set TSA")
    blob = with_certificates(tsa.stamp(DIGEST), [])
    assert certificates_of(blob) == []
    return Case(blob, pki.root.pem, None, (Openssl(True, untrusted=True),), tsa.tsa.pem)


@case
def chain_embedded_by_openssl_not_in_der_order(pki: Pki) -> Case:
    tsa = pki.tsa("Chained TSA", intermediate=(pki.now - YEAR, pki.now + YEAR), embed_chain=True)
    blob = tsa.stamp(DIGEST)
    embedded = certificates_of(blob)
    assert embedded is not None and embedded != sorted(embedded), "SET already in DER order"
    with pytest.raises(ValueError, match="InvalidSetOrdering"):
        decode_timestamp_response(blob)  # why the library sees a sorted view
    return Case(blob, pki.root.pem, None, OPENSSL_OK)


@case
def chain_in_reverse_der_order(pki: Pki) -> Case:
    tsa = pki.tsa("Reversed TSA", intermediate=(pki.now - YEAR, pki.now + YEAR))
    assert tsa.intermediate is not None
    members = sorted([tsa.tsa.der, tsa.intermediate.der], reverse=True)
    blob = with_certificates(tsa.stamp(DIGEST), members, der_order=False)
    return Case(blob, pki.root.pem, None, OPENSSL_OK)


@case
def unrelated_certificates_added(pki: Pki) -> Case:
    tsa = pki.tsa("Crowded TSA")
    stranger = make_ca("Unrelated CA", pki.now - YEAR, pki.now + YEAR)
    other = make_tsa_certificate(stranger, pki.now - DAY, pki.now + YEAR, common_name="Other TSA")
    blob = tsa.stamp(DIGEST)
    embedded = certificates_of(blob) or []
    blob = with_certificates(blob, [*embedded, stranger.der, other.der])
    return Case(blob, pki.root.pem, None, OPENSSL_OK)


@case
def intermediate_supplied_by_the_trust_configuration(pki: Pki) -> Case:
    tsa = pki.tsa("Leaf-only TSA", intermediate=(pki.now - YEAR, pki.now + YEAR))
    return Case(
        tsa.stamp(DIGEST), pki.root.pem, None, (Openssl(True, untrusted=True),), tsa.chain_pem
    )


@case
def ess_cert_id_v1_by_openssl(pki: Pki) -> Case:
    blob = pki.tsa("SHA-1 ESS TSA", ess_cert_id_alg="sha1").stamp(DIGEST)
    return Case(blob, pki.root.pem, None, OPENSSL_OK)


@case
def ess_cert_id_v1_and_v2(pki: Pki) -> Case:
    tsa = pki.tsa("Both ESS TSA")
    ess = ((1, tsa.tsa.der), (2, tsa.tsa.der))
    blob = resign(tsa.stamp(DIGEST), Resign(key=tsa.tsa.key, ess=ess))
    return Case(blob, pki.root.pem, None, OPENSSL_OK)


@case
def ecdsa_tsa(pki: Pki) -> Case:
    return Case(pki.tsa("EC TSA", ec=True).stamp(DIGEST), pki.root.pem, None, OPENSSL_OK)


# --- long-term verification: judged at genTime ---------------------------------------


@case
def expired_since_gen_time(pki: Pki) -> Case:
    """A token from two years ago; its TSA certificate ended a year ago."""
    tsa = pki.tsa("Retired TSA", valid=(pki.now - 3 * YEAR, pki.now - YEAR))
    blob = resign(tsa.stamp(DIGEST), Resign(key=tsa.tsa.key, gen_time=pki.now - 2 * YEAR))
    return Case(
        blob,
        pki.root.pem,
        None,
        (
            Openssl(False, why="openssl checks at its own clock: certificate has expired"),
            Openssl(True, attime="gen_time", why="the expert's command: -attime genTime"),
        ),
    )


@case
def short_lived_checked_a_day_later(pki: Pki) -> Case:
    """Signed now by openssl, verified as if tomorrow, after the certificate ended."""
    tsa = pki.tsa("Short-lived TSA", valid=(pki.now - DAY, pki.now + dt.timedelta(minutes=5)))
    return Case(
        tsa.stamp(DIGEST),
        pki.root.pem,
        None,
        (
            Openssl(False, attime="now", why="at tomorrow's clock the certificate has expired"),
            Openssl(True, attime="gen_time"),
        ),
        now=pki.now + DAY,
    )


# --- refused, each with its own message ------------------------------------------------


@case
def certificates_absent_not_supplied(pki: Pki) -> Case:
    blob = pki.tsa("Unknown TSA").stamp(DIGEST, cert_req=False)
    error = r"TSA signing certificate not found .* carries no certificate and no TSA cert"
    return Case(blob, pki.root.pem, error, OPENSSL_FAILS)


@case
def wrong_certificate_supplied(pki: Pki) -> Case:
    blob = pki.tsa("Mistaken TSA").stamp(DIGEST, cert_req=False)
    other = pki.tsa("Another TSA").tsa.pem
    error = r"TSA signing certificate not found .* none of the TSA certificates supplied is it"
    return Case(blob, pki.root.pem, error, (Openssl(False, untrusted=True),), other)


@case
def intermediate_missing(pki: Pki) -> Case:
    blob = pki.tsa("Orphan TSA", intermediate=(pki.now - YEAR, pki.now + YEAR)).stamp(DIGEST)
    return Case(
        blob, pki.root.pem, r"TSA certificate is not issued by a trusted root", OPENSSL_FAILS
    )


@case
def gen_time_after_the_verification_time(pki: Pki) -> Case:
    return Case(
        pki.tsa("Hasty TSA").stamp(DIGEST),
        pki.root.pem,
        r"genTime .* lies after the verification time",
        (Openssl(True, attime="now", why="openssl does not compare genTime with its clock"),),
        now=pki.now - dt.timedelta(hours=1),
    )


@case
def tsa_certificate_not_yet_valid(pki: Pki) -> Case:
    tsa = pki.tsa("Early TSA", valid=(pki.now + DAY, pki.now + YEAR))
    error = r"TSA certificate was not valid at genTime .* \(its validity began only at"
    return Case(tsa.stamp(DIGEST), pki.root.pem, error, (Openssl(False, attime="gen_time"),))


@case
def tsa_certificate_expired_at_gen_time(pki: Pki) -> Case:
    tsa = pki.tsa("Late TSA", valid=(pki.now - 30 * DAY, pki.now - DAY))
    error = r"TSA certificate was not valid at genTime .* \(it had expired at"
    return Case(tsa.stamp(DIGEST), pki.root.pem, error, (Openssl(False, attime="gen_time"),))


@case
def intermediate_expired_at_gen_time(pki: Pki) -> Case:
    tsa = pki.tsa(
        "Stale-CA TSA",
        valid=(pki.now - 3 * YEAR, pki.now + YEAR),
        intermediate=(pki.now - 3 * YEAR, pki.now - YEAR),
        embed_chain=True,
    )
    error = r"intermediate CA certificate .*Stale-CA TSA CA.* was not valid at genTime"
    return Case(tsa.stamp(DIGEST), pki.root.pem, error, (Openssl(False, attime="gen_time"),))


@case
def root_expired_at_gen_time(pki: Pki) -> Case:
    old_root = make_ca("Old Root", pki.now - 3 * YEAR, pki.now - YEAR)
    tsa = pki.tsa("Old-root TSA", valid=(pki.now - 3 * YEAR, pki.now + YEAR), root=old_root)
    error = r"trust root .*Old Root.* was not valid at genTime"
    return Case(tsa.stamp(DIGEST), old_root.pem, error, (Openssl(False, attime="gen_time"),))


@case
def ess_cert_id_v2_names_another_certificate(pki: Pki) -> Case:
    tsa = pki.tsa("Misnamed TSA")
    blob = resign(tsa.stamp(DIGEST), Resign(key=tsa.tsa.key, ess=((2, pki.root.der),)))
    error = r"signing-certificate attribute \(ESSCertIDv2\) does not match"
    return Case(blob, pki.root.pem, error, OPENSSL_FAILS)


@case
def ess_cert_id_v1_names_another_certificate(pki: Pki) -> Case:
    tsa = pki.tsa("Misnamed v1 TSA")
    blob = resign(tsa.stamp(DIGEST), Resign(key=tsa.tsa.key, ess=((1, pki.root.der),)))
    error = r"signing-certificate attribute \(ESSCertID\) does not match"
    return Case(blob, pki.root.pem, error, OPENSSL_FAILS)


@case
def signed_by_another_key(pki: Pki) -> Case:
    blob = resign(pki.tsa("Forged TSA").stamp(DIGEST), Resign(key=new_key()))
    error = r"signature invalid \(the signed attributes do not verify"
    return Case(blob, pki.root.pem, error, OPENSSL_FAILS)


@case
def gen_time_edited_after_signing(pki: Pki) -> Case:
    blob = resign(pki.tsa("Edited TSA").stamp(DIGEST), Resign(key=None, gen_time=pki.now - YEAR))
    error = r"signature invalid \(the signed messageDigest is not the digest of the TSTInfo"
    return Case(blob, pki.root.pem, error, OPENSSL_FAILS)


@case
def sha1_token(pki: Pki) -> Case:
    tsa = pki.tsa("SHA-1 TSA")
    blob = resign(tsa.stamp(DIGEST), Resign(key=tsa.tsa.key, signature="sha1"))
    why = "openssl still accepts SHA-1 signatures; evidence does not"
    return Case(blob, pki.root.pem, r"SHA-1, which is not accepted", (Openssl(True, why=why),))


@case
def rsassa_pss_token(pki: Pki) -> Case:
    tsa = pki.tsa("PSS TSA")
    blob = resign(tsa.stamp(DIGEST), Resign(key=tsa.tsa.key, signature="pss"))
    why = "OpenSSL's PKCS #7 code reads it as PKCS #1 v1.5 and fails"
    return Case(
        blob, pki.root.pem, r"RSASSA-PSS signature: not supported", (Openssl(False, why=why),)
    )


# --- the tests ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openssl() -> str:
    return require_tool("openssl")


@pytest.fixture(scope="module")
def pki(openssl: str, tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(openssl, tmp_path_factory.mktemp("tsa-corpus"))


@pytest.fixture(scope="module")
def corpus(pki: Pki) -> dict[str, Case]:
    return {name: build(pki) for name, build in BUILDERS.items()}


def _ours(item: Case) -> TimestampVerification:
    verify = verify_timestamp_token if item.token else verify_timestamp
    return verify(
        item.blob, DIGEST, item.roots_pem, tsa_certificates_pem=item.supplied_pem, now=item.now
    )


def _gen_time(item: Case) -> dt.datetime:
    return gen_time_of(_tsa_asn1.wrap_token(item.blob) if item.token else item.blob)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_our_verdict_and_openssls(
    name: str, corpus: dict[str, Case], openssl: str, tmp_path: Path
) -> None:
    item = corpus[name]
    if item.error is None:
        result = _ours(item)
        assert result.gen_time == _gen_time(item)
        assert result.imprint == DIGEST.hex() and result.trust_anchor_pem == item.roots_pem
    else:
        with pytest.raises(TimestampError, match=item.error) as caught:
            _ours(item)
        assert "\n" not in caught.value.message
    for number, run in enumerate(item.openssl):
        if run.attime == "now":
            assert item.now is not None, f"{name}: -attime now needs the case's clock"
        moment = {"gen_time": _gen_time(item), "now": item.now, None: None}[run.attime]
        verdict = openssl_verify(
            openssl,
            tmp_path / str(number),
            item.blob,
            digest=DIGEST,
            ca_pem=item.roots_pem,
            untrusted_pem=item.supplied_pem if run.untrusted else None,
            attime=moment,
            token_in=item.token,
        )
        assert verdict.passed is run.passes, f"openssl ({run.why or 'agrees'}): {verdict.output}"


def test_refusals_are_told_apart(corpus: dict[str, Case]) -> None:
    """Every refusal's message matches its own pattern and no other refusal's."""
    refused = {name: item for name, item in corpus.items() if item.error is not None}
    messages: dict[str, str] = {}
    for name, item in refused.items():
        with pytest.raises(TimestampError) as caught:
            _ours(item)
        messages[name] = caught.value.message
    for name, item in refused.items():
        assert item.error is not None
        others = [n for n, m in messages.items() if n != name and re.search(item.error, m)]
        assert not others, f"{name}'s pattern also matches {others}"


def test_expired_since_is_reported_as_valid_then(corpus: dict[str, Case], pki: Pki) -> None:
    old = _ours(corpus["expired_since_gen_time"])
    assert old.gen_time < old.tsa_certificate_not_after < old.checked_at
    assert old.tsa_certificate_expired
    later = _ours(corpus["short_lived_checked_a_day_later"])
    assert later.checked_at == pki.now + DAY and later.tsa_certificate_expired
    assert not _ours(corpus["certificate_embedded"]).tsa_certificate_expired


def test_supplied_chain_is_reported(corpus: dict[str, Case]) -> None:
    """The path found with supplied certificates is the one stored with the token."""
    item = corpus["intermediate_supplied_by_the_trust_configuration"]
    assert item.supplied_pem is not None
    assert _ours(item).tsa_certificate_pem == item.supplied_pem


def test_the_librarys_view_keeps_every_signed_byte(corpus: dict[str, Case]) -> None:
    """The sorted view handed to rfc3161-client changes only the certificates SET."""
    for name in ("chain_embedded_by_openssl_not_in_der_order", "certificates_empty_set_supplied"):
        blob = corpus[name].blob
        supplied = corpus[name].supplied_pem
        embedded = certificates_of(blob) or []
        extra = [] if supplied is None else [_der(supplied)]
        view = _tsa_asn1.with_certificates(blob, [*embedded, *extra])
        original, viewed = (_tsa_asn1.read_token(token_of(b)) for b in (blob, view))
        assert viewed.tst_info == original.tst_info and viewed.signer == original.signer
        assert sorted(viewed.certificates or ()) == sorted([*embedded, *extra])
        decode_timestamp_response(view)  # the library accepts it


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


def test_naive_now_is_a_programming_error(corpus: dict[str, Case]) -> None:
    item = corpus["certificate_embedded"]
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_timestamp(item.blob, DIGEST, item.roots_pem, now=dt.datetime(2030, 1, 1))
