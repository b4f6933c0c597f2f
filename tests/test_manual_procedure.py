"""docs/verify-by-hand.sh (stock tools only) and our verifier agree, step by step.

The script is run literally on a good bundle and on tampered copies; wherever
both reach a PASS or FAIL for the same step, the verdicts must be equal, and
both must agree on whether anything failed at all.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence import Settings, Verdict
from evidence.model.manifest import canonical_json
from evidence.model.merkle import MerkleTree
from evidence.model.records import VerificationReport
from evidence.verification import VerifyOptions, run_verification
from reports.bundle import layout as bf
from tests.conftest import REPO, require_tool
from tests.test_verify_checks import (
    Captured,
    capture_bundle,
    copy_of,
    custody_lines,
    flip,
    reseal_checksums,
    write_custody,
)

pytestmark = pytest.mark.slow

SCRIPT = REPO / "docs" / "verify-by-hand.sh"
# script step -> our checks
STEPS = {
    "sha256": ("checksums.sha256",),
    "sm3": ("checksums.sm3",),
    "manifest": ("artifact.digest", "artifact.present", "artifact.extra", "manifest.format"),
    "signature": ("manifest.signature",),
    "index": ("index.member",),
    "index-signature": ("index.signature",),
    "index-timestamp": ("index.timestamp",),
    "timestamp": ("timestamp.token",),
    "time-order": ("time.order",),
    "merkle": ("anchor.merkle", "anchor.leaf"),
    "chain": ("anchor.chain",),
    "block-time": ("time.anchor",),
    "custody": ("custody.chain",),
    "custody-anchor": ("custody.anchor",),
}


@pytest.fixture(scope="module")
def captured(
    session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    require_tool("openssl")
    require_tool("curl")
    yield from capture_bundle(session_settings, tmp_path_factory.mktemp("manual"))


def _script(root: Path, rpc: str) -> tuple[int, dict[str, str]]:
    result = subprocess.run(
        ["bash", str(SCRIPT), str(root), rpc], capture_output=True, text=True, timeout=120
    )
    steps: dict[str, str] = {}
    for line in result.stdout.splitlines():
        for verdict in ("NOT CHECKED", "PASS", "FAIL"):
            if line.startswith(verdict + " "):
                step = line[len(verdict) + 1 :].split(":", 1)[0]
                # Any FAIL of a step wins over its PASS lines.
                if steps.get(step) != "FAIL":
                    steps[step] = verdict
    return result.returncode, steps


def _ours(report: VerificationReport) -> dict[str, str]:
    steps: dict[str, str] = {}
    for step, checks in STEPS.items():
        found = [c.verdict for c in report.checks if c.check in checks]
        if Verdict.FAIL in found:
            steps[step] = "FAIL"
        elif Verdict.NOT_CHECKED in found:
            steps[step] = "NOT CHECKED"
        elif found:
            steps[step] = "PASS"
    return steps


def _agree(root: Path, rpc: str) -> tuple[dict[str, str], dict[str, str]]:
    code, script = _script(root, rpc)
    report = run_verification(root, VerifyOptions(rpc_url=rpc, replay=False)).report
    ours = _ours(report)
    both = {s for s in script if s in ours and {script[s], ours[s]} <= {"PASS", "FAIL"}}
    assert both, (script, ours)
    for step in both:
        assert script[step] == ours[step], (step, script, ours)
    assert ("FAIL" in script.values()) == bool(report.failures), (script, report.failures)
    assert (code == 1) == bool(report.failures)
    return script, ours


def _rpc(captured: Captured) -> str:
    return str(json.loads((captured.unpacked / bf.ANCHOR_JSON).read_bytes())["rpc_url"])


def test_good_bundle_every_step_agrees(captured: Captured) -> None:
    script, _ = _agree(captured.unpacked, _rpc(captured))
    steps = ("sha256", "sm3", "manifest", "timestamp", "time-order", "merkle", "chain")
    for step in (*steps, "custody-anchor"):
        assert script[step] == "PASS", script


@pytest.mark.parametrize(
    ("tamper", "step"),
    [
        ("flip:artifacts/screenshot.png", "sha256"),
        ("flip:artifacts/dom.html", "manifest"),
        ("flip:timestamp/token.tsr", "timestamp"),
        ("manifest", "timestamp"),
        ("root", "merkle"),
        ("registry", "chain"),
        ("custody-good", "custody"),
        ("custody-edited", "custody"),
        ("merkle-5", "merkle"),
    ],
)
def test_tampered_bundles_agree(captured: Captured, tmp_path: Path, tamper: str, step: str) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "bad")
    anchor = json.loads((bad / bf.ANCHOR_JSON).read_bytes())
    if tamper.startswith("flip:"):
        name = tamper.split(":", 1)[1]
        flip(bad / name, len((bad / name).read_bytes()) - 20)
        if name.startswith("artifacts/dom"):
            reseal_checksums(bad)
    elif tamper == "manifest":
        m = bad / bf.MANIFEST
        m.write_bytes(m.read_bytes().replace(b'"sealed_at":"2', b'"sealed_at":"1'))
        reseal_checksums(bad)
    elif tamper == "root":
        anchor["root"] = "0x" + "ab" * 32
        (bad / bf.ANCHOR_JSON).write_bytes(canonical_json(anchor))
        reseal_checksums(bad)
    elif tamper == "registry":
        anchor["contract_address"] = "0x" + "11" * 20
        (bad / bf.ANCHOR_JSON).write_bytes(canonical_json(anchor))
        reseal_checksums(bad)
    elif tamper.startswith("custody"):
        events = custody_lines(3)
        if tamper == "custody-edited":
            events[1] = {**events[1], "reason": "changed"}
        write_custody(bad, events)
        reseal_checksums(bad)
    elif tamper == "merkle-5":
        # A batch of five: our leaf at index 3, proof and root from the RFC 9162 tree.
        leaves = [bytes([i]) * 32 for i in range(5)]
        leaves[3] = bytes.fromhex(anchor["merkle"]["leaf"])
        tree = MerkleTree(leaves)
        proof = tree.proof(3)
        anchor["merkle"].update(
            leaf_index=3, tree_size=5, path=[h.hex() for h in proof.path]
        )
        anchor["root"] = "0x" + tree.root.hex()
        (bad / bf.ANCHOR_JSON).write_bytes(canonical_json(anchor))
        reseal_checksums(bad)
    script, ours = _agree(bad, _rpc(captured))
    if tamper in ("custody-good", "merkle-5"):
        assert script[step] == ours[step] == "PASS", (script, ours)
    else:
        assert script[step] == ours[step] == "FAIL", (script, ours)


def test_script_uses_stock_tools_only() -> None:
    text = SCRIPT.read_text()
    assert "python" not in text.lower().replace("no python", "")
    assert shutil.which("bash")
