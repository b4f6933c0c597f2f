"""The verifier's newer checks on one real bundle: WARC records, custody chain,
replay consistency, signatures hook, registry/chain trust, block time, the
verification report PDF.

Also holds the helpers the other verifier test modules share: capture one real
item with the DemoSite and real services, and tamper with unpacked copies.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence import Settings, Toolkit, Verdict
from evidence.model.capture_options import (
    BrowserOptions,
    CaptureOptions,
    RenderingOptions,
    SafetyOptions,
)
from evidence.model.hashing import digest_file
from evidence.model.manifest import canonical_json
from evidence.model.records import ReportSigner, VerificationReport
from evidence.services.demo_site import DemoSite
from evidence.verification import VerifyOptions, run_verification
from reports.bundle import layout as bf
from tests.conftest import require, require_tool
from tests.helpers import capture_as_officer

CASE = "测试-2026-VERIFY"
EXPORT_OFFICER = ("周九", "T-EXPORT-1")
EXPORT_PASSPHRASE = "export test passphrase"


@dataclass(frozen=True)
class Captured:
    kit: Toolkit
    item_id: str
    bundle: Path
    unpacked: Path


def exporting_officer(kit: Toolkit) -> ReportSigner:
    """The officer who signs exported bundles' index; made once per data directory."""
    name, enforcement_id = EXPORT_OFFICER
    if enforcement_id not in {o.enforcement_id for o in kit.list_officers()}:
        kit.add_officer(name, enforcement_id, passphrase=EXPORT_PASSPHRASE)
    return kit.report_signer(enforcement_id, EXPORT_PASSPHRASE)


def capture_bundle(settings: Settings, out: Path) -> Iterator[Captured]:
    """Capture one real item (DemoSite, Chromium, dev TSA, anvil) and export it."""
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    require_tool("openssl")
    with Toolkit(settings) as kit, DemoSite() as site:
        kit.create_case(CASE, "核验测试案", exist_ok=True)
        # The DemoSite is on loopback, which captures refuse unless allowed.
        local = CaptureOptions(safety=SafetyOptions(allow_private_targets=True))
        item = capture_as_officer(kit, CASE, site.url_for("/old-listing"), local)
        kit.complete(item.id)
        kit.trust.trust_this_machine()  # this machine checks its own work
        bundle = kit.export(item.id, out / "bundle.zip", exported_by=exporting_officer(kit))
        unpacked = out / "unpacked"
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(unpacked)
        yield Captured(kit, item.id, bundle, unpacked)


def copy_of(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def flip(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    position = len(data) // 2 if offset is None else offset
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def reseal_checksums(root: Path) -> None:
    """Rewrite SHA256SUMS and SM3SUMS over the folder, as a forger would."""
    sha_lines, sm3_lines = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        if name in (bf.CHECKSUMS, bf.SM3_CHECKSUMS):
            continue
        digests = digest_file(path)
        sha_lines.append(f"{digests.sha256}  {name}\n")
        sm3_lines.append(f"{digests.sm3}  {name}\n")
    (root / bf.CHECKSUMS).write_text("".join(sha_lines), encoding="ascii")
    (root / bf.SM3_CHECKSUMS).write_text("".join(sm3_lines), encoding="ascii")


def rewrite_sums(root: Path) -> None:
    """Rewrite SHA256SUMS and SM3SUMS as the writer does: every file but the signed index's."""
    sha_lines, sm3_lines = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        if name in (bf.CHECKSUMS, bf.SM3_CHECKSUMS) or name in bf.SIGNED_INDEX_FILES:
            continue
        digests = digest_file(path)
        sha_lines.append(f"{digests.sha256}  {name}\n")
        sm3_lines.append(f"{digests.sm3}  {name}\n")
    (root / bf.CHECKSUMS).write_text("".join(sha_lines), encoding="ascii")
    (root / bf.SM3_CHECKSUMS).write_text("".join(sm3_lines), encoding="ascii")


def reseal_index(root: Path, officer: ReportSigner) -> None:
    """Re-export the folder as it now stands: sums and a signed index by ``officer``.

    For a bundle that is meant to be genuine in some other way (say, written by
    an older version); the index then has no token (index.timestamp NOT CHECKED).
    """
    from evidence.model.officer_keys import OfficerPrivateKey
    from evidence.model.signatures import sign_detached

    assert isinstance(officer.key, OfficerPrivateKey)
    for name in bf.SIGNED_INDEX_FILES:
        (root / name).unlink(missing_ok=True)
    _rewrite_signers(root, officer)
    rewrite_sums(root)
    for name in bf.SIGNED_INDEX_FILES:
        (root / name).unlink(missing_ok=True)
    entries = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        d = digest_file(path)
        entries.append(bf.IndexEntry(path.relative_to(root).as_posix(), d.sha256, d.sm3, d.size))
    index = bf.index_to_text(entries)
    (root / bf.SIGNED_INDEX).parent.mkdir(exist_ok=True)
    (root / bf.SIGNED_INDEX).write_bytes(index)
    (root / bf.SIGNED_INDEX_SIGNATURE).write_bytes(
        sign_detached(index, officer.key, officer.certificate, signing_time=datetime.now(UTC))
    )


def _rewrite_signers(root: Path, officer: ReportSigner) -> None:
    """signers.txt as the writer lists the folder's signatures now (the re-export's)."""
    from evidence.model.errors import ReportError
    from evidence.model.signatures import signer_certificate
    from reports.bundle import signers

    if not (root / bf.SIGNERS).exists():
        return
    entries = []
    for p7s in sorted((root / bf.SIGNATURES_DIR).glob("*" + bf.SIGNATURE_SUFFIX)):
        number = int(p7s.stem.split("-", 1)[0])
        role = signers.SignerRole.CAPTURE if number == 1 else signers.SignerRole.COSIGN
        location = f"{bf.SIGNATURES_DIR}/{p7s.name}"
        certificate = signer_certificate(p7s.read_bytes())
        entries.append(signers.SignerEntry.of(role, location, certificate, None))
    with contextlib.suppress(ReportError):  # an unreadable report: its checks say so
        entries += signers.report_signers(root / bf.REPORT)
    entries.append(signers.index_signer(officer.certificate))
    item_id = json.loads((root / bf.MANIFEST).read_bytes())["item_id"]
    text = signers.signers_text(item_id, datetime.now(UTC), entries)
    (root / bf.SIGNERS).write_text(text, encoding="utf-8")


def verdicts(report: VerificationReport, check: str) -> list[Verdict]:
    return [c.verdict for c in report.checks if c.check == check]


def failing(report: VerificationReport, check: str) -> list[str]:
    return [f"{c.subject}: {c.detail}" for c in report.failures if c.check == check]


def custody_lines(count: int) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    prev = "0" * 64
    for seq in range(1, count + 1):
        event: dict[str, object] = {
            "action": "seal" if seq == 2 else "capture.start",
            "actor": "张三",
            "at": f"2026-11-26T10:00:0{seq}.000Z",
            "case_id": "c1",
            "details": "{}",
            "hash_after": "",
            "hash_before": "",
            "id": f"e{seq}",
            "item_id": "i1",
            "prev_hash": prev,
            "reason": "",
            "seq": seq,
        }
        event["event_hash"] = hashlib.sha256(canonical_json(event)).hexdigest()
        prev = str(event["event_hash"])
        events.append(event)
    return events


def write_custody(root: Path, events: list[dict[str, object]]) -> None:
    path = root / bf.CUSTODY_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(canonical_json(e) + b"\n" for e in events))


# --- this module's tests ---------------------------------------------------


@pytest.fixture(scope="module")
def captured(
    session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    yield from capture_bundle(session_settings, tmp_path_factory.mktemp("verify-checks"))


def test_good_bundle_passes_every_new_check(captured: Captured, tmp_path: Path) -> None:
    report = captured.kit.verify(captured.bundle, report_path=tmp_path / "v.pdf")
    assert not report.failures, report.failures
    assert verdicts(report, "warc.record") == [Verdict.PASS]
    assert verdicts(report, "screenshot.replay") == [Verdict.PASS]
    replay = next(c for c in report.checks if c.check == "screenshot.replay")
    assert "similarity 1.0000" in replay.detail or "similarity 0.9" in replay.detail
    assert verdicts(report, "time.anchor") == [Verdict.PASS]
    assert verdicts(report, "report.format") == [Verdict.PASS]
    require_tool("ffmpeg")
    # The frames, the span and the viewing copy pass; the coverage of a loaded machine's
    # first seconds (browser start, before any frame) may be an amber "WARNING".
    video = [c for c in report.checks if c.check == "video.frames"]
    assert [c.verdict for c in video].count(Verdict.PASS) >= 2, video
    assert all(c.verdict is Verdict.PASS or c.detail.startswith("WARNING") for c in video), video
    # Absent parts are said to be unchecked, not silently skipped.
    sig = [c for c in report.checks if c.check == "manifest.signature"]
    if not any(n.startswith("signatures/") for n in zipfile.ZipFile(captured.bundle).namelist()):
        assert [(c.verdict, c.detail) for c in sig] == [
            (Verdict.NOT_CHECKED, "no signatures in bundle")
        ]


def test_the_verification_report_pdf(captured: Captured, tmp_path: Path) -> None:
    pdftotext = require_tool("pdftotext")
    pdffonts = require_tool("pdffonts")
    for lang, title in (("zh", "电子证据核验报告"), ("en", "Evidence Verification Report")):
        out = tmp_path / f"v-{lang}.pdf"
        captured.kit.verify(captured.unpacked, offline=True, report_path=out, report_language=lang)
        text = subprocess.run(
            [pdftotext, str(out), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert title in text
        assert "warc.record" in text and "anchor.chain" in text
        assert "playwright" in text  # library versions are listed
        fonts = subprocess.run(
            [pdffonts, str(out)], check=True, capture_output=True, text=True
        ).stdout.splitlines()[2:]
        assert fonts and all(" yes yes " in line for line in fonts), fonts


def test_a_changed_warc_record_is_named_by_record_id(captured: Captured, tmp_path: Path) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "bad")
    warc = bad / "artifacts" / "capture.warc"
    data = warc.read_bytes()
    # Change one byte of the stylesheet's payload, leaving the WARC's framing intact.
    body = data.index(b"\r\n\r\n", data.index(b"text/css")) + 4
    flip(warc, body + 40)
    report = captured.kit.verify(bad, offline=True)
    records = failing(report, "warc.record")
    assert records, report.failures
    assert "<urn:uuid:" in records[0] and "digest failed" in records[0]
    assert "http://127.0.0.1:" in records[0]  # the record's target URI


def test_a_changed_video_frame_or_frame_list_is_named(captured: Captured, tmp_path: Path) -> None:
    require_tool("ffmpeg")
    require_tool("ffprobe")
    listing = json.loads((captured.unpacked / "artifacts/video-frames.json").read_text("utf-8"))
    assert len(listing["frames"]) >= 2

    # A listed hash that is not the frame's (as if the list were made up).
    bad = copy_of(captured.unpacked, tmp_path / "list")
    listing["frames"][1]["sha256"] = "0" * 64
    (bad / "artifacts/video-frames.json").write_text(json.dumps(listing), encoding="utf-8")
    report = captured.kit.verify(bad, offline=True)
    (detail,) = failing(report, "video.frames")
    assert "frame 1 " in detail and "SHA-256 differs" in detail

    # A byte changed inside one frame's JPEG in the video.
    bad = copy_of(captured.unpacked, tmp_path / "frame")
    video = bad / "artifacts/session.mkv"
    data = video.read_bytes()
    second = data.index(b"\xff\xd8\xff", data.index(b"\xff\xd8\xff") + 3)  # frame 1's JPEG
    flip(video, second + 600)
    report = captured.kit.verify(bad, offline=True)
    assert any("artifacts/session.mkv" in f for f in failing(report, "artifact.digest"))
    (detail,) = failing(report, "video.frames")
    assert "frame 1 " in detail and "SHA-256 differs" in detail


def test_a_truncated_warc_is_a_verdict(captured: Captured, tmp_path: Path) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "bad")
    warc = bad / "artifacts" / "capture.warc"
    warc.write_bytes(warc.read_bytes()[:3000] + b"garbage\r\n\r\n")
    report = captured.kit.verify(bad, offline=True)
    assert any("artifacts/capture.warc" in f for f in failing(report, "warc.record"))


def test_replay_detects_a_screenshot_of_something_else(captured: Captured, tmp_path: Path) -> None:
    from PIL import Image

    bad = copy_of(captured.unpacked, tmp_path / "bad")
    shot = bad / "artifacts" / "screenshot.png"
    with Image.open(shot) as img:
        size = img.size
    Image.new("RGB", size, (255, 255, 255)).save(shot)
    report = captured.kit.verify(bad, offline=True)
    replay = [c for c in report.checks if c.check == "screenshot.replay"]
    assert [c.verdict for c in replay] == [Verdict.FAIL]
    assert "similarity" in replay[0].detail and replay[0].subject == "artifacts/screenshot.png"


def test_replay_is_not_checked_without_chromium(
    captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injection: point the replay at a Chromium that does not exist.
    def no_chromium(rendering: RenderingOptions | None = None) -> CaptureOptions:
        return CaptureOptions(
            browser=BrowserOptions(chromium_path=Path("/nonexistent/chromium")),
            rendering=rendering or RenderingOptions(),
        )

    monkeypatch.setattr("evidence.verification.replay.CaptureOptions", no_chromium)
    report = captured.kit.verify(captured.unpacked, offline=True)
    replay = [c for c in report.checks if c.check == "screenshot.replay"]
    assert [c.verdict for c in replay] == [Verdict.NOT_CHECKED]
    assert "Chromium" in replay[0].detail


def test_a_bundle_chosen_word_cannot_soften_a_replay_failure(
    captured: Captured, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injection: the replay fails, and the failure quotes a URL the
    # bundle's author chose to contain "Chromium". The verdict is decided by
    # the error's type (a missing browser is NOT CHECKED), never by its text.
    from evidence.model.errors import CaptureError

    def failing_replay(*args: object, **kwargs: object) -> object:
        raise CaptureError("capture.warc holds no response for https://Chromium.example/")

    monkeypatch.setattr("capture.replay.replay", failing_replay)
    report = captured.kit.verify(captured.unpacked, offline=True)
    replay = [c for c in report.checks if c.check == "screenshot.replay"]
    assert [c.verdict for c in replay] == [Verdict.FAIL]


def test_the_replay_line_says_how_the_browser_was_fenced(captured: Captured) -> None:
    report = captured.kit.verify(captured.unpacked, offline=True)
    (replay,) = [c for c in report.checks if c.check == "screenshot.replay"]
    assert replay.verdict is Verdict.PASS
    assert "network namespace" in replay.detail or "no namespace available" in replay.detail
    assert "sandbox" in replay.detail


def test_custody_chain_pass_and_each_kind_of_break(captured: Captured, tmp_path: Path) -> None:
    good = copy_of(captured.unpacked, tmp_path / "good")
    events = custody_lines(4)
    redacted = {k: events[2][k] for k in ("event_hash", "prev_hash", "seq")}
    write_custody(good, [*events[:2], {**redacted, "redacted": True}, events[3]])
    reseal_checksums(good)
    report = captured.kit.verify(good, offline=True, options=VerifyOptions(offline=True))
    assert verdicts(report, "custody.chain") == [Verdict.PASS]

    cases = {
        "edited": [events[0], {**events[1], "actor": "李四"}, *events[2:]],
        "removed": [events[0], *events[2:]],
        "reordered": [events[0], events[2], events[1], events[3]],
        "malformed": None,
    }
    for name, lines in cases.items():
        bad = copy_of(captured.unpacked, tmp_path / name)
        if lines is None:
            (bad / "custody").mkdir(exist_ok=True)
            (bad / bf.CUSTODY_LOG).write_bytes(b'{"seq": 1, "event_hash": \n')
        else:
            write_custody(bad, lines)
        reseal_checksums(bad)
        report = captured.kit.verify(bad, options=VerifyOptions(offline=True, replay=False))
        problems = failing(report, "custody.chain")
        assert problems, name
        assert problems[0].startswith(bf.CUSTODY_LOG), problems
        if name == "edited":
            assert "seq 2" in problems[0] and "edited" in problems[0]


def test_trusted_registry_and_chain_id_options(captured: Captured) -> None:
    anchor = json.loads((captured.unpacked / bf.ANCHOR_JSON).read_bytes())
    ok = run_verification(
        captured.bundle,
        VerifyOptions(
            rpc_url=anchor["rpc_url"],
            registry=anchor["contract_address"],
            chain_id=anchor["chain_id"],
            replay=False,
        ),
    )
    assert verdicts(ok.report, "anchor.registry") == [Verdict.PASS]
    assert verdicts(ok.report, "anchor.chain_id") == [Verdict.PASS]
    assert verdicts(ok.report, "anchor.chain") == [Verdict.PASS]
    setup = dict(ok.context)
    assert "trusted" in setup["registry"] and anchor["rpc_url"] in setup["rpc_url"]
    wrong = run_verification(
        captured.bundle,
        VerifyOptions(rpc_url=anchor["rpc_url"], chain_id=1, replay=False),
    )
    problems = failing(wrong.report, "anchor.chain_id")
    assert any("differs from the trusted chain id 1" in f for f in problems)


def test_block_time_far_from_gentime_fails(captured: Captured, tmp_path: Path) -> None:
    token = captured.kit.get_item(captured.item_id).timestamp
    assert token is not None
    # The time-stamp must be trusted for its genTime to be compared at all.
    trusted = VerifyOptions(offline=True, replay=False, trust_roots_pem=token.trust_root_pem)
    report = run_verification(captured.unpacked, replace(trusted, block_time_tolerance_s=0)).report
    # Anchored in the same second or within a few: only a zero tolerance may fail.
    checks = [c for c in report.checks if c.check == "time.anchor"]
    assert len(checks) == 1
    bad = copy_of(captured.unpacked, tmp_path / "late")
    anchor_path = bad / bf.ANCHOR_JSON
    raw = json.loads(anchor_path.read_bytes())
    raw["block_time"] = "2030-01-01T00:00:00.000Z"
    anchor_path.write_bytes(canonical_json(raw))
    report = run_verification(bad, trusted).report
    late = failing(report, "time.anchor")
    assert late and "block_time" in late[0] and "tolerance" in late[0]


def test_signatures_hook_reports_each_signature(captured: Captured, tmp_path: Path) -> None:
    signed = copy_of(captured.unpacked, tmp_path / "signed")
    (signed / "signatures").mkdir(exist_ok=True)
    (signed / "signatures" / "officer.p7s").write_bytes(b"\x30\x03\x02\x01\x00")
    reseal_checksums(signed)
    report = run_verification(signed, VerifyOptions(offline=True, replay=False)).report
    sig = [c for c in report.checks if c.check == "manifest.signature"]
    assert [c.subject for c in sig] == ["signatures/officer.p7s"]
    try:
        import evidence.model.signatures  # noqa: F401
    except ImportError:
        detail = sig[0].detail
        assert sig[0].verdict is Verdict.NOT_CHECKED and "evidence.model.signatures" in detail
    else:
        assert sig[0].verdict is Verdict.FAIL  # not a valid CMS signature
