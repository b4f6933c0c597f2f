"""The chain, anchoring, completion and TSA commands in-process.

Real anvil and the development TSA on one data directory for the module (its
chain stops after it); items are sealed from synthetic files, no browser.
"""

from __future__ import annotations

import _thread
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from anchoring.anvil import DEV_PRIVATE_KEY
from anchoring.devtsa import DEVELOPMENT_POLICY_OID, DevelopmentTSA
from anchoring.tsa import TSAConfig, request_timestamp
from evidence import Settings, TimestampToken, Toolkit
from tests.cli_support import (
    CHINESE,
    one_line_error,
    put_officer_on_case,
    run,
    stop_local_chain,
    succeeded,
    usage_error,
)
from tests.conftest import require_tool
from tests.helpers import seal_synthetic_item

CASE = "案-CLI-CHAIN"
SECOND_ANVIL_ACCOUNT = "0x70997970C51812dc3A010C7d01b0b91fe2E1fd5E"


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unreachable_chain() -> dict[str, str | None]:
    """A configured chain nobody listens on (with a submitter key, so it is tried)."""
    return {
        "EVIDENCE_RPC_URL": f"http://127.0.0.1:{_unused_port()}",
        "EVIDENCE_CHAIN_PRIVATE_KEY": DEV_PRIVATE_KEY,
    }


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_tool("anvil")
    require_tool("openssl")
    path = tmp_path_factory.mktemp("chain-home")
    succeeded(run(path, "case", "create", CASE, "--title", "上链"))
    # Completing and anchoring are done by an officer: this account's default here.
    succeeded(run(path, "officer", "default", put_officer_on_case(path, CASE)))
    yield path
    stop_local_chain(path)


def _seal(home: Path, workdir: Path, *, timestamped: bool = False) -> str:
    """A synthetic sealed item in CASE (timestamped through the library if asked)."""
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(settings) as kit:
        item_id = seal_synthetic_item(kit, CASE, workdir, workdir.name).id
        if timestamped:
            kit.timestamp(item_id)
    return item_id


def test_chain_up_status_down_and_the_old_names(home: Path) -> None:
    url = succeeded(run(home, "chain", "up")).stdout.strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
    status = succeeded(run(home, "chain", "status"))
    assert "running: yes" in status.stdout and f"rpc url: {url}" in status.stdout
    assert json.loads(succeeded(run(home, "chain", "status", "--json")).stdout)["chain_id"] == 31337
    succeeded(run(home, "chain", "down"))
    stopped = run(home, "chain", "status")
    assert stopped.exit_code == 1 and "running: no" in stopped.stdout
    # start/stop: the names of earlier releases, still working.
    assert succeeded(run(home, "chain", "start")).stdout.startswith("http://127.0.0.1:")
    succeeded(run(home, "chain", "stop"))
    assert "--bogus" in usage_error(run(home, "chain", "up", "--bogus"))
    assert "--bogus" in usage_error(run(home, "chain", "down", "--bogus"))


def test_chain_deploy_and_authorize(home: Path) -> None:
    deployed = succeeded(run(home, "chain", "deploy"))
    address = deployed.stdout.strip()
    assert re.fullmatch(r"0x[0-9a-fA-F]{40}", address)
    assert deployed.stderr.strip() == f"export EVIDENCE_REGISTRY_ADDRESS={address}"
    tx = succeeded(run(home, "chain", "authorize", SECOND_ANVIL_ACCOUNT)).stdout.strip()
    assert re.fullmatch(r"0x[0-9a-f]{64}", tx)
    assert "not an EVM address" in usage_error(run(home, "chain", "authorize", "not-an-address"))
    line = one_line_error(run(home, "chain", "deploy", env=_unreachable_chain()))
    assert "could not reach the chain" in line


def test_complete_one_item_and_every_pending_one(home: Path, tmp_path: Path) -> None:
    item_id = _seal(home, tmp_path / "complete")
    done = succeeded(run(home, "complete", item_id))
    lines = done.stdout.splitlines()
    assert lines[:2] == [f"Item: {item_id}", "Status: anchored"]
    assert lines[-1].startswith("Anchor: chain 31337 tx 0x")
    assert succeeded(run(home, "complete", "--json")).stdout.strip() == "[]"
    assert "no evidence item" in one_line_error(run(home, "complete", "zzzz-none"))


def test_complete_owes_what_an_outage_stopped(home: Path, tmp_path: Path) -> None:
    item_id = _seal(home, tmp_path / "outage")
    result = run(home, "complete", item_id, lang=CHINESE, env=_unreachable_chain())
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "证据编号: " + item_id in result.stdout
    assert "待补步骤（稍后运行 evidence complete）: " in result.stdout
    # Completed later, once the chain is back.
    assert "Status: anchored" in succeeded(run(home, "complete", item_id)).stdout


def test_anchor_one_item_and_pending_batches(home: Path, tmp_path: Path) -> None:
    one = _seal(home, tmp_path / "one", timestamped=True)
    anchored = succeeded(run(home, "anchor", one))
    assert anchored.stdout.splitlines()[1] == "Status: anchored"
    waiting = [_seal(home, tmp_path / f"batch{i}", timestamped=True) for i in range(2)]
    [batch] = json.loads(succeeded(run(home, "anchor", "--pending", "--json")).stdout)
    assert set(waiting) <= set(batch["item_ids"]) and batch["chain_id"] == 31337
    nothing = succeeded(run(home, "anchor", "--pending", lang=CHINESE))
    assert nothing.stdout == "没有待锚定的证据\n"
    assert "ITEM_ID or --pending" in usage_error(run(home, "anchor"))
    assert "no evidence item" in one_line_error(run(home, "anchor", "zzzz-none"))


def test_checkpoint_timestamps_the_chain_head(home: Path) -> None:
    text = succeeded(run(home, "chain", "checkpoint")).stdout.splitlines()
    assert re.fullmatch(r"chain 31337 block \d+ 0x[0-9a-f]{64}", text[0])
    assert text[1].startswith("Timestamp (genTime): ")
    data = json.loads(succeeded(run(home, "chain", "checkpoint", "--json")).stdout)
    assert data["chain_id"] == 31337 and data["statement"]
    line = one_line_error(run(home, "chain", "checkpoint", env=_unreachable_chain()))
    assert "could not reach the chain" in line


def test_recheck_confirmed_batches(home: Path, tmp_path: Path) -> None:
    succeeded(run(home, "complete", _seal(home, tmp_path / "recheck")))
    recheck = ("chain", "recheck", "--reason", "例行复核")
    rows = json.loads(succeeded(run(home, *recheck, "--json")).stdout)
    assert rows and {r["outcome"] for r in rows} <= {"final", "waiting"}
    assert "--confirmations" in usage_error(run(home, *recheck, "--confirmations", "0"))


def test_tsa_presets(home: Path) -> None:
    listed = succeeded(run(home, "tsa", "presets")).stdout
    assert listed.startswith("freetsa\thttps://freetsa.org/tsr\t")
    assert "--bogus" in usage_error(run(home, "tsa", "presets", "--bogus"))


def test_tsa_serve_until_interrupted(home: Path, tmp_path: Path) -> None:
    # The development TSA's certificate stands in for an agency-issued one.
    paths = DevelopmentTSA(tmp_path / "pki").paths
    port = _unused_port()
    tokens: list[TimestampToken] = []

    def client() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            return  # never listened: the command has failed on its own
        try:
            url, roots = f"http://127.0.0.1:{port}/tsr", paths.ca_certificate.read_bytes()
            config = TSAConfig(url=url, trust_roots_pem=roots)
            tokens.append(request_timestamp(hashlib.sha256(b"cli").digest(), config))
        finally:
            _thread.interrupt_main()  # Ctrl-C, as an officer stops the server

    thread = threading.Thread(target=client)
    thread.start()
    args = ("--cert", str(paths.tsa_certificate), "--key", str(paths.tsa_key), "--port", str(port))
    state = ("--policy", DEVELOPMENT_POLICY_OID, "--state-dir", str(tmp_path / "state"))
    served = run(home, "tsa", "serve", *args, *state)
    thread.join()
    succeeded(served)
    assert served.stderr.strip() == f"serving http://127.0.0.1:{port}/tsr"
    assert [t.policy_oid for t in tokens] == [DEVELOPMENT_POLICY_OID]


def test_tsa_serve_without_its_certificate(home: Path, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    line = one_line_error(
        run(home, "tsa", "serve", "--cert", missing, "--key", missing, "--policy", "1.2.3")
    )
    assert "cannot read" in line and "missing.pem" in line
