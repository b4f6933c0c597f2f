"""Who anchored counts: each data directory anchors on its local chain with its own key.

anvil's account 0 is published, so an anchor it sent says nothing about who
sent it. These tests run a real anvil per data directory and play the forger
who knows that key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import stat
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from web3.eth import Eth

from anchoring.anvil import DEV_PRIVATE_KEY, LocalChain, find_anvil
from anchoring.chain import (
    DEPLOYMENT_FILE,
    ChainClient,
    NoDeploymentError,
    NotAuthorizedError,
    UntrustedSubmitterError,
    check_anchor,
    signer_address,
)
from evidence.model.config import Settings
from evidence.model.errors import AnchorError, ConfigurationError
from evidence.model.records import AnchorCheck, AnchorReceipt, LocalChainIdentity
from evidence.services.chains import ChainAccess
from evidence.services.toolkit import Toolkit
from tests.conftest import require, require_tool

DEV_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
# anvil's default account 1: funded, and a stranger to every registry here.
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
OTHER_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _root(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    try:
        find_anvil()
    except ConfigurationError as exc:
        require(False, exc.message)
    path = tmp_path / "home"
    path.mkdir()
    yield path
    LocalChain(path).stop()


def _chains(home: Path) -> ChainAccess:
    return ChainAccess(Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}"))


def _check(receipt: AnchorReceipt, rpc_url: str, submitters: list[str] | None) -> AnchorCheck:
    return check_anchor(
        rpc_url,
        chain_id=receipt.chain_id,
        contract_address=receipt.contract_address,
        transaction_hash=receipt.transaction_hash,
        root=bytes.fromhex(receipt.root[2:]),
        submitters=submitters,
    )


def _dev_client(rpc_url: str) -> ChainClient:
    return ChainClient.connect(rpc_url, DEV_PRIVATE_KEY, development=True)


def _key_text(home: Path) -> str:
    return (home / "chain" / "submitter.key").read_text().strip()


# --- a fresh data directory ---------------------------------------------------------


def test_a_fresh_home_anchors_with_its_own_key(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, local = _chains(home).client()
    assert local is not None
    receipt = client.anchor_root(_root("fresh"), "fresh home")

    key_path = home / "chain" / "submitter.key"
    key = _key_text(home)
    own = signer_address(key)
    assert receipt.submitter == own == client.submitter
    assert receipt.submitter != DEV_ADDRESS
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    # The registry is this home's: deployed from its key, which owns it.
    assert client.registry_owner() == own
    deployments = json.loads((home / DEPLOYMENT_FILE).read_text())
    assert [entry["deployer"] for entry in deployments.values()] == [own]

    check = _check(receipt, client.rpc_url, [own])
    assert check.submitter == own and check.root == receipt.root

    # The key is in its own file and nowhere else: not in other files of the home
    # (state dumps, anvil's log, deployment record, database), not in the node's
    # environment or command line, not in any log record.
    local.wait_persisted(receipt.block_number)
    needles = [key.removeprefix("0x").encode(), key.removeprefix("0x").upper().encode()]
    leaked = [
        str(path)
        for path in home.rglob("*")
        if path.is_file()
        and path != key_path
        and any(needle in path.read_bytes() for needle in needles)
    ]
    assert not leaked
    assert (home / "chain" / "anvil.log").is_file()
    pid = local.pid
    assert pid is not None
    for part in ("environ", "cmdline"):
        process_text = Path(f"/proc/{pid}/{part}").read_bytes().lower()
        assert needles[0] not in process_text
    assert key.removeprefix("0x") not in caplog.text.lower()


def test_the_public_dev_key_cannot_anchor_into_a_fresh_homes_registry(home: Path) -> None:
    client, _local = _chains(home).client()
    forger = _dev_client(client.rpc_url)
    forger.use_registry(str(client.contract_address))
    with pytest.raises(NotAuthorizedError, match=r"NotAuthorized\(0xf39F"):
        forger.anchor_root(_root("forged"), "forger")
    # Nor can it let itself in: only the home key owns the registry.
    with pytest.raises(AnchorError, match=r"NotOwner\(0xf39F"):
        forger.authorize(DEV_ADDRESS)


def test_the_key_is_made_once_even_by_racing_processes(tmp_path: Path) -> None:
    local = LocalChain(tmp_path)
    keys: list[str] = []
    threads = [
        threading.Thread(target=lambda: keys.append(local.submitter_key())) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert [p.name for p in (tmp_path / "chain").iterdir()] == ["submitter.key"]  # no temp left
    assert LocalChain(tmp_path).submitter_key() == keys[0]  # stable across instances


def test_an_exposed_or_damaged_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    local = LocalChain(tmp_path)
    key = local.submitter_key()
    local.submitter_key_path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="readable by others") as exposed:
        local.submitter_key()
    assert key[2:] not in exposed.value.diagnostics()
    local.submitter_key_path.chmod(0o600)
    damaged = key[:-1] + "z"
    local.submitter_key_path.write_text(damaged + "\n")
    with pytest.raises(ConfigurationError, match="not a secp256k1 private key") as broken:
        local.submitter_key()
    assert damaged[2:10] not in broken.value.diagnostics()


# --- the trusted-submitter check ------------------------------------------------------


def test_a_forgers_anchor_in_the_genuine_registry_names_its_submitter(home: Path) -> None:
    """An old data directory: its registry was deployed, and is owned, by the public key.

    Anyone can then anchor a root of their choosing in the genuine registry on the
    genuine chain; only the submitter tells the forgery from the home's anchors.
    """
    _legacy_registry(home)
    client, _local = _chains(home).client()
    own = client.submitter
    genuine = client.anchor_root(_root("genuine"), "home")
    forger = _dev_client(client.rpc_url)
    forger.use_registry(str(client.contract_address))
    forged = forger.anchor_root(_root("forged"), "forger")
    assert forged.contract_address == genuine.contract_address

    assert _check(genuine, client.rpc_url, [own]).submitter == own
    unchecked = _check(forged, client.rpc_url, None)  # consistent: only trust can tell
    assert unchecked.submitter == DEV_ADDRESS
    with pytest.raises(UntrustedSubmitterError) as untrusted:
        _check(forged, client.rpc_url, [own, OTHER_ADDRESS])
    assert untrusted.value.message == (
        f"anchor: anchored by {DEV_ADDRESS}, which is not a submitter you trust "
        f"({own}, {OTHER_ADDRESS})"
    )
    assert isinstance(untrusted.value, AnchorError)
    with pytest.raises(UntrustedSubmitterError, match=r"you trust \(none\)"):
        _check(genuine, client.rpc_url, [])
    # Trusted addresses are compared as addresses, whatever their case.
    assert _check(genuine, client.rpc_url, [own.lower()]).submitter == own


def test_trusted_submitters_must_be_addresses(home: Path) -> None:
    client, _local = _chains(home).client()
    receipt = client.anchor_root(_root("typed"), "t")
    with pytest.raises(ConfigurationError, match="'0x1234' is not an EVM address"):
        _check(receipt, client.rpc_url, [client.submitter, "0x1234"])
    with pytest.raises(TypeError, match="not one string"):
        check_anchor(
            client.rpc_url,
            chain_id=receipt.chain_id,
            contract_address=receipt.contract_address,
            transaction_hash=receipt.transaction_hash,
            root=bytes.fromhex(receipt.root[2:]),
            submitters=client.submitter,
        )


def test_a_sender_other_than_the_events_submitter_fails(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node (or proxy) that reports another sender than the event names is caught."""
    client, _local = _chains(home).client()
    receipt = client.anchor_root(_root("sender"), "s")
    real = Eth.get_transaction

    def lying(self: Eth, tx_hash: Any) -> Any:
        return {**real(self, tx_hash), "from": OTHER_ADDRESS}

    monkeypatch.setattr(Eth, "get_transaction", lying)
    with pytest.raises(AnchorError, match=f"sent by {OTHER_ADDRESS}, but its Anchored event names"):
        _check(receipt, client.rpc_url, None)


def test_an_event_submitter_the_registry_does_not_record_fails(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sender and event agree on a submitter, but the registry's own record does not."""
    client, _local = _chains(home).client()
    receipt = client.anchor_root(_root("recorded"), "r")
    real_tx, real_receipt = Eth.get_transaction, Eth.get_transaction_receipt
    other_topic = bytes(12) + bytes.fromhex(OTHER_ADDRESS[2:])

    def lying_tx(self: Eth, tx_hash: Any) -> Any:
        return {**real_tx(self, tx_hash), "from": OTHER_ADDRESS}

    def lying_receipt(self: Eth, tx_hash: Any) -> Any:
        original = real_receipt(self, tx_hash)
        logs = [
            {**log, "topics": [*log["topics"][:2], other_topic, *log["topics"][3:]]}
            for log in original["logs"]
        ]
        return {**original, "logs": logs}

    monkeypatch.setattr(Eth, "get_transaction", lying_tx)
    monkeypatch.setattr(Eth, "get_transaction_receipt", lying_receipt)
    with pytest.raises(
        AnchorError, match=f"as anchored by {client.submitter}, not {OTHER_ADDRESS}"
    ):
        _check(receipt, client.rpc_url, [OTHER_ADDRESS])


# --- a data directory from before the per-home key --------------------------------------


def _legacy_registry(home: Path) -> str:
    """Deploy and record a registry the way earlier versions did: from the public key."""
    local = LocalChain(home)
    legacy = _dev_client(local.ensure_running())
    address = legacy.ensure_registry(home)
    legacy.anchor_root(_root("legacy anchor"), "before the home key")
    return address


def test_a_home_deployed_by_the_dev_key_is_migrated(home: Path) -> None:
    registry = _legacy_registry(home)
    deployments = json.loads((home / DEPLOYMENT_FILE).read_text())
    assert [entry["deployer"] for entry in deployments.values()] == [DEV_ADDRESS]

    client, _local = _chains(home).client()
    own = client.submitter
    assert client.contract_address == registry  # the same registry, not a new one
    assert own != DEV_ADDRESS and client.is_authorized(own)
    assert client.registry_owner() == DEV_ADDRESS  # ownership cannot move; it only authorised
    receipt = client.anchor_root(_root("after migration"), "home key")
    assert receipt.submitter == own
    assert _check(receipt, client.rpc_url, [own]).submitter == own

    # Once is enough: the next client finds its key authorised and sends nothing.
    block = client.head()[0]
    again, _local = _chains(home).client()
    assert again.submitter == own and again.head()[0] == block


def test_a_registry_owned_by_someone_else_is_not_taken_over(home: Path) -> None:
    local = LocalChain(home)
    stranger = ChainClient.connect(local.ensure_running(), OTHER_KEY, development=True)
    registry = stranger.ensure_registry(home)
    with pytest.raises(NotAuthorizedError, match=f"{registry}, whose owner is {OTHER_ADDRESS}"):
        _chains(home).client()


# --- what the lead's trust configuration reads ------------------------------------------


def test_local_chain_identity_names_chain_registry_and_own_submitter(home: Path) -> None:
    chains = _chains(home)
    client, local = chains.client()
    assert local is not None
    local.stop()
    assert local.pid is None

    identity = chains.local_chain_identity()
    assert isinstance(identity, LocalChainIdentity)
    assert identity.chain_id == 31337
    assert identity.rpc_url.startswith("http://127.0.0.1:") and "@" not in identity.rpc_url
    assert identity.registry == client.contract_address
    assert identity.submitter == signer_address(_key_text(home)) != DEV_ADDRESS
    assert local.pid is None  # it woke the node and put it back down

    running_url = local.ensure_running()
    assert chains.local_chain_identity().rpc_url == running_url
    assert local.pid is not None  # a node that was running keeps running


def test_local_chain_identity_without_a_deployment(home: Path) -> None:
    chains = _chains(home)
    with pytest.raises(NoDeploymentError, match="no EvidenceRegistry on its local chain"):
        chains.local_chain_identity()
    local = LocalChain(home)
    assert local.pid is None and not local.state_path.exists()  # no fresh, empty node

    # History, but this chain's registry is gone (a new chain, the old record kept).
    local.ensure_running()
    local.stop()
    (home / DEPLOYMENT_FILE).write_text(json.dumps({"31337:0xabc": {"address": OTHER_ADDRESS}}))
    with pytest.raises(NoDeploymentError):
        chains.local_chain_identity()
    assert local.pid is None


def test_the_toolkit_anchors_with_the_home_key_and_reports_it(home: Path) -> None:
    require_tool("openssl")
    from tests.anchoring_support import seal_synthetic

    settings = Settings(home=home, database_url=f"sqlite:///{home / 'evidence.db'}")
    with Toolkit(replace(settings, batch_size=10)) as kit:
        (item_id,) = seal_synthetic(kit, "C-submitter", 1, home)
        kit.timestamp(item_id)
        (batch,) = kit.anchor_pending()
        anchor = kit.get_item(item_id).anchor
        identity = kit.local_chain_identity()
    assert anchor is not None and batch.transaction_hash == anchor.transaction_hash
    assert anchor.submitter == identity.submitter != DEV_ADDRESS
    assert anchor.contract_address == identity.registry
    check = check_anchor(
        identity.rpc_url,
        chain_id=identity.chain_id,
        contract_address=identity.registry,
        transaction_hash=anchor.transaction_hash,
        root=bytes.fromhex(anchor.root[2:]),
        submitters=[identity.submitter],
    )
    assert check.submitter == identity.submitter
