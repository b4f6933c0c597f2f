"""The bundle writer's side: it takes the manifest it is given, parses it at most once,
and still refuses an artifact whose bytes are not the sealed ones."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

import reports.bundle.writer as writer
from evidence.model.errors import IntegrityError, ReportError
from evidence.model.hashing import digest_file
from evidence.model.manifest import Manifest, ManifestEntry, parse_manifest
from reports.bundle import layout as bf
from reports.bundle.writer import CaseBundleInput, write_bundle, write_case_bundle
from tests.test_bundle_index import synthetic_sealer

WHEN = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
# One Ed25519 officer for the module: its signatures are deterministic, so two
# writes of the same inputs still give the same bytes.
SEAL = synthetic_sealer(WHEN)


def _input(tmp_path: Path, item_id: str = "00000000-0000-4000-8000-000000000001") -> bf.BundleInput:
    work = tmp_path / item_id
    work.mkdir()
    entries, artifacts = [], []
    for name, content in (("screenshot.png", b"png" * 100), ("dom.html", "<p>证据</p>".encode())):
        path = work / name
        path.write_bytes(content)
        d = digest_file(path)
        entries.append(
            ManifestEntry(f"artifacts/{name}", "other", "text/plain", d.size, d.sha256, d.sm3)
        )
        artifacts.append((f"artifacts/{name}", path))
    manifest = Manifest(
        item_id=item_id,
        case_number="C-1",
        case_title="bundle writer",
        sealed_at="2026-11-26T10:00:00Z",
        capture={},
        artifacts=tuple(entries),
        tool={"name": "test"},
    )
    report = work / "report.pdf"
    report.write_bytes(b"%PDF-1.7\n%stub\n%%EOF\n")
    return bf.BundleInput(
        item_id=item_id,
        case_number="C-1",
        created_at=WHEN,
        manifest_bytes=manifest.to_bytes(),
        artifacts=tuple(artifacts),
        timestamp=None,
        anchor=None,
        report_pdf=report,
        tool_version="test",
    )


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(data: bytes) -> Manifest:
        raise AssertionError("the writer parsed a manifest it was given")

    monkeypatch.setattr(writer, "parse_manifest", refuse)


def test_a_given_manifest_is_not_parsed_again_and_changes_no_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _input(tmp_path)
    plain = write_bundle(data, tmp_path / "plain.zip", seal_index=SEAL)
    _no_parsing(monkeypatch)
    given = write_bundle(
        replace(data, manifest=parse_manifest(data.manifest_bytes)),
        tmp_path / "given.zip",
        seal_index=SEAL,
    )
    assert given.read_bytes() == plain.read_bytes()


def test_a_case_bundle_with_given_manifests_changes_no_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = (_input(tmp_path, "item-b"), _input(tmp_path, "item-a"))
    case = CaseBundleInput("C-1", "bundle writer", WHEN, "test", items)
    plain = write_case_bundle(case, tmp_path / "plain.zip", seal_index=SEAL)
    _no_parsing(monkeypatch)
    given = tuple(replace(i, manifest=parse_manifest(i.manifest_bytes)) for i in items)
    again = write_case_bundle(replace(case, items=given), tmp_path / "given.zip", seal_index=SEAL)
    assert again.read_bytes() == plain.read_bytes()
    with zipfile.ZipFile(again) as zf:
        names = zf.namelist()
    assert names.index("items/item-a/manifest.json") < names.index("items/item-b/manifest.json")


def test_a_manifest_that_is_not_the_bytes_is_refused(tmp_path: Path) -> None:
    data = _input(tmp_path)
    other = parse_manifest(data.manifest_bytes)
    other = replace(other, artifacts=other.artifacts[:1])
    with pytest.raises(ReportError, match="not the manifest's bytes"):
        write_bundle(replace(data, manifest=other), tmp_path / "bad.zip", seal_index=SEAL)
    assert not (tmp_path / "bad.zip").exists()


def test_a_damaged_artifact_is_caught_while_copying_with_a_given_manifest(
    tmp_path: Path,
) -> None:
    data = _input(tmp_path)
    data = replace(data, manifest=parse_manifest(data.manifest_bytes))
    data.artifacts[1][1].write_bytes(b"<p>changed</p>")
    with pytest.raises(IntegrityError, match=r"artifacts/dom\.html"):
        write_bundle(data, tmp_path / "bad.zip", seal_index=SEAL)
    assert not (tmp_path / "bad.zip").exists()
    assert not list(tmp_path.glob(".bundle-*"))
