"""VERIFY.txt, followed literally, agrees with ``evidence verify``, check by check.

A real bundle (Chromium capture, development TSA, anvil) is exported; the script
that ends its VERIFY.txt is copied out with the command VERIFY.txt prints and
run under /bin/sh (dash) and under bash, on the good bundle and on tampered
copies. Every check id the script decides must carry the same verdict as in
``evidence verify --json`` (given the same roots, endpoint and registry), the
two shells must print the same, and nothing may be written into the bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evidence import Settings
from evidence.model.manifest import canonical_json
from reports.bundle import layout as bf
from reports.bundle.guides import EXTRACT_SCRIPT, procedure_script
from tests.conftest import REPO, require_tool
from tests.test_verify_checks import Captured, capture_bundle, copy_of, flip, reseal_checksums

pytestmark = pytest.mark.slow

LINE = re.compile(r"^([a-z0-9_.]+): (OK|FAIL|UNTRUSTED|NOT CHECKED)(?: |$)")
LEFT_TO_THE_TOOLKIT = {
    "warc.record",
    "screenshot.replay",
    "report.format",
    "report.content",
    "report.identity",
    "report.signature",
    "signers.list",
}
"""Checks stock tools cannot make; the script names them NOT CHECKED and says what to run."""
RANK = {"FAIL": 3, "UNTRUSTED": 2, "NOT CHECKED": 1, "OK": 0, "PASS": 0}


@dataclass(frozen=True)
class Trust:
    """The expert's own decisions, kept outside the bundle: as files and as variables."""

    env: dict[str, str]
    cli: list[str]


@pytest.fixture(scope="module")
def captured(
    session_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    for tool in ("openssl", "curl", "dash", "bash", "ffmpeg", "ffprobe"):
        require_tool(tool)
    yield from capture_bundle(session_settings, tmp_path_factory.mktemp("verify-txt"))


@pytest.fixture(scope="module")
def trust(captured: Captured, tmp_path_factory: pytest.TempPathFactory) -> Trust:
    captured.kit.trust.trust_this_machine()  # the exporting officer came after the capture
    policy = captured.kit.trust.trust_policy()
    folder = tmp_path_factory.mktemp("expert")
    tsa, signers = folder / "tsa-roots.pem", folder / "signer-roots.pem"
    tsa.write_bytes(b"".join(e.pem for e in policy.tsa_roots))
    signers.write_bytes(b"".join(e.pem for e in policy.signer_roots))
    # The test's own anvil: the endpoint and registry this machine anchored with.
    anchor = json.loads((captured.unpacked / bf.ANCHOR_JSON).read_bytes())
    chain = next((c for c in policy.chains if c.chain_id == anchor["chain_id"]), None)
    env = {
        "TSA_ROOTS": str(tsa),
        "SIGNER_ROOTS": str(signers),
        "RPC_URL": chain.rpc_urls[0] if chain and chain.rpc_urls else anchor["rpc_url"],
        "REGISTRY": (chain.registry if chain else None) or anchor["contract_address"],
        "CHAIN_ID": str(anchor["chain_id"]),
    }
    cli = ["--trust-roots", str(tsa), "--signer-roots", str(signers)]
    cli += ["--rpc-url", env["RPC_URL"], "--registry", env["REGISTRY"]]
    cli += ["--chain-id", env["CHAIN_ID"]]
    return Trust(env, cli)


NO_TRUST = Trust({}, [])


def _snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    } | {p.relative_to(root).as_posix() + "/": "" for p in root.rglob("*") if p.is_dir()}


def _extract(root: Path, scratch: Path) -> Path:
    """The script, copied out of VERIFY.txt by the very command VERIFY.txt prints."""
    script = scratch / "verify.sh"
    text = (root / bf.INSTRUCTIONS).read_text(encoding="utf-8")
    assert EXTRACT_SCRIPT in text
    subprocess.run(
        ["sh", "-c", f'{EXTRACT_SCRIPT} > "$OUT"'],
        cwd=root,
        env={**os.environ, "OUT": str(script)},
        check=True,
    )
    assert script.read_text(encoding="utf-8") == procedure_script()
    return script


def _run_script(shell: str, script: Path, root: Path, trust: Trust) -> tuple[int, str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(script.parent), **trust.env}
    done = subprocess.run(
        [shell, str(script), "."], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    return done.returncode, done.stdout


def _verdicts_of_script(stdout: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in stdout.splitlines():
        match = LINE.match(line)
        if match:
            check, verdict = match.groups()
            if RANK[verdict] >= RANK.get(found.get(check, "OK"), 0):
                found[check] = verdict
    return found


def _checks_in(value: Any) -> list[dict[str, Any]]:
    """Every ``{"check": …, "verdict": …}`` object in the verifier's JSON."""
    if isinstance(value, dict):
        if "check" in value and "verdict" in value:
            return [value]
        return [c for v in value.values() for c in _checks_in(v)]
    if isinstance(value, list):
        return [c for v in value for c in _checks_in(v)]
    return []


def _verdicts_of_verifier(root: Path, trust: Trust, home: Path) -> tuple[int, dict[str, str]]:
    evidence = str(REPO / ".venv" / "bin" / "evidence")
    done = subprocess.run(
        [evidence, "verify", str(root), "--json", "--no-replay", *trust.cli],
        env={**os.environ, "EVIDENCE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    checks = _checks_in(json.loads(done.stdout))
    assert checks, done.stdout + done.stderr
    found: dict[str, str] = {}
    for c in checks:
        verdict = "OK" if c["verdict"] == "PASS" else str(c["verdict"])
        if RANK[verdict] >= RANK.get(found.get(c["check"], "OK"), 0):
            found[str(c["check"])] = verdict
    return done.returncode, found


def _agree(root: Path, trust: Trust, scratch: Path) -> tuple[dict[str, str], str]:
    """Run both shells and the verifier; assert they agree; the script's verdicts and output."""
    before = _snapshot(root)
    script = _extract(root, scratch)
    code, dash_out = _run_script("sh", script, root, trust)
    bash_code, bash_out = _run_script("bash", script, root, trust)
    assert (code, dash_out) == (bash_code, bash_out), "dash and bash disagree"
    assert _snapshot(root) == before, "the script wrote into the bundle"
    ours = _verdicts_of_script(dash_out)
    theirs_code, theirs = _verdicts_of_verifier(root, trust, scratch / "home")
    decided = set(ours) - LEFT_TO_THE_TOOLKIT
    differ = {c: (ours[c], theirs.get(c)) for c in decided if ours[c] != theirs.get(c)}
    assert not differ, (differ, dash_out)
    missing = set(theirs) - set(ours) - LEFT_TO_THE_TOOLKIT
    assert not missing, (missing, dash_out)
    assert code == theirs_code or (code == 2 and theirs_code == 0), (code, theirs_code, dash_out)
    assert dash_out.rstrip().splitlines()[-1].startswith("RESULT: ")
    return ours, dash_out


def test_good_bundle_every_check_agrees(captured: Captured, trust: Trust, tmp_path: Path) -> None:
    ours, out = _agree(captured.unpacked, trust, tmp_path)
    for check in (
        "checksums.sha256", "checksums.sm3", "artifact.digest", "index.member",
        "index.signature", "index.timestamp", "timestamp.token",
        "time.order", "anchor.merkle", "anchor.chain_id", "anchor.registry", "time.anchor",
        "anchor.chain", "custody.chain", "custody.anchor", "video.frames",
    ):  # fmt: skip
        assert ours.get(check) == "OK", (check, ours)
    # The viewing copy is checked too: its source's sha256sum and its ffprobe frame count.
    copy = "video.frames: OK artifacts/video-annotated.mp4: derived from artifacts/session.mkv"
    assert copy in out, out


def test_good_bundle_without_trust_is_untrusted_not_ok(captured: Captured, tmp_path: Path) -> None:
    ours, _out = _agree(captured.unpacked, NO_TRUST, tmp_path)
    for check in ("timestamp.token", "index.signature", "index.timestamp", "anchor.chain_id"):
        assert ours[check] == "UNTRUSTED", (check, ours)
    assert ours["anchor.chain"] == ours["time.order"] == "NOT CHECKED"


def _rewrite_anchor(root: Path, change: dict[str, Any]) -> None:
    anchor = json.loads((root / bf.ANCHOR_JSON).read_bytes())
    for key, value in change.items():
        if key.startswith("merkle."):
            anchor["merkle"][key.split(".", 1)[1]] = value
        else:
            anchor[key] = value
    (root / bf.ANCHOR_JSON).write_bytes(canonical_json(anchor))


def _tamper(root: Path, how: str) -> None:
    """One attack on an unpacked bundle; the forger reseals the plain checksum files."""
    if how == "artifact-byte":
        flip(root / "artifacts/screenshot.png", 200)
        return  # not even resealed
    if how == "manifest":
        m = root / bf.MANIFEST
        m.write_bytes(m.read_bytes().replace(b'"sealed_at":"2', b'"sealed_at":"1'))
    elif how == "custody-removed":
        lines = (root / bf.CUSTODY_LOG).read_bytes().splitlines(keepends=True)
        (root / bf.CUSTODY_LOG).write_bytes(b"".join(lines[:1] + lines[2:]))
    elif how == "custody-edited":
        log = root / bf.CUSTODY_LOG
        log.write_bytes(log.read_bytes().replace(b'"action":"seal"', b'"action":"view"', 1))
    elif how == "token":
        # A genuine token, from the same TSA, over something else.
        (root / bf.TOKEN).write_bytes((root / bf.SIGNED_INDEX_TOKEN).read_bytes())
    elif how == "merkle-path":
        path = json.loads((root / bf.ANCHOR_JSON).read_bytes())["merkle"]["path"]
        _rewrite_anchor(root, {"merkle.path": ["00" * 32, *path[1:]]})
    elif how == "registry":
        _rewrite_anchor(root, {"contract_address": "0x" + "11" * 20})
    elif how == "annotated-source":
        # The manifest claims the viewing copy came from another original.
        m = root / bf.MANIFEST
        source = json.loads(m.read_bytes())["capture"]["video_annotated"]["source_sha256"]
        claim = f'"source_sha256":"{source}"'.encode()
        m.write_bytes(m.read_bytes().replace(claim, b'"source_sha256":"' + b"ab" * 32 + b'"'))
    elif how == "annotated-frames":
        # A viewing copy with frames cut: sealed sums resealed, the frame count no longer holds.
        copy = root / "artifacts/video-annotated.mp4"
        cut = copy.with_name("cut.mp4")
        subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-i", str(copy), "-frames:v", "3",
             "-c", "copy", str(cut)],
            check=True,
        )  # fmt: skip
        cut.replace(copy)
    elif how == "video-frame":
        frames = root / "artifacts/video-frames.json"
        listed = json.loads(frames.read_bytes())
        listed["frames"][1]["sha256"] = "ab" * 32
        frames.write_text(json.dumps(listed, indent=1), encoding="utf-8")
    reseal_checksums(root)


@pytest.mark.parametrize(
    ("how", "fails"),
    [
        ("artifact-byte", ("checksums.sha256", "artifact.digest", "index.member")),
        ("manifest", ("timestamp.token", "anchor.leaf", "index.member")),
        ("custody-removed", ("custody.chain",)),
        ("custody-edited", ("custody.chain",)),
        ("token", ("timestamp.token",)),
        ("merkle-path", ("anchor.merkle",)),
        ("registry", ("anchor.registry",)),
        ("video-frame", ("artifact.digest", "video.frames")),
        ("annotated-source", ("timestamp.token", "video.frames")),
        ("annotated-frames", ("artifact.digest", "video.frames")),
    ],
)
def test_tampered_bundles_agree(
    captured: Captured, trust: Trust, tmp_path: Path, how: str, fails: tuple[str, ...]
) -> None:
    bad = copy_of(captured.unpacked, tmp_path / "bad")
    _tamper(bad, how)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    ours, out = _agree(bad, trust, scratch)
    for check in fails:
        assert ours.get(check) == "FAIL", (check, ours)
    if how.startswith("annotated"):
        assert "video.frames: FAIL artifacts/video-annotated.mp4: " in out, out
