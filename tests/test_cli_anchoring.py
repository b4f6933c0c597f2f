"""The anchoring commands end to end: tsa serve, chain up/status/down, anchor --pending."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from anchoring.devtsa import DEVELOPMENT_POLICY_OID, DevelopmentTSA
from anchoring.tsa import TSAConfig, request_timestamp
from evidence.model.config import Settings
from evidence.model.tables import ItemStatus
from evidence.services.toolkit import Toolkit
from tests.conftest import REPO, require_tool
from tests.helpers import TEST_OFFICER_ID, seal_synthetic_item


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EVIDENCE_HOME": str(home), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tsa_serve_answers_with_verifiable_tokens(tmp_path: Path) -> None:
    require_tool("openssl")
    # The development TSA's certificate stands in for an agency-issued one.
    paths = DevelopmentTSA(tmp_path / "pki").paths
    port = _free_port()
    env = {**os.environ, "EVIDENCE_HOME": str(tmp_path / "home"), "LANG": "C.UTF-8"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "tsa",
            "serve",
            "--cert",
            str(paths.tsa_certificate),
            "--key",
            str(paths.tsa_key),
            "--policy",
            DEVELOPMENT_POLICY_OID,
            "--port",
            str(port),
            "--state-dir",
            str(tmp_path / "state"),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                time.sleep(0.2)
        config = TSAConfig(
            url=f"http://127.0.0.1:{port}/tsr", trust_roots_pem=paths.ca_certificate.read_bytes()
        )
        tokens = [request_timestamp(hashlib.sha256(bytes([i])).digest(), config) for i in range(3)]
        assert len({t.serial_number for t in tokens}) == 3
        assert all(t.policy_oid == DEVELOPMENT_POLICY_OID for t in tokens)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_chain_commands_and_anchor_pending(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    try:
        up = _cli(home, "chain", "up")
        assert up.returncode == 0, up.stderr
        status = _cli(home, "chain", "status", "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["chain_id"] == 31337
        with Toolkit(settings) as kit:
            kit.create_case("案-ANCHOR-1", "批量上链")
            ids = [
                seal_synthetic_item(kit, "案-ANCHOR-1", tmp_path / f"w{i}", f"a{i}").id
                for i in range(3)
            ]
            for item_id in ids:
                kit.timestamp(item_id)
        anchored = _cli(home, "anchor", "--pending", "--json", "--officer", TEST_OFFICER_ID)
        assert anchored.returncode == 0, anchored.stderr
        with Toolkit(settings) as kit:
            items = [kit.get_item(i) for i in ids]
        assert {i.status for i in items} == {ItemStatus.ANCHORED}
        # One transaction for the three items (plus the custody head as a fourth leaf).
        assert len({i.anchor.transaction_hash for i in items if i.anchor}) == 1
        assert {i.anchor.tree_size for i in items if i.anchor} == {4}
    finally:
        down = _cli(home, "chain", "down")
        assert down.returncode == 0, down.stderr
