"""Hostile bundles: each gives a clear verdict or a one-line BundleError, writes
nothing, and is read in bounded memory.

The bundles are synthetic (``reports.bundle.writer.write_bundle`` over random
artifacts and a real manifest) so that no browser is needed; the verifier runs
with ``--offline --no-replay`` where a chain or browser would add nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.model.errors import BundleError
from evidence.model.hashing import digest_file
from evidence.model.manifest import Manifest, ManifestEntry
from evidence.verification import BundleLimits, VerifyOptions, run_verification
from reports.bundle import layout as bf
from reports.bundle.writer import write_bundle
from tests.conftest import REPO
from tests.test_bundle_index import synthetic_signer

OFFLINE = VerifyOptions(offline=True, replay=False)
WHEN = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def make_bundle(
    out: Path,
    sizes: dict[str, int],
    *,
    report: bytes | None = None,
    index_signer: tuple[bf.IndexSealer, bytes | None] | None = None,
) -> Path:
    """A well-formed bundle with random artifacts of the given sizes (streamed to disk);
    ``index_signer`` (sealer, certificate signers.txt names) replaces the synthetic one."""
    work = out.parent / (out.stem + "-src")
    work.mkdir(parents=True, exist_ok=True)
    entries = []
    artifacts = []
    for name, size in sizes.items():
        path = work / name
        with path.open("wb") as f:
            left = size
            while left:
                chunk = os.urandom(min(left, 1 << 20))
                f.write(chunk)
                left -= len(chunk)
        d = digest_file(path)
        entries.append(
            ManifestEntry(f"artifacts/{name}", "other", "application/octet-stream", d.size,
                          d.sha256, d.sm3)
        )
        artifacts.append((f"artifacts/{name}", path))
    manifest = Manifest(
        item_id="00000000-0000-4000-8000-000000000001",
        case_number="HOSTILE-1",
        case_title="hostile",
        sealed_at="2026-11-26T10:00:00.000Z",
        capture={"started_at": "2026-11-26T09:59:00.000Z"},
        artifacts=tuple(entries),
        tool={"name": "bench"},
    )
    pdf = work / "report.pdf"
    if report is not None:
        pdf.write_bytes(report)
    else:
        _minimal_report(pdf, manifest)
    seal_index, index_signer_pem = index_signer or synthetic_signer(WHEN)
    return write_bundle(
        bf.BundleInput(
            item_id=manifest.item_id,
            case_number=manifest.case_number,
            created_at=WHEN,
            manifest_bytes=manifest.to_bytes(),
            artifacts=tuple(artifacts),
            timestamp=None,
            anchor=None,
            report_pdf=pdf,
            tool_version="test",
            index_signer_pem=index_signer_pem,
        ),
        out,
        seal_index=seal_index,
    )


def _minimal_report(path: Path, manifest: Manifest) -> None:
    """A one-page PDF that names its item in its XMP and its text, as an item's report does."""
    import pikepdf

    from reports.pdfa import ReportIdentity, set_identity

    identity = ReportIdentity(manifest.item_id, hashlib.sha256(manifest.to_bytes()).hexdigest())
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        page = pdf.pages[0]
        font = pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Courier
        )
        page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        text = f"BT /F1 6 Tf 20 700 Td ({identity.item_id}) Tj 0 -10 Td "
        text += f"({identity.manifest_sha256}) Tj ET"
        page.Contents = pdf.make_stream(text.encode("ascii"))
        set_identity(pdf, identity)
        pdf.save(path)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("hostile") / "good.zip", {"a.bin": 4096})


def _rezip(src: Path, dst: Path, extra: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        for name, data in extra:
            zout.writestr(name, data)
    return dst


def test_the_synthetic_bundle_verifies(good: Path) -> None:
    report = run_verification(good, OFFLINE).report
    assert not report.failures, report.failures


@pytest.mark.parametrize(
    "name",
    ["../escape.txt", "/etc/passwd", "artifacts/../../x", "C:\\evil.txt", "a//b", "./x"],
)
def test_unsafe_entry_names_are_refused(good: Path, tmp_path: Path, name: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the odd names we add
        bad = _rezip(good, tmp_path / "bad.zip", [(name, b"x")])
    with pytest.raises(BundleError, match="unsafe path"):
        run_verification(bad, OFFLINE)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_duplicate_entries_are_refused(good: Path, tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = _rezip(good, tmp_path / "dup.zip", [(bf.MANIFEST, b"{}")])
    with pytest.raises(BundleError, match=r"duplicate entry 'manifest\.json'"):
        run_verification(bad, OFFLINE)


def test_a_symlink_entry_in_the_zip_is_refused(good: Path, tmp_path: Path) -> None:
    info = zipfile.ZipInfo("artifacts/link")
    info.external_attr = (0o120777 << 16)
    bad = _rezip(good, tmp_path / "link.zip", [(info, b"/etc/passwd")])
    with pytest.raises(BundleError, match="symbolic link"):
        run_verification(bad, OFFLINE)


def test_a_symlink_in_a_folder_bundle_is_refused(good: Path, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    with zipfile.ZipFile(good) as zf:
        zf.extractall(folder)
    (folder / "artifacts" / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(BundleError, match="symbolic link"):
        run_verification(folder, OFFLINE)


def test_zip_bombs_stop_at_the_ratio_and_size_limits(good: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bomb, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        zout.writestr(
            zipfile.ZipInfo("artifacts/bomb.bin"), b"\0" * (50 << 20), zipfile.ZIP_DEFLATED
        )
    with pytest.raises(BundleError, match=r"ratio limit .*zip bomb"):
        run_verification(bomb, OFFLINE)
    small = VerifyOptions(offline=True, replay=False, limits=BundleLimits(max_total_bytes=4000))
    with pytest.raises(BundleError, match="size limit"):
        run_verification(good, small)


def test_an_enormous_sparse_file_in_a_folder_is_refused(good: Path, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    with zipfile.ZipFile(good) as zf:
        zf.extractall(folder)
    with (folder / "artifacts" / "huge.bin").open("wb") as f:
        f.truncate(1 << 40)  # 1 TiB, sparse: no disk used
    with pytest.raises(BundleError, match="size limit"):
        run_verification(folder, OFFLINE)


@pytest.mark.parametrize(
    ("member", "content", "check"),
    [
        (bf.MANIFEST, b"{not json", "manifest.format"),
        (bf.TOKEN, b"\x30\x82\xff\xff garbage", "timestamp.token"),
        (bf.ANCHOR_JSON, b'{"chain_id": "x"}', "anchor.record"),
        ("artifacts/capture.warc", b"WARC/1.1\r\nWARC-Type: response\r\nnonsense", "warc.record"),
        (bf.REPORT, b"<html>not a pdf</html>", "report.format"),
        (bf.CUSTODY_LOG, b'{"seq": 1,\n', "custody.chain"),
    ],
)
def test_malformed_files_get_a_named_fail(
    good: Path, tmp_path: Path, member: str, content: bytes, check: str
) -> None:
    folder = tmp_path / "folder"
    with zipfile.ZipFile(good) as zf:
        zf.extractall(folder)
    target = folder / member
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    if member == bf.TOKEN:
        (folder / bf.TSA_ROOT).parent.mkdir(parents=True, exist_ok=True)
        (folder / bf.TSA_ROOT).write_bytes(b"")
    report = run_verification(folder, OFFLINE).report
    named = [c for c in report.failures if c.check == check]
    assert named, (check, report.failures)
    assert named[0].subject.startswith(member), named[0]


@pytest.mark.parametrize(
    "manifest",
    [
        b'{"size": ' + b"9" * 100_000 + b"}",  # int() of it raised ValueError: a traceback
        b"[" * 100_000 + b"]" * 100_000,  # the C parser's recursion: SIGSEGV, exit 139
    ],
    ids=["100000-digit-number", "100000-nested-brackets"],
)
def test_a_hostile_manifest_is_one_named_fail_from_the_command(
    good: Path, tmp_path: Path, manifest: bytes
) -> None:
    folder = tmp_path / "folder"
    with zipfile.ZipFile(good) as zf:
        zf.extractall(folder)
    (folder / bf.MANIFEST).write_bytes(manifest)
    env = {**os.environ, "EVIDENCE_HOME": str(tmp_path / "home")}
    run = subprocess.run(
        [sys.executable, "-m", "cli", "verify", str(folder), "--offline", "--no-replay"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 1, (run.returncode, run.stderr)
    assert "Traceback" not in run.stdout + run.stderr
    failed = [line for line in run.stdout.splitlines() if "FAIL] manifest.format" in line]
    assert len(failed) == 1 and "manifest.json" in failed[0], run.stdout


def test_a_truncated_zip_is_a_one_line_error(good: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(BundleError) as info:
        run_verification(cut, OFFLINE)
    assert "\n" not in info.value.message and "cut.zip" in info.value.message


_CHILD = """
import json, os, resource, sys
from pathlib import Path
from evidence.verification import VerifyOptions, run_verification
report = run_verification(Path(sys.argv[1]), VerifyOptions(offline=True, replay=False)).report
print(json.dumps({"rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "exit": report.exit_code, "failures": len(report.failures)}))
"""


def _verify_in_child(bundle: Path, workdir: Path) -> dict[str, int]:
    """Run the verifier in a fresh process whose HOME, TMPDIR and cwd are empty."""
    for d in ("home", "tmp", "cwd"):
        (workdir / d).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(workdir / "home"),
        "TMPDIR": str(workdir / "tmp"),
        "PYTHONPATH": str(REPO),
    }
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(bundle)],
        cwd=workdir / "cwd",
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    result: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    for d in ("home", "tmp", "cwd"):
        assert list((workdir / d).iterdir()) == [], f"the verifier wrote into {d}"
    return result


def test_memory_stays_flat_and_nothing_is_written(tmp_path: Path) -> None:
    small = make_bundle(tmp_path / "small.zip", {"a.bin": 1 << 20})
    large = make_bundle(tmp_path / "large.zip", {"a.bin": 200 << 20, "b.bin": 64 << 20})
    before = sorted(p.name for p in tmp_path.iterdir())
    stamp = large.stat().st_mtime_ns
    small_run = _verify_in_child(small, tmp_path / "w1")
    large_run = _verify_in_child(large, tmp_path / "w2")
    assert small_run["failures"] == 0 and large_run["failures"] == 0
    # 263 MB more data must not cost more than a few MB of resident memory.
    assert large_run["rss_kb"] - small_run["rss_kb"] < 32 * 1024, (small_run, large_run)
    assert large.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "w1", "w2"])
