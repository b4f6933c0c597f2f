"""A report signature passes only on what the verifier's user trusts: the signer and the TSA.

A forger with a data directory of their own has an officer of the same name
and enforcement ID and a development TSA of their own. They re-sign the
genuine bundle's report and recompute the checksums. ``evidence verify``,
trusting the genuine machine (its officers and its TSA), must never pass
that signature: not when both signer and TSA are the forger's, and not when
a genuine officer's signature carries the forger's time-stamp (the time a
court relies on would then rest on the bundle alone). The genuine officer
with the genuine TSA is the control: PASS.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from evidence import Settings, Toolkit, Verdict
from evidence.model.officer_keys import fingerprint
from evidence.model.records import CheckResult, ReportSigner, VerificationReport
from evidence.services.timestamping import trust_roots_of
from evidence.verification import VerifyOptions, run_verification
from reports.bundle import layout as bf
from reports.signing import PdfTimestamper, sign_pdf
from tests.test_verify_checks import (
    EXPORT_OFFICER,
    Captured,
    capture_bundle,
    copy_of,
    exporting_officer,
    reseal_checksums,
)

pytestmark = pytest.mark.slow

OFFLINE = VerifyOptions(offline=True, replay=False)
FORGER_PASSPHRASE = "forger passphrase"


@dataclass(frozen=True)
class Stamping:
    """A data directory's TSA, as the PDF signer takes it."""

    timestamper: PdfTimestamper
    roots_pem: bytes


@pytest.fixture(scope="module")
def captured(
    session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    for captured in capture_bundle(session_settings, tmp_path_factory.mktemp("signature-trust")):
        # The officer who exports (and here signs) is one of this machine's: trusted too.
        exporting_officer(captured.kit)
        captured.kit.trust.trust_this_machine()
        yield captured


@pytest.fixture(scope="module")
def forger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReportSigner, Stamping]]:
    """A second data directory: the same officer name and ID, its own key, its own TSA."""
    home = tmp_path_factory.mktemp("forger-home")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    name, enforcement_id = EXPORT_OFFICER
    with Toolkit(settings) as kit:
        kit.add_officer(name, enforcement_id, passphrase=FORGER_PASSPHRASE)
        signer = kit.report_signer(enforcement_id, FORGER_PASSPHRASE)
        configs = kit.timestamping.tsa_configs()
        yield signer, Stamping(kit.timestamping.pdf_timestamper(configs), trust_roots_of(configs))


def _genuine_stamping(captured: Captured) -> Stamping:
    configs = captured.kit.timestamping.tsa_configs()
    return Stamping(captured.kit.timestamping.pdf_timestamper(configs), trust_roots_of(configs))


def _resigned(
    captured: Captured, out: Path, signer: ReportSigner, stamping: Stamping
) -> VerificationReport:
    """The genuine bundle with its report signed by ``signer`` under ``stamping``, verified."""
    bundle = copy_of(captured.unpacked, out / "bundle")
    signed = sign_pdf(
        captured.unpacked / bf.REPORT,
        out / "signed.pdf",
        key=signer.key,
        certificate=signer.certificate,
        chain=signer.chain,
        field_name="Officer1",
        signer_label=signer.label,
        timestamper=stamping.timestamper,
        tsa_roots=stamping.roots_pem,
    )
    shutil.copyfile(signed, bundle / bf.REPORT)
    reseal_checksums(bundle)
    # The genuine machine's trust configuration: its officers and its TSA.
    return captured.kit.verify(bundle)


def _signature(report: VerificationReport) -> CheckResult:
    (found,) = [c for c in report.checks if c.check == "report.signature"]
    return found


def test_the_genuine_officer_and_tsa_pass(captured: Captured, tmp_path: Path) -> None:
    result = _signature(
        _resigned(captured, tmp_path, exporting_officer(captured.kit), _genuine_stamping(captured))
    )
    assert result.verdict is Verdict.PASS, result
    assert "from a TSA root you trust" in result.detail


def test_the_forgers_officer_and_tsa_never_pass(
    captured: Captured, forger: tuple[ReportSigner, Stamping], tmp_path: Path
) -> None:
    signer, stamping = forger
    result = _signature(_resigned(captured, tmp_path, signer, stamping))
    assert result.verdict is Verdict.UNTRUSTED, result
    # The same name and enforcement ID, but another certificate: named by its fingerprint.
    assert f"enforcement ID {EXPORT_OFFICER[1]}" in result.detail
    assert fingerprint(signer.certificate) in result.detail
    assert fingerprint(exporting_officer(captured.kit).certificate) not in result.detail
    assert "not established against your signer roots" in result.detail
    assert "does not chain to a TSA root you trust" in result.detail


def test_a_genuine_signature_with_the_forgers_time_stamp_never_passes(
    captured: Captured, forger: tuple[ReportSigner, Stamping], tmp_path: Path
) -> None:
    _, stamping = forger
    result = _signature(_resigned(captured, tmp_path, exporting_officer(captured.kit), stamping))
    # Who signed is established; when rests on the forger's TSA: never a pass.
    assert result.verdict is Verdict.UNTRUSTED, result
    assert "chains to a signer root you trust" in result.detail
    assert "does not chain to a TSA root you trust" in result.detail
    assert "the signing time rests on the bundle alone" in result.detail


def test_run_verification_without_tsa_roots_names_the_missing_trust(
    captured: Captured, tmp_path: Path
) -> None:
    bundle = copy_of(captured.unpacked, tmp_path / "bundle")
    signed = sign_pdf(
        captured.unpacked / bf.REPORT,
        tmp_path / "signed.pdf",
        key=exporting_officer(captured.kit).key,
        certificate=exporting_officer(captured.kit).certificate,
        chain=(),
        field_name="Officer1",
        signer_label="",
        timestamper=_genuine_stamping(captured).timestamper,
        tsa_roots=_genuine_stamping(captured).roots_pem,
    )
    shutil.copyfile(signed, bundle / bf.REPORT)
    reseal_checksums(bundle)
    # No trust configuration at all: nothing the user trusts, so nothing passes.
    result = _signature(run_verification(bundle, OFFLINE).report)
    assert result.verdict is Verdict.UNTRUSTED, result
    assert "evidence trust add tsa, or --trust-roots" in result.detail
