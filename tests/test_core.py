"""The core without outside services: hashing, the store, the manifest."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evidence.model.errors import BundleError, IntegrityError, NotFoundError
from evidence.model.hashing import digest_bytes, digest_file
from evidence.model.manifest import Manifest, ManifestEntry, canonical_json, parse_manifest
from evidence.model.records import isoformat
from evidence.model.store import ArtifactStore
from tests.conftest import require_tool


def test_sha256_and_sm3_match_stock_tools(tmp_path: Path) -> None:
    openssl = require_tool("openssl")
    sample = tmp_path / "sample.bin"
    sample.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    digests = digest_file(sample)
    assert digests.size == sample.stat().st_size
    assert digests.sha256 == hashlib.sha256(sample.read_bytes()).hexdigest()
    out = subprocess.run(
        [openssl, "dgst", "-sm3", "-r", str(sample)], check=True, capture_output=True, text=True
    ).stdout
    assert out.split()[0] == digests.sm3
    sha = subprocess.run(
        ["sha256sum", str(sample)], check=True, capture_output=True, text=True
    ).stdout
    assert sha.split()[0] == digests.sha256


def test_sm3_known_answer() -> None:
    # GB/T 32905-2016 appendix A, example 1.
    assert digest_bytes(b"abc").sm3 == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def test_store_is_content_addressed_and_write_once(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "store")
    first = store.put_bytes(b"evidence")
    again = store.put_bytes(b"evidence")
    assert first == again
    path = store.path_for(first.sha256)
    assert path.read_bytes() == b"evidence"
    assert not os.access(path, os.W_OK) or os.geteuid() == 0
    assert path.stat().st_mode & 0o222 == 0
    assert list((tmp_path / "store" / "tmp").iterdir()) == []
    assert store.verify(first.sha256) == first


def test_store_detects_a_damaged_object(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "store")
    digests = store.put_bytes(b"original bytes")
    path = store.path_for(digests.sha256)
    os.chmod(path, 0o644)
    path.write_bytes(b"0riginal bytes")
    with pytest.raises(IntegrityError, match=digests.sha256):
        store.verify(digests.sha256)
    with pytest.raises(NotFoundError):
        store.verify("0" * 64)
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")


def _manifest() -> Manifest:
    return Manifest(
        item_id="item-1",
        case_number="案-001",
        case_title="测试案件",
        sealed_at=isoformat(datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),
        capture={"requested_url": "http://127.0.0.1/", "warnings": []},
        artifacts=(
            ManifestEntry("artifacts/a.png", "screenshot", "image/png", 3, "a" * 64, "b" * 64),
        ),
        tool={"name": "evidence-toolkit", "version": "0"},
    )


def test_manifest_is_canonical_and_round_trips() -> None:
    manifest = _manifest()
    data = manifest.to_bytes()
    assert data == canonical_json(json.loads(data))
    assert "案-001".encode() in data  # UTF-8, not \\u escapes
    assert b" " not in data.replace("测试案件".encode(), b"")
    assert parse_manifest(data) == manifest
    assert manifest.digests().sha256 == hashlib.sha256(data).hexdigest()


def test_manifest_rejects_edits_and_escapes() -> None:
    data = _manifest().to_bytes()
    with pytest.raises(BundleError, match="canonical"):
        parse_manifest(json.dumps(json.loads(data), indent=1).encode())
    with pytest.raises(BundleError, match="not valid"):
        parse_manifest(data[:-3])
    evil = json.loads(data)
    evil["artifacts"][0]["path"] = "artifacts/../../etc/passwd"
    with pytest.raises(BundleError, match="not under artifacts"):
        parse_manifest(canonical_json(evil))


def test_isoformat_refuses_naive_times() -> None:
    with pytest.raises(ValueError):
        isoformat(datetime(2026, 1, 1))


def test_the_bundle_writer_refuses_an_artifact_that_changed(tmp_path: Path) -> None:
    from evidence.model.errors import IntegrityError
    from reports.bundle import layout as bf
    from reports.bundle.writer import write_bundle
    from tests.test_bundle_index import synthetic_sealer

    artifact = tmp_path / "a.png"
    artifact.write_bytes(b"sealed bytes")
    sealed = digest_file(artifact)
    manifest = _manifest()
    entry = ManifestEntry("artifacts/a.png", "screenshot", "image/png", sealed.size,
                          sealed.sha256, sealed.sm3)
    manifest = Manifest(manifest.item_id, manifest.case_number, manifest.case_title,
                        manifest.sealed_at, manifest.capture, (entry,), manifest.tool)
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.7\n%%EOF\n")
    data = bf.BundleInput(
        item_id=manifest.item_id, case_number=manifest.case_number,
        created_at=datetime(2026, 11, 26, tzinfo=UTC), manifest_bytes=manifest.to_bytes(),
        artifacts=(("artifacts/a.png", artifact),), timestamp=None, anchor=None,
        report_pdf=report, tool_version="test",
    )
    seal = synthetic_sealer(data.created_at)
    assert write_bundle(data, tmp_path / "ok.zip", seal_index=seal).is_file()
    artifact.write_bytes(b"damaged bytes")
    with pytest.raises(IntegrityError, match=r"artifacts/a\.png"):
        write_bundle(data, tmp_path / "bad.zip", seal_index=seal)
    assert not (tmp_path / "bad.zip").exists()
    assert not list(tmp_path.glob(".bundle-*"))
