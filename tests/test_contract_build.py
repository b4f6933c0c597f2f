"""The committed contract artifact is exactly what the pinned compiler makes of the source."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "contracts" / "EvidenceRegistry.sol"
ARTIFACT = REPO / "anchoring" / "contract_artifacts" / "EvidenceRegistry.json"


def test_artifact_is_reproducible_byte_for_byte(tmp_path: Path) -> None:
    node = shutil.which("node")
    require(
        node is not None and (REPO / "node_modules" / "solc").is_dir(),
        "node or solc-js is not installed (run scripts/setup.sh)",
    )
    assert node is not None
    rebuilt = tmp_path / "EvidenceRegistry.json"
    subprocess.run(
        [node, str(REPO / "contracts" / "compile.js"), str(rebuilt)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    if rebuilt.read_bytes() != ARTIFACT.read_bytes():
        pytest.fail(
            f"{ARTIFACT.relative_to(REPO)} is stale or hand-edited: run `node contracts/compile.js`"
        )


def test_artifact_names_the_committed_source() -> None:
    artifact = json.loads(ARTIFACT.read_text(encoding="utf-8"))
    assert artifact["sourceSha256"] == hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    assert artifact["compiler"]["name"] == "solc-js"
    assert artifact["compiler"]["version"].startswith("0.8.28+commit.")
    assert artifact["settings"]["evmVersion"] == "cancun"
    assert artifact["bytecode"].startswith("0x") and artifact["deployedBytecode"].startswith("0x")
    # The metadata solc embedded (and hashed into the bytecode) names the same source.
    metadata = json.loads(artifact["metadata"])
    assert metadata["sources"]["EvidenceRegistry.sol"]["keccak256"].startswith("0x")
