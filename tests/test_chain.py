"""The anchoring stage against a real anvil node (no mocks: the node is cheap to start)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import pytest

from anchoring.anvil import DEV_PRIVATE_KEY, LocalChain, find_anvil, rpc_answers
from anchoring.chain import (
    AlreadyAnchoredError,
    ChainClient,
    ChainUnreachableError,
    check_anchor,
    load_contract_artifact,
)
from evidence.model.errors import AnchorError, ConfigurationError
from evidence.model.records import AnchorCheck, AnchorReceipt
from tests.conftest import require

REPO = Path(__file__).resolve().parent.parent
# anvil's default account 1: a funded account that the registry never authorised.
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
OTHER_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _root(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def _cast() -> str:
    found = os.environ.get("EVIDENCE_CAST") or shutil.which("cast")
    path = Path(found) if found else REPO / "node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
    require(path.is_file(), "cast is not installed (run scripts/setup.sh)")
    return str(path)


def _require_anvil() -> None:
    try:
        find_anvil()
    except ConfigurationError as exc:
        require(False, exc.message)


@dataclass
class Node:
    home: Path
    chain: LocalChain
    url: str
    client: ChainClient


def _client(chain: LocalChain, url: str, key: str = DEV_PRIVATE_KEY) -> ChainClient:
    return ChainClient.connect(
        url, key, development=True, network_name=chain.network_name, receipt_timeout_s=15
    )


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    _require_anvil()
    chain = LocalChain(tmp_path)
    try:
        url = chain.ensure_running()
        client = _client(chain, url)
        client.ensure_registry(tmp_path)
        yield Node(tmp_path, chain, url, client)
    finally:
        chain.stop()


def _check(
    receipt: AnchorReceipt,
    url: str | None = None,
    *,
    chain_id: int | None = None,
    contract_address: str | None = None,
    transaction_hash: str | None = None,
    root: bytes | None = None,
    min_confirmations: int = 1,
) -> AnchorCheck:
    """check_anchor with the receipt's own values, except those a test overrides."""
    return check_anchor(
        url or receipt.rpc_url,
        chain_id=receipt.chain_id if chain_id is None else chain_id,
        contract_address=contract_address or receipt.contract_address,
        transaction_hash=transaction_hash or receipt.transaction_hash,
        root=root or bytes.fromhex(receipt.root[2:]),
        min_confirmations=min_confirmations,
    )


def test_anchor_round_trip_fills_every_receipt_field(node: Node) -> None:
    root = _root("round trip")
    receipt = node.client.anchor_root(root, "case-1/item-7")

    assert receipt.chain_id == 31337
    assert receipt.network_name == "local anvil (development, chain id 31337)"
    assert receipt.rpc_url == node.url
    assert receipt.contract_address == node.client.contract_address
    assert re.fullmatch(r"0x[0-9a-fA-F]{40}", receipt.contract_address)
    assert receipt.contract_address != receipt.contract_address.lower()  # checksummed
    assert re.fullmatch(r"0x[0-9a-f]{64}", receipt.transaction_hash)
    assert re.fullmatch(r"0x[0-9a-f]{64}", receipt.block_hash)
    assert receipt.block_number >= 2  # block 1 holds the deployment
    assert receipt.block_time.tzinfo is UTC
    assert receipt.root == "0x" + root.hex()
    assert receipt.submitter == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert receipt.reference == "case-1/item-7"
    assert receipt.development is True

    seen = check_anchor(
        receipt.rpc_url,
        chain_id=receipt.chain_id,
        contract_address=receipt.contract_address,
        transaction_hash=receipt.transaction_hash,
        root=root,
    )
    assert seen.block_number == receipt.block_number
    assert seen.block_hash == receipt.block_hash
    assert seen.anchored_at_block_time == receipt.block_time
    assert seen.confirmations == 1
    assert seen.root == receipt.root


def test_reanchoring_the_same_root_is_refused_by_name(node: Node) -> None:
    root = _root("once")
    assert node.client.find_anchor(root) is None
    first = node.client.anchor_root(root, "first")
    with pytest.raises(AlreadyAnchoredError, match=r"AlreadyAnchored\(0x" + root.hex() + r"\)"):
        node.client.anchor_root(root, "second")
    # What a caller does after AlreadyAnchored: read the first anchor back.
    assert node.client.find_anchor(root) == first


def test_zero_root_is_refused(node: Node) -> None:
    with pytest.raises(AnchorError, match=r"ZeroRoot\(\)"):
        node.client.anchor_root(bytes(32), "nothing")


def test_check_fails_for_the_wrong_root(node: Node) -> None:
    receipt = node.client.anchor_root(_root("real"), "r")
    other = _root("forged")
    with pytest.raises(
        AnchorError,
        match=f"event root {receipt.root} differs from the manifest digest 0x{other.hex()}",
    ):
        _check(receipt, root=other)


def test_check_fails_for_an_unknown_transaction(node: Node) -> None:
    receipt = node.client.anchor_root(_root("tx"), "r")
    missing = "0x" + "ab" * 32
    with pytest.raises(AnchorError, match=f"transaction {missing} not found on chain 31337"):
        _check(receipt, transaction_hash=missing)


def test_check_fails_for_the_wrong_chain_id(node: Node) -> None:
    receipt = node.client.anchor_root(_root("chain"), "r")
    with pytest.raises(AnchorError, match=r"chain id 31337 differs from the recorded 1$"):
        _check(receipt, chain_id=1)


def test_check_fails_for_the_wrong_contract(node: Node) -> None:
    receipt = node.client.anchor_root(_root("contract"), "r")
    second = _client(node.chain, node.url).deploy_registry()
    with pytest.raises(
        AnchorError, match=f"was sent to {receipt.contract_address}, not the registry {second}"
    ):
        _check(receipt, contract_address=second)


def test_check_fails_for_a_malformed_recorded_hash(node: Node) -> None:
    receipt = node.client.anchor_root(_root("malformed"), "r")
    with pytest.raises(AnchorError, match="transaction hash 'nonsense' is malformed"):
        _check(receipt, transaction_hash="nonsense")


def test_check_counts_confirmations(node: Node) -> None:
    receipt = node.client.anchor_root(_root("confirmations"), "r")
    with pytest.raises(AnchorError, match=r"1 confirmations of 0x[0-9a-f]{64}, 3 required"):
        _check(receipt, min_confirmations=3)
    subprocess.run(
        [_cast(), "rpc", "anvil_mine", "2", "--rpc-url", node.url], check=True, capture_output=True
    )
    _check(receipt, min_confirmations=3)


def test_clients_sharing_a_key_do_not_clash_on_nonces(node: Node) -> None:
    clients = [_client(node.chain, node.url) for _ in range(3)]
    for client in clients:
        client.ensure_registry(node.home)
    failures: list[BaseException] = []

    def anchor_five(index: int, client: ChainClient) -> None:
        for n in range(5):
            try:
                client.anchor_root(_root(f"parallel {index}/{n}"), "p")
            except AnchorError as exc:
                failures.append(exc)

    threads = [
        threading.Thread(target=anchor_five, args=(index, client))
        for index, client in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []


def test_unauthorised_submitter_is_refused_until_authorised(node: Node) -> None:
    registry = node.client.contract_address
    assert registry is not None
    stranger = _client(node.chain, node.url, OTHER_KEY)
    stranger.use_registry(registry)
    root = _root("stranger")
    with pytest.raises(AnchorError, match=rf"NotAuthorized\({OTHER_ADDRESS}\)"):
        stranger.anchor_root(root, "not allowed")

    node.client.authorize(OTHER_ADDRESS)
    receipt = stranger.anchor_root(root, "allowed now")
    assert receipt.submitter == OTHER_ADDRESS
    _check(receipt)

    node.client.revoke(OTHER_ADDRESS)
    with pytest.raises(AnchorError, match="NotAuthorized"):
        stranger.anchor_root(_root("after revoke"), "no longer")
    _check(receipt)  # revoking does not touch past anchors


def test_anchor_survives_sigkill_once_persisted(node: Node) -> None:
    root = _root("kill -9")
    receipt = node.client.anchor_root(root, "durable")
    node.chain.wait_persisted(receipt.block_number, timeout_s=10)

    pid = node.chain.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert rpc_answers(node.url) is None or node.chain.pid != pid

    url = node.chain.ensure_running()
    assert node.chain.pid not in (None, pid)
    _check(receipt, url)


def test_truncated_state_file_falls_back_on_the_verified_copy(node: Node) -> None:
    receipt = node.client.anchor_root(_root("torn write"), "r")
    node.chain.wait_persisted(receipt.block_number, timeout_s=10)
    # wait_persisted no longer waits for anvil's own periodic write; the torn
    # write below needs that file to exist.
    for _ in range(100):
        if node.chain.state_path.exists():
            break
        time.sleep(0.05)
    pid = node.chain.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # What a SIGKILL in the middle of anvil's in-place rewrite leaves behind.
    state = node.chain.state_path
    state.write_bytes(state.read_bytes()[:1000])

    url = node.chain.ensure_running()
    _check(receipt, url)
    assert list(state.parent.glob("anvil-state.broken-*.json"))


def test_persisted_without_waiting_for_the_periodic_write_survives_sigkill(
    tmp_path: Path,
) -> None:
    _require_anvil()
    # anvil would write its state file only in an hour: wait_persisted must make the
    # block durable at once (the node's own dump kept as the verified copy), and a
    # SIGKILL right after must not lose it.
    chain = LocalChain(tmp_path, state_interval_s=3600)
    try:
        url = chain.ensure_running()
        client = _client(chain, url)
        client.ensure_registry(tmp_path)
        receipt = client.anchor_root(_root("no periodic write"), "r")
        started = time.monotonic()
        chain.wait_persisted(receipt.block_number, timeout_s=10)
        assert time.monotonic() - started < 2.0
        pid = chain.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        url = chain.ensure_running()
        assert chain.pid not in (None, pid)
        _check(receipt, url)
    finally:
        chain.stop()


def test_clean_stop_and_start_keeps_anchors(tmp_path: Path) -> None:
    _require_anvil()
    # An interval far beyond the test's length: only the exit dump can save the block.
    chain = LocalChain(tmp_path, state_interval_s=3600)
    try:
        url = chain.ensure_running()
        client = _client(chain, url)
        client.ensure_registry(tmp_path)
        receipt = client.anchor_root(_root("clean stop"), "r")
        chain.stop()
        assert chain.pid is None
        assert rpc_answers(url) is None

        url = chain.ensure_running()
        assert url == receipt.rpc_url  # the recorded port is reused when free
        _check(receipt, url)
    finally:
        chain.stop()


def test_ensure_running_reuses_the_running_node(node: Node) -> None:
    pid = node.chain.pid
    again = LocalChain(node.home)
    assert again.ensure_running() == node.url
    assert again.pid == pid
    record = json.loads((node.home / "chain" / "anvil.json").read_text())
    assert record["pid"] == pid


def test_a_foreign_node_on_the_recorded_port_is_not_adopted(tmp_path: Path) -> None:
    _require_anvil()
    chain = LocalChain(tmp_path)
    foreign: subprocess.Popen[bytes] | None = None
    try:
        url = chain.ensure_running()
        port = int(url.rsplit(":", 1)[1])
        chain.stop()
        # Someone else's anvil (same chain id, different chain) takes the port.
        foreign = subprocess.Popen(
            [str(find_anvil()), "--port", str(port), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if rpc_answers(url) is not None:
                break
            time.sleep(0.05)
        assert rpc_answers(url) == 31337

        assert chain.ensure_running() != url
    finally:
        chain.stop()
        if foreign is not None:
            foreign.terminate()
            foreign.wait(10)


def test_concurrent_starts_share_one_node(tmp_path: Path) -> None:
    _require_anvil()
    chains = [LocalChain(tmp_path), LocalChain(tmp_path)]
    urls: list[str] = []
    threads = [threading.Thread(target=lambda c=c: urls.append(c.ensure_running())) for c in chains]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(urls) == 2
        assert urls[0] == urls[1]
    finally:
        chains[0].stop()


def test_ensure_registry_deploys_once_per_chain(node: Node) -> None:
    first = node.client.contract_address
    block = node.client._w3.eth.block_number
    again = _client(node.chain, node.url)
    assert again.ensure_registry(node.home) == first
    assert node.client._w3.eth.block_number == block  # nothing was sent

    record_path = node.home / "chain" / "deployment.json"
    records = json.loads(record_path.read_text())
    (key,) = records
    assert key.startswith("31337:0x")
    # A recorded address without code (chain reset behind our back) is deployed again.
    records[key]["address"] = OTHER_ADDRESS
    record_path.write_text(json.dumps(records))
    redeployed = _client(node.chain, node.url).ensure_registry(node.home)
    assert redeployed not in (first, OTHER_ADDRESS)


def test_stock_cast_reads_the_same_anchor(node: Node) -> None:
    receipt = node.client.anchor_root(_root("cast"), "r")
    cast_tool = _cast()
    out = subprocess.run(
        [
            cast_tool,
            "call",
            receipt.contract_address,
            "anchoredAt(bytes32)(uint256)",
            receipt.root,
            "--rpc-url",
            node.url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert int(out.split()[0]) == int(receipt.block_time.timestamp())

    code = subprocess.run(
        [cast_tool, "code", receipt.contract_address, "--rpc-url", node.url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert code == load_contract_artifact().deployed_bytecode

    status = subprocess.run(
        [cast_tool, "receipt", receipt.transaction_hash, "status", "--rpc-url", node.url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert status.split()[0] in ("1", "true", "1 (success)")


def test_unreachable_rpc_is_distinguishable(tmp_path: Path) -> None:
    dead = "http://127.0.0.1:9"  # discard port: nothing listens on it here
    with pytest.raises(
        ChainUnreachableError, match=re.escape("could not reach the chain at http://127.0.0.1:9 (")
    ):
        check_anchor(
            dead,
            chain_id=31337,
            contract_address=OTHER_ADDRESS,
            transaction_hash="0x" + "00" * 32,
            root=_root("x"),
        )
    with pytest.raises(ChainUnreachableError):
        ChainClient.connect(dead, DEV_PRIVATE_KEY, development=True)


def test_wait_persisted_gives_up_in_time(node: Node) -> None:
    with pytest.raises(AnchorError, match="block 1000000 not written"):
        node.chain.wait_persisted(1_000_000, timeout_s=0.3)


def test_published_dev_key_is_refused_outside_development(node: Node) -> None:
    with pytest.raises(ConfigurationError, match="published development key"):
        ChainClient.connect(node.url, DEV_PRIVATE_KEY, development=False)


def test_missing_anvil_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVIDENCE_ANVIL", str(tmp_path / "no-such-anvil"))
    with pytest.raises(ConfigurationError, match="EVIDENCE_ANVIL"):
        LocalChain(tmp_path).ensure_running()


def test_artifact_loads() -> None:
    artifact = load_contract_artifact()
    assert artifact.contract_name == "EvidenceRegistry"
    assert artifact.bytecode.startswith("0x60")
    assert artifact.compiler_version.startswith("0.8.28+")
    assert artifact.settings["optimizer"] == {"enabled": True, "runs": 200}


# --- signers, fees, configuration mistakes -----------------------------------------


def test_custom_errors_are_our_own_types(node: Node) -> None:
    from anchoring.chain import NotAuthorizedError, NotOwnerError

    stranger = _client(node.chain, node.url, OTHER_KEY)
    assert node.client.contract_address is not None
    stranger.use_registry(node.client.contract_address)
    with pytest.raises(NotAuthorizedError, match=r"NotAuthorized\("):
        stranger.anchor_root(_root("nope"), "x")
    with pytest.raises(NotOwnerError, match=r"NotOwner\("):
        stranger.authorize(OTHER_ADDRESS)


def test_keystore_signer_and_node_account(node: Node, tmp_path: Path) -> None:
    from eth_account import Account

    from anchoring.chain import NodeAccount, load_keystore

    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(bytes.fromhex(OTHER_KEY[2:]), "correct horse")))
    with pytest.raises(ConfigurationError, match="wrong passphrase"):
        load_keystore(keystore, "wrong")
    account = load_keystore(keystore, "correct horse")
    assert account.address == OTHER_ADDRESS
    node.client.authorize(OTHER_ADDRESS)
    signed = ChainClient.connect(node.url, account, development=True)
    signed.use_registry(node.client.contract_address or "")
    assert signed.anchor_root(_root("keystore"), "k").submitter == OTHER_ADDRESS

    # anvil holds its default accounts unlocked: eth_sendTransaction, no key here.
    unlocked = ChainClient.connect(node.url, NodeAccount(OTHER_ADDRESS), development=True)
    unlocked.use_registry(node.client.contract_address or "")
    receipt = unlocked.anchor_root(_root("node account"), "n")
    assert receipt.submitter == OTHER_ADDRESS
    _check(receipt)
    tx = unlocked._w3.eth.get_transaction(receipt.transaction_hash)  # type: ignore[arg-type]
    assert int(tx["type"]) == 2 and unlocked.uses_eip1559  # London+: EIP-1559 fees
    with pytest.raises(ConfigurationError, match="does not hold the account"):
        ChainClient.connect(node.url, NodeAccount("0x" + "12" * 20), development=True)


def test_legacy_fees_on_a_chain_without_base_fee(tmp_path: Path) -> None:
    _require_anvil()
    from anchoring._anvil_node import ephemeral_port

    port = ephemeral_port()
    process = subprocess.Popen(
        [str(find_anvil()), "--port", str(port), "--hardfork", "berlin", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if rpc_answers(url) is not None:
                break
            time.sleep(0.05)
        client = ChainClient.connect(url, DEV_PRIVATE_KEY, development=True)
        assert client.uses_eip1559 is False
        fees = client._transactor.fees()
        assert set(fees) == {"gasPrice"} and fees["gasPrice"] > 0
        # The registry is compiled for cancun (PUSH0): a pre-Shanghai EVM refuses it
        # by name, in one line (docs/chains.md: recompile with an older evmVersion).
        with pytest.raises(AnchorError, match=r"refused deploying the registry: .*NotActivated"):
            client.deploy_registry()
    finally:
        process.terminate()
        process.wait(10)


def test_wrong_chain_id_and_codeless_registry_are_refused(node: Node) -> None:
    with pytest.raises(ConfigurationError, match=r"on chain id 31337, not the configured 1$"):
        ChainClient.connect(node.url, DEV_PRIVATE_KEY, development=True, expected_chain_id=1)
    with pytest.raises(AnchorError, match=f"no contract code at {OTHER_ADDRESS} on chain 31337"):
        _client(node.chain, node.url).use_registry(OTHER_ADDRESS)
    with pytest.raises(ConfigurationError, match="no EvidenceRegistry known"):
        _client(node.chain, node.url).ensure_registry(node.home / "elsewhere", deploy=False)
