"""The report PDF and the custody extract are bound to what is sealed and anchored.

A forger who swaps in another item's report, arms the report with actions,
changes a signed report, or rewrites the custody extract (and recomputes
SHA256SUMS/SM3SUMS, as ``reseal_checksums`` does) is caught by a check of
its own id: ``report.identity``, ``report.content``, ``report.signature``,
``custody.anchor``. One real captured item (DemoSite, Chromium, dev TSA,
anvil) is shared by the module.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pikepdf
import pytest

from evidence import Settings, Verdict
from evidence.model.manifest import canonical_json
from evidence.model.records import CheckResult, VerificationReport
from evidence.services.demo_site import DemoSite
from evidence.verification import VerifyOptions, run_verification
from reports.bundle import layout as bf
from reports.pdfa import ReportIdentity, read_identity, set_identity
from tests.conftest import require_tool
from tests.helpers import capture_as_officer
from tests.test_verify_checks import (
    CASE,
    Captured,
    capture_bundle,
    copy_of,
    exporting_officer,
    reseal_checksums,
    reseal_index,
)

pytestmark = pytest.mark.slow

OFFLINE = VerifyOptions(offline=True, replay=False)
OFFICER = ("王五", "T-BINDING-1")
PASSPHRASE = "binding test passphrase"


@pytest.fixture(scope="module")
def captured(
    session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    yield from capture_bundle(session_settings, tmp_path_factory.mktemp("binding"))


@pytest.fixture(scope="module")
def other_report(captured: Captured, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A second item of the same case and its genuine report."""
    kit = captured.kit
    with DemoSite() as site:
        other = capture_as_officer(kit, CASE, site.url_for("/old-listing"))
    kit.complete(other.id)
    return other.id, kit.report(other.id, tmp_path_factory.mktemp("other") / "other.pdf")


@pytest.fixture(scope="module")
def signed(captured: Captured, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same item exported with its report PAdES-signed by an officer, unpacked."""
    kit = captured.kit
    name, enforcement_id = OFFICER
    kit.add_officer(name, enforcement_id, passphrase=PASSPHRASE)
    out = tmp_path_factory.mktemp("signed")
    bundle = kit.export(
        captured.item_id,
        out / "signed.zip",
        sign_with=kit.report_signer(enforcement_id, PASSPHRASE),
    )
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(out / "unpacked")
    return out / "unpacked"


def _verify(root: Path, options: VerifyOptions = OFFLINE) -> VerificationReport:
    return run_verification(root, options).report


def _only(report: VerificationReport, check: str) -> CheckResult:
    found = [c for c in report.checks if c.check == check]
    assert len(found) == 1, (check, found)
    return found[0]


def _events(root: Path) -> list[dict[str, object]]:
    lines = (root / bf.CUSTODY_LOG).read_bytes().splitlines()
    return [json.loads(line) for line in lines]


def _write_events(root: Path, events: list[dict[str, object]]) -> None:
    (root / bf.CUSTODY_LOG).write_bytes(b"".join(canonical_json(e) + b"\n" for e in events))


def _custody(root: Path) -> dict[str, object]:
    custody = json.loads((root / bf.ANCHOR_JSON).read_bytes())["custody"]
    assert isinstance(custody, dict)
    return custody


# --- the genuine bundle -----------------------------------------------------------


def test_the_genuine_bundle_passes_every_binding_check(captured: Captured) -> None:
    report = _verify(captured.unpacked)
    for check in ("report.format", "report.content", "report.identity", "custody.anchor"):
        assert _only(report, check).verdict is Verdict.PASS, _only(report, check)
    # Not signed: no signature line, and the format line says so.
    assert not [c for c in report.checks if c.check == "report.signature"]
    assert _only(report, "report.format").detail.endswith("not signed")
    anchored = _only(report, "custody.anchor")
    head = _custody(captured.unpacked)
    assert f"event seq {head['seq']} is the custody head" in anchored.detail
    # The export itself (and the item's anchor event) came after the batch was made.
    assert f"not yet anchored (after seq {head['seq']})" in anchored.detail


def test_the_report_names_its_item_in_its_xmp(captured: Captured) -> None:
    manifest_sha256 = hashlib.sha256((captured.unpacked / bf.MANIFEST).read_bytes()).hexdigest()
    with pikepdf.open(captured.unpacked / bf.REPORT) as pdf:
        assert read_identity(pdf) == ReportIdentity(captured.item_id, manifest_sha256)
        meta = pdf.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("2", "B")


def test_the_custody_head_is_the_last_leaf_of_the_anchored_tree(captured: Captured) -> None:
    anchor = json.loads((captured.unpacked / bf.ANCHOR_JSON).read_bytes())
    custody = anchor["custody"]
    assert custody["merkle_index"] == anchor["merkle"]["tree_size"] - 1
    (head,) = [e for e in _events(captured.unpacked) if e["seq"] == custody["seq"]]
    assert head["event_hash"] == custody["event_hash"]


# --- B: the report ----------------------------------------------------------------


def test_another_items_report_is_named(
    captured: Captured, other_report: tuple[str, Path], tmp_path: Path
) -> None:
    other_id, other_pdf = other_report
    bad = copy_of(captured.unpacked, tmp_path / "swapped")
    shutil.copyfile(other_pdf, bad / bf.REPORT)
    reseal_checksums(bad)
    report = _verify(bad)
    identity = _only(report, "report.identity")
    assert identity.verdict is Verdict.FAIL
    assert "is the report of another item" in identity.detail
    assert other_id in identity.detail and captured.item_id in identity.detail
    # The swapped file is a well-formed, inert PDF: only its identity gives it away.
    assert _only(report, "report.format").verdict is Verdict.PASS
    assert _only(report, "report.content").verdict is Verdict.PASS


def test_another_items_report_relabelled_in_its_xmp_is_caught_by_its_text(
    captured: Captured, other_report: tuple[str, Path], tmp_path: Path
) -> None:
    require_tool("pdftotext")
    bad = copy_of(captured.unpacked, tmp_path / "relabelled")
    manifest_sha256 = hashlib.sha256((bad / bf.MANIFEST).read_bytes()).hexdigest()
    with pikepdf.open(other_report[1]) as pdf:
        set_identity(pdf, ReportIdentity(captured.item_id, manifest_sha256))
        pdf.save(bad / bf.REPORT)
    reseal_checksums(bad)
    identity = _only(_verify(bad), "report.identity")
    assert identity.verdict is Verdict.FAIL
    assert "its XMP names this item, but its text does not show" in identity.detail
    assert "item id or manifest SHA-256" in identity.detail


def test_a_report_without_xmp_identity_is_judged_by_its_text(
    captured: Captured, tmp_path: Path
) -> None:
    """Reports made before they named their item in the XMP still verify."""
    require_tool("pdftotext")
    old = copy_of(captured.unpacked, tmp_path / "old-report")
    with pikepdf.open(captured.unpacked / bf.REPORT) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            del meta["dc:identifier"]
            del meta["dc:source"]
        pdf.save(old / bf.REPORT)
    reseal_checksums(old)
    identity = _only(_verify(old), "report.identity")
    assert identity.verdict is Verdict.PASS, identity
    assert identity.detail.startswith("its text shows") and captured.item_id in identity.detail


def _open_action_js(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = pdf.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    )


def _launch_on_page(pdf: pikepdf.Pdf) -> None:
    launch = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe"))
    pdf.pages[0].obj.AA = pikepdf.Dictionary(O=launch)


def _attachment(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["payload.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ not really")


@pytest.mark.parametrize(
    ("arm", "named"),
    [
        (_open_action_js, ("/OpenAction", "JavaScript")),
        (_launch_on_page, ("/AA", "/Launch")),
        (_attachment, ("/EmbeddedFiles",)),
    ],
    ids=["open-action-javascript", "launch-on-page-open", "embedded-file"],
)
def test_an_armed_report_fails_naming_what_it_carries(
    captured: Captured,
    tmp_path: Path,
    arm: Callable[[pikepdf.Pdf], None],
    named: tuple[str, ...],
) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "armed")
    with pikepdf.open(captured.unpacked / bf.REPORT) as pdf:
        arm(pdf)
        pdf.save(bad / bf.REPORT)
    reseal_checksums(bad)
    report = _verify(bad)
    content = _only(report, "report.content")
    assert content.verdict is Verdict.FAIL
    for word in named:
        assert word in content.detail, content.detail
    # Still this item's report, and a PDF that parses.
    assert _only(report, "report.identity").verdict is Verdict.PASS
    assert _only(report, "report.format").verdict is Verdict.PASS


def test_an_encrypted_report_fails(captured: Captured, tmp_path: Path) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "encrypted")
    with pikepdf.open(captured.unpacked / bf.REPORT) as pdf:
        pdf.save(bad / bf.REPORT, encryption=pikepdf.Encryption(owner="secret", user=""))
    reseal_checksums(bad)
    content = _only(_verify(bad), "report.content")
    assert content.verdict is Verdict.FAIL and "encryption" in content.detail


def test_a_signed_report_is_named_and_follows_the_signer_roots(
    captured: Captured, signed: Path
) -> None:
    officer = captured.kit.get_officer(OFFICER[1])
    untrusted = _only(_verify(signed), "report.signature")
    assert untrusted.verdict is Verdict.UNTRUSTED
    assert "not established against your signer roots" in untrusted.detail
    assert f"{OFFICER[0]} (enforcement ID {OFFICER[1]}" in untrusted.detail
    assert f"certificate SHA-256 {officer.certificate_sha256}" in untrusted.detail
    assert untrusted.subject == f"{bf.REPORT}: Officer1"

    roots = captured.kit.officers.officer_certificates_pem()
    # Trusting the signer alone: who signed is established, when is not.
    signer_only = _verify(signed, VerifyOptions(offline=True, replay=False, signer_roots_pem=roots))
    result = _only(signer_only, "report.signature")
    assert result.verdict is Verdict.UNTRUSTED, result
    assert "chains to a signer root you trust" in result.detail
    assert "does not chain to a TSA root you trust" in result.detail

    token = captured.kit.get_item(captured.item_id).timestamp
    assert token is not None
    trusted = _verify(
        signed,
        VerifyOptions(
            offline=True,
            replay=False,
            signer_roots_pem=roots,
            trust_roots_pem=token.trust_root_pem,
        ),
    )
    result = _only(trusted, "report.signature")
    assert result.verdict is Verdict.PASS, result
    assert "chains to a signer root you trust" in result.detail
    assert "time-stamp (genTime" in result.detail and "from a TSA root you trust" in result.detail
    for check in ("report.format", "report.content", "report.identity", "custody.anchor"):
        assert _only(trusted, check).verdict is Verdict.PASS, _only(trusted, check)


def test_a_changed_byte_in_a_signed_report_fails_its_signature(
    captured: Captured, signed: Path, tmp_path: Path
) -> None:
    officer = captured.kit.get_officer(OFFICER[1])
    bad = copy_of(signed, tmp_path / "flipped")
    pdf = bad / bf.REPORT
    data = bytearray(pdf.read_bytes())
    data[_inside_a_stream(bytes(data))] ^= 0x01
    pdf.write_bytes(bytes(data))
    reseal_checksums(bad)
    result = _only(_verify(bad), "report.signature")
    assert result.verdict is Verdict.FAIL
    assert "does not verify" in result.detail
    assert f"enforcement ID {OFFICER[1]}" in result.detail
    assert f"certificate SHA-256 {officer.certificate_sha256}" in result.detail


def _inside_a_stream(data: bytes) -> int:
    """An offset within the data of a stream of the first revision: inside the signed range."""
    start = len(data) // 4
    while True:
        begin = data.index(b"stream\n", start) + len(b"stream\n")
        end = data.index(b"endstream", begin)
        if end - begin > 64:
            return begin + 32
        start = end


def test_a_report_rewritten_after_signing_fails_its_signature(signed: Path, tmp_path: Path) -> None:
    bad = copy_of(signed, tmp_path / "rewritten")
    with pikepdf.open(signed / bf.REPORT) as pdf:
        _open_action_js(pdf)
        pdf.save(bad / bf.REPORT)  # a full rewrite: the signed byte range now covers other bytes
    reseal_checksums(bad)
    report = _verify(bad)
    assert _only(report, "report.signature").verdict is Verdict.FAIL
    assert _only(report, "report.content").verdict is Verdict.FAIL


def test_an_update_appended_after_signing_fails_the_signature(signed: Path, tmp_path: Path) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    bad = copy_of(signed, tmp_path / "appended")
    with (bad / bf.REPORT).open("r+b") as stream:
        writer = IncrementalPdfFileWriter(stream)
        script = generic.DictionaryObject(  # type: ignore[no-untyped-call]
            {
                generic.NameObject("/S"): generic.NameObject("/JavaScript"),
                generic.NameObject("/JS"): generic.TextStringObject("app.alert(1)"),
            }
        )
        writer.root[generic.NameObject("/OpenAction")] = writer.add_object(script)
        writer.update_root()  # type: ignore[no-untyped-call]
        writer.write_in_place()  # type: ignore[no-untyped-call]
    reseal_checksums(bad)
    report = _verify(bad)
    result = _only(report, "report.signature")
    assert result.verdict is Verdict.FAIL
    assert "changed after it beyond adding signatures" in result.detail
    content = _only(report, "report.content")
    assert content.verdict is Verdict.FAIL and "/OpenAction" in content.detail


# --- A: the custody extract ---------------------------------------------------------


def _rehash(events: list[dict[str, object]]) -> list[dict[str, object]]:
    """Recompute every event_hash and prev_hash link, as a forger would."""
    prev = str(events[0]["prev_hash"])
    out = []
    for event in events:
        body = {k: v for k, v in event.items() if k != "event_hash"} | {"prev_hash": prev}
        # A redacted line's hash cannot be recomputed; its prev_hash can be set at will.
        redacted = body.get("redacted") is True
        digest = (
            event["event_hash"] if redacted else hashlib.sha256(canonical_json(body)).hexdigest()
        )
        out.append(body | {"event_hash": digest})
        prev = str(digest)
    return out


def test_a_rewritten_custody_extract_fails_against_the_anchor(
    captured: Captured, tmp_path: Path
) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "rewritten")
    events = _events(bad)
    for event in events:
        if event.get("item_id") == captured.item_id:
            event["actor"] = "李四"
            event["at"] = _a_month_earlier(str(event["at"]))
    _write_events(bad, _rehash(events))
    reseal_checksums(bad)
    report = _verify(bad)
    # The extract is consistent in itself...
    assert _only(report, "custody.chain").verdict is Verdict.PASS
    # ...but it is not the log whose head was anchored.
    anchored = _only(report, "custody.anchor")
    assert anchored.verdict is Verdict.FAIL
    head = _custody(bad)
    assert anchored.subject == bf.CUSTODY_LOG
    assert f"event seq {head['seq']} has event_hash" in anchored.detail
    assert str(head["event_hash"]) in anchored.detail
    assert "rewritten" in anchored.detail


def _a_month_earlier(at: str) -> str:
    year, month, rest = at[:4], int(at[5:7]), at[7:]
    if month == 1:
        return f"{int(year) - 1}-12{rest}"
    return f"{year}-{month - 1:02d}{rest}"


def test_a_custody_head_moved_in_the_anchor_record_fails_its_merkle_path(
    captured: Captured, tmp_path: Path
) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "moved")
    events = _events(bad)
    anchor = json.loads((bad / bf.ANCHOR_JSON).read_bytes())
    # Point the anchor record at the extract's last event instead.
    anchor["custody"].update(seq=events[-1]["seq"], event_hash=events[-1]["event_hash"])
    (bad / bf.ANCHOR_JSON).write_bytes(canonical_json(anchor))
    reseal_checksums(bad)
    anchored = _only(_verify(bad), "custody.anchor")
    assert anchored.verdict is Verdict.FAIL
    assert anchored.subject == f"{bf.ANCHOR_JSON}: custody"
    assert "not to the anchored root" in anchored.detail


def test_a_malformed_custody_proof_fails(captured: Captured, tmp_path: Path) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "malformed")
    anchor = json.loads((bad / bf.ANCHOR_JSON).read_bytes())
    anchor["custody"]["merkle_path"] = ["not hex"]
    (bad / bf.ANCHOR_JSON).write_bytes(canonical_json(anchor))
    reseal_checksums(bad)
    anchored = _only(_verify(bad), "custody.anchor")
    assert anchored.verdict is Verdict.FAIL
    assert anchored.subject == f"{bf.ANCHOR_JSON}: custody" and "merkle_path" in anchored.detail


def test_a_redacted_link_before_the_head_is_not_claimed_as_anchored(
    captured: Captured, tmp_path: Path
) -> None:
    """A redacted line's prev_hash is not covered by its hash: what precedes it is unbound."""
    bad = copy_of(captured.unpacked, tmp_path / "redacted")
    events = _events(bad)
    head_seq = _custody(bad)["seq"]
    assert isinstance(head_seq, int)
    position = next(i for i, e in enumerate(events) if e["seq"] == head_seq)
    assert position >= 1, "the head must have an event before it in the extract"
    events[position] = {k: events[position][k] for k in ("event_hash", "prev_hash", "seq")} | {
        "redacted": True
    }
    _write_events(bad, events)
    reseal_checksums(bad)
    report = _verify(bad)
    assert _only(report, "custody.chain").verdict is Verdict.PASS
    anchored = _only(report, "custody.anchor")
    assert anchored.verdict is Verdict.NOT_CHECKED
    assert f"redacted event(s) seq {head_seq}" in anchored.detail


def test_a_bundle_without_a_custody_proof_is_not_checked(
    captured: Captured, tmp_path: Path
) -> None:
    old = copy_of(captured.unpacked, tmp_path / "old")
    anchor = json.loads((old / bf.ANCHOR_JSON).read_bytes())
    del anchor["custody"]
    (old / bf.ANCHOR_JSON).write_bytes(canonical_json(anchor))
    # Exported so by an older version: its exporting officer signed it as it is.
    reseal_index(old, exporting_officer(captured.kit))
    report = _verify(old)
    anchored = _only(report, "custody.anchor")
    assert anchored.verdict is Verdict.NOT_CHECKED
    assert "no proof for the custody log's head" in anchored.detail
    assert not report.failures, report.failures


def test_no_custody_proof_is_exported_for_a_tree_that_cannot_be_rebuilt(
    captured: Captured, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kit = captured.kit
    with DemoSite() as site:
        item = capture_as_officer(kit, CASE, site.url_for("/old-listing"))
    kit.timestamp(item.id)
    # A batch whose extra leaf is not the custody head: its tree cannot be rebuilt.
    kit.anchor_batch([item.id], extra_leaves=[b"\x07" * 32])
    with caplog.at_level(logging.WARNING, logger="evidence.services.anchors"):
        bundle = kit.export(item.id, tmp_path / "extra.zip", exported_by=exporting_officer(kit))
    with zipfile.ZipFile(bundle) as zf:
        anchor = json.loads(zf.read(bf.ANCHOR_JSON))
    assert "custody" not in anchor
    assert any("no custody proof exported" in r.getMessage() for r in caplog.records)
    report = kit.verify(bundle, options=OFFLINE)
    assert _only(report, "custody.anchor").verdict is Verdict.NOT_CHECKED
