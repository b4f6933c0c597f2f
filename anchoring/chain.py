"""Anchor 32-byte roots in the EvidenceRegistry contract and check anchors later.

Writing goes through :class:`ChainClient` (transactions signed locally with
eth-account, so no node ever holds the key). Checking goes through
:func:`check_anchor`, which needs only an RPC URL and what the anchor receipt
recorded: it is what the verifier runs, on any machine.

Every failure is an :class:`~evidence.model.errors.AnchorError` with a one-line
message. When the chain cannot be reached at all the error is the subclass
:class:`ChainUnreachableError`, because "not checked" and "checked and wrong"
must never be confused.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.exceptions import (
    BadFunctionCallOutput,
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import TxParams, TxReceipt

from evidence.model.errors import AnchorError, ConfigurationError
from evidence.model.records import AnchorCheck, AnchorReceipt
from evidence.model.redaction import redact_url

logger = logging.getLogger(__name__)

ARTIFACT_PATH = Path(__file__).resolve().parent / "contract_artifacts" / "EvidenceRegistry.json"
DEPLOYMENT_FILE = Path("chain") / "deployment.json"
"""Where :meth:`ChainClient.ensure_registry` remembers deployments, relative to the home."""

DEV_CHAIN_ID = 31337
# Duplicated from anchoring.anvil (not imported) so that checking an anchor never
# needs the local-node module.
_WELL_KNOWN_DEV_KEYS = frozenset(
    {"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"},
)

ANCHORED_TOPIC = "0x" + Web3.keccak(text="Anchored(bytes32,address,uint256,string)").hex()

_NONCE_RETRIES = 6
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class ChainUnreachableError(AnchorError):
    """No answer from the JSON-RPC endpoint: the anchor could not be checked at all."""


class AlreadyAnchoredError(AnchorError):
    """The registry already holds the root; :meth:`ChainClient.find_anchor` reads it back."""


class NotAuthorizedError(AnchorError):
    """The registry refused the submitter (``NotAuthorized``): its owner must authorise it."""


class NotOwnerError(AnchorError):
    """Only the registry's owner may authorise or revoke submitters (``NotOwner``)."""


_CUSTOM_ERRORS: dict[str, type[AnchorError]] = {
    "AlreadyAnchored(": AlreadyAnchoredError,
    "NotAuthorized(": NotAuthorizedError,
    "NotOwner(": NotOwnerError,
}


@dataclass(frozen=True, slots=True)
class NodeAccount:
    """Sign with an account the node itself holds unlocked (``eth_sendTransaction``).

    Consortium nodes (Besu, Geth with ``--unlock``, Quorum) often keep the
    submitter key in the node; the toolkit then never sees it.
    """

    address: str


Signer = str | LocalAccount | NodeAccount
"""A raw private key (hex), an eth-account ``LocalAccount`` or a :class:`NodeAccount`."""


def load_keystore(path: Path, password: str) -> LocalAccount:
    """The account in an encrypted V3 keystore JSON (``Account.encrypt``, geth, ``cast wallet``)."""
    try:
        keystore = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read the keystore {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigurationError(f"the keystore {path} is not JSON") from exc
    try:
        key = Account.decrypt(keystore, password)
    except ValueError as exc:
        # eth-account says "MAC mismatch" for a wrong passphrase.
        raise ConfigurationError(
            f"cannot decrypt the keystore {path}: wrong passphrase or damaged file"
        ) from exc
    except (KeyError, TypeError) as exc:
        raise ConfigurationError(f"the keystore {path} is not a V3 keystore") from exc
    account: LocalAccount = Account.from_key(key)
    return account


@dataclass(frozen=True, slots=True)
class SentAnchor:
    """A submitted anchoring transaction whose receipt is still awaited."""

    root: bytes
    reference: str
    transaction_hash: str


@dataclass(frozen=True, slots=True)
class ContractArtifact:
    """The compiled EvidenceRegistry as committed by ``node contracts/compile.js``."""

    contract_name: str
    abi: tuple[Mapping[str, Any], ...]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    settings: Mapping[str, Any]
    source_sha256: str


@lru_cache(maxsize=1)
def load_contract_artifact() -> ContractArtifact:
    """The committed EvidenceRegistry build (ABI, creation bytecode, compiler settings)."""
    try:
        data = json.loads(ARTIFACT_PATH.read_text(encoding="utf-8"))
        return ContractArtifact(
            contract_name=str(data["contractName"]),
            abi=tuple(data["abi"]),
            bytecode=str(data["bytecode"]),
            deployed_bytecode=str(data["deployedBytecode"]),
            compiler_version=str(data["compiler"]["version"]),
            settings=data["settings"],
            source_sha256=str(data["sourceSha256"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"the EvidenceRegistry artifact {ARTIFACT_PATH} is missing or unreadable",
            hint="Rebuild it with `node contracts/compile.js`.",
        ) from exc


# --- helpers -----------------------------------------------------------------


def _hex(value: bytes) -> str:
    # HexBytes.hex() lost its 0x prefix in web3 8; every hash we record carries one.
    return "0x" + bytes(value).hex()


def _checksum(address: str) -> str:
    try:
        return str(Web3.to_checksum_address(address))
    except ValueError as exc:
        raise ValueError(f"not an EVM address: {address!r}") from exc


def _block_time(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _connection_reason(exc: BaseException) -> str:
    text = str(exc)
    errno_reason = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    if errno_reason:
        return errno_reason.group(0).strip()
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


@contextlib.contextmanager
def _rpc_errors(rpc_url: str, action: str) -> Iterator[None]:
    """Turn transport and node errors into the toolkit's one-line errors."""
    rpc_url = redact_url(rpc_url)
    try:
        yield
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.HTTPError,
        ProviderConnectionError,
    ) as exc:
        raise ChainUnreachableError(
            f"anchor: could not reach the chain at {rpc_url} ({_connection_reason(exc)})",
            hint="Is the node running and the RPC URL right? The anchor was not checked.",
        ) from exc
    except Web3RPCError as exc:
        raise AnchorError(
            f"anchor: the node at {rpc_url} refused {action}: {_rpc_message(exc)}"
        ) from exc


def _rpc_message(exc: Web3RPCError) -> str:
    """The node's own error text, not web3's repr of the whole error object."""
    response: Any = exc.rpc_response
    if isinstance(response, Mapping):
        error = response.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
    return str(exc.message)


_SIGNER_LOCKS: dict[str, threading.Lock] = {}
_SIGNER_LOCKS_GUARD = threading.Lock()


def _signer_lock(address: str) -> threading.Lock:
    # Shared by every client in the process that signs with the same key: each one
    # reads the pending nonce, so two of them sending at once would pick the same.
    with _SIGNER_LOCKS_GUARD:
        return _SIGNER_LOCKS.setdefault(address.lower(), threading.Lock())


def _web3(rpc_url: str, timeout_s: float) -> Web3:
    session = requests.Session()
    if urlsplit(rpc_url).hostname in _LOOPBACK:
        # A local node must not be reached through an http_proxy from the environment;
        # a remote one may legitimately need it.
        session.trust_env = False
    provider = HTTPProvider(
        rpc_url,
        session=session,
        request_kwargs={"timeout": timeout_s},
        # web3's default retries with back-off turn "connection refused" into seconds
        # of waiting; the callers decide themselves whether to try again.
        exception_retry_configuration=None,
    )
    return Web3(provider)


def _error_selectors(abi: Sequence[Mapping[str, Any]]) -> dict[bytes, tuple[str, list[str]]]:
    selectors: dict[bytes, tuple[str, list[str]]] = {}
    for entry in abi:
        if entry.get("type") != "error":
            continue
        types = [str(item["type"]) for item in entry.get("inputs", [])]
        signature = f"{entry['name']}({','.join(types)})"
        selectors[Web3.keccak(text=signature)[:4]] = (str(entry["name"]), types)
    return selectors


def decode_revert(data: object, abi: Sequence[Mapping[str, Any]] | None = None) -> str:
    """``Name(arg, ...)`` for the registry's custom errors, else the raw revert data."""
    if isinstance(data, Mapping):
        data = data.get("data")
    if not isinstance(data, str) or not data.startswith("0x") or len(data) < 10:
        return str(data)
    raw = bytes.fromhex(data[2:])
    known = _error_selectors(abi if abi is not None else load_contract_artifact().abi)
    if raw[:4] not in known:
        return data
    name, types = known[raw[:4]]
    try:
        values = abi_decode(types, raw[4:])
    except Exception:  # undecodable arguments still leave the name useful
        return f"{name}(?)"
    shown = [
        _hex(value)
        if isinstance(value, bytes)
        else _checksum(value)
        if kind == "address"
        else str(value)
        for kind, value in zip(types, values, strict=True)
    ]
    return f"{name}({', '.join(shown)})"


# --- writing -------------------------------------------------------------------


class ChainClient:
    """Deploys the registry and anchors roots, signing with one private key."""

    def __init__(
        self,
        rpc_url: str,
        signer: Signer,
        *,
        development: bool = False,
        network_name: str | None = None,
        request_timeout_s: float = 10.0,
        receipt_timeout_s: float = 60.0,
    ) -> None:
        self.rpc_url = redact_url(rpc_url)
        """The endpoint as it may be shown and stored: without credentials."""
        self.development = development
        self._network_name = network_name
        self._receipt_timeout_s = receipt_timeout_s
        self._account: LocalAccount | None = None
        self._node_account: str | None = None
        if isinstance(signer, NodeAccount):
            self._node_account = _checksum(signer.address)
            address = self._node_account
        elif isinstance(signer, str):
            try:
                self._account = Account.from_key(signer)
            except (ValueError, TypeError) as exc:
                # Never echo the key: it may end up in logs or a terminal recording.
                raise ConfigurationError(
                    "the chain private key is not a valid secp256k1 key"
                ) from exc
            address = self._account.address
        else:
            self._account = signer
            address = signer.address
        self._address = str(address)
        self._w3 = _web3(rpc_url, request_timeout_s)
        self._artifact = load_contract_artifact()
        self._abi = cast(Any, list(self._artifact.abi))
        self._chain_id: int | None = None
        self._eip1559: bool | None = None
        self.contract_address: str | None = None
        self._send_lock = _signer_lock(self._address)
        self._key_is_public = self._account is not None and (
            bytes(self._account.key).hex() in _WELL_KNOWN_DEV_KEYS
        )

    @classmethod
    def connect(
        cls,
        rpc_url: str,
        signer: Signer,
        *,
        development: bool = False,
        network_name: str | None = None,
        request_timeout_s: float = 10.0,
        receipt_timeout_s: float = 60.0,
        expected_chain_id: int | None = None,
    ) -> ChainClient:
        """A client for ``rpc_url``, after checking that the node answers.

        With ``expected_chain_id`` a node on another chain is refused before
        anything is signed (a mistyped RPC URL must not anchor elsewhere).
        """
        client = cls(
            rpc_url,
            signer,
            development=development,
            network_name=network_name,
            request_timeout_s=request_timeout_s,
            receipt_timeout_s=receipt_timeout_s,
        )
        chain_id = client.chain_id
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise ConfigurationError(
                f"the node at {client.rpc_url} is on chain id {chain_id}, "
                f"not the configured {expected_chain_id}"
            )
        if client._node_account is not None:
            with _rpc_errors(rpc_url, "eth_accounts"):
                held = {str(a).lower() for a in client._w3.eth.accounts}
            if client._node_account.lower() not in held:
                raise ConfigurationError(
                    f"the node at {client.rpc_url} does not hold the account "
                    f"{client._node_account} "
                    "(eth_accounts): it cannot send for it"
                )
        if client._key_is_public and not (development and chain_id == DEV_CHAIN_ID):
            raise ConfigurationError(
                f"refusing to sign on chain {chain_id} with anvil's published development key",
                hint="Configure a private key of your own for a real network.",
            )
        return client

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with _rpc_errors(self.rpc_url, "eth_chainId"):
                self._chain_id = int(self._w3.eth.chain_id)
        return self._chain_id

    @property
    def network_name(self) -> str:
        return self._network_name or f"EVM chain id {self.chain_id}"

    @property
    def submitter(self) -> str:
        """The checksummed address that signs this client's transactions."""
        return self._address

    @property
    def uses_eip1559(self) -> bool:
        """Whether the chain has a base fee (London or later), so type-2 fees are used."""
        if self._eip1559 is None:
            with _rpc_errors(self.rpc_url, "reading the latest block"):
                latest = self._w3.eth.get_block("latest")
            self._eip1559 = latest.get("baseFeePerGas") is not None
        return self._eip1559

    def head(self) -> tuple[int, str, datetime]:
        """Number, hash and time of the latest block."""
        with _rpc_errors(self.rpc_url, "reading the latest block"):
            latest = self._w3.eth.get_block("latest")
        return (
            int(latest["number"]),
            _hex(latest["hash"]),
            _block_time(int(latest["timestamp"])),
        )

    def use_registry(self, address: str) -> None:
        """Anchor into an existing registry (e.g. one deployed by someone else)."""
        self._require_code(_checksum(address))
        self.contract_address = _checksum(address)

    def deploy_registry(self) -> str:
        """Deploy a new EvidenceRegistry owned by this client's key; its address."""
        factory = self._w3.eth.contract(abi=self._abi, bytecode=self._artifact.bytecode)
        receipt = self._transact("deploying the registry", factory.constructor())
        created = receipt.get("contractAddress")
        if not created:
            raise AnchorError("anchor: the deployment receipt names no contract address")
        address = _checksum(str(created))
        self._require_code(address)
        logger.info(
            "deployed EvidenceRegistry at %s on chain %d (gas %d)",
            address,
            self.chain_id,
            receipt["gasUsed"],
        )
        self.contract_address = address
        return address

    def ensure_registry(self, home: Path, *, deploy: bool = True) -> str:
        """The registry for this chain, deploying it on first use.

        With ``deploy=False`` (real networks: deploying costs money and creates a
        registry others must learn about) a chain without a recorded registry is a
        :class:`ConfigurationError` instead.

        Deployments are remembered in ``<home>/chain/deployment.json``, keyed by chain
        id and genesis block hash, so a fresh development chain (new genesis) gets a
        new registry while a restarted one keeps its own. A recorded address whose code
        is not this build's registry (the chain lost it, or the contract changed) is
        deployed again.
        """
        record_path = Path(home) / DEPLOYMENT_FILE
        record_path.parent.mkdir(parents=True, exist_ok=True)
        with _file_lock(record_path.with_suffix(".lock")):
            with _rpc_errors(self.rpc_url, "reading the genesis block"):
                genesis = _hex(self._w3.eth.get_block(0)["hash"])
            key = f"{self.chain_id}:{genesis}"
            records = _load_json_object(record_path)
            entry = records.get(key)
            if isinstance(entry, dict) and "address" in entry:
                address = _checksum(str(entry["address"]))
                if self._has_registry_code(address):
                    self.contract_address = address
                    return address
                if not deploy:
                    raise ConfigurationError(
                        f"the registry recorded for chain {self.chain_id} ({address}) has no "
                        "EvidenceRegistry code any more"
                    )
                logger.warning("no registry code at recorded %s on %s; redeploying", address, key)
            if not deploy:
                raise ConfigurationError(
                    f"no EvidenceRegistry known on chain {self.chain_id}",
                    hint="Set EVIDENCE_REGISTRY_ADDRESS or run `evidence chain deploy`.",
                )
            address = self.deploy_registry()
            records[key] = {
                "address": address,
                "chain_id": self.chain_id,
                "compiler": self._artifact.compiler_version,
                "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "deployer": self.submitter,
                "genesis_hash": genesis,
                "network_name": self.network_name,
                "source_sha256": self._artifact.source_sha256,
            }
            _write_json_atomically(record_path, records)
            return address

    def authorize(self, account: str) -> str:
        """Let ``account`` anchor into this client's registry (owner only); the tx hash."""
        contract = self._registry()
        call = contract.functions.authorize(_checksum(account))
        receipt = self._transact(f"authorising {account}", call)
        return _hex(receipt["transactionHash"])

    def revoke(self, account: str) -> str:
        """Stop ``account`` from anchoring (owner only); the tx hash. Past anchors stay."""
        contract = self._registry()
        call = contract.functions.revoke(_checksum(account))
        receipt = self._transact(f"revoking {account}", call)
        return _hex(receipt["transactionHash"])

    def anchor_root(self, root: bytes, reference: str = "") -> AnchorReceipt:
        """Write ``root`` to the registry and return where and when it landed."""
        return self.wait_anchor(self.send_anchor(root, reference))

    def send_anchor(self, root: bytes, reference: str = "") -> SentAnchor:
        """Sign and send the anchoring transaction; do not wait for it to be mined.

        Raises :class:`AlreadyAnchoredError` / :class:`NotAuthorizedError` (decoded
        from the registry's custom errors) before anything is sent.
        """
        if len(root) != 32:
            raise ValueError(f"a root is 32 bytes, got {len(root)}")
        contract = self._registry()
        action = f"anchoring {_hex(root)}"
        with self._send_lock, _rpc_errors(self.rpc_url, action):
            tx_hash = self._send_with_nonce_retries(
                action, contract.functions.anchor(bytes(root), reference)
            )
        return SentAnchor(bytes(root), reference, _hex(tx_hash))

    def wait_anchor(self, sent: SentAnchor) -> AnchorReceipt:
        """Wait for a sent anchor's receipt and cross-check it against the chain.

        A receipt is believed only if the registry itself dates the root to the
        receipt's block and that block's hash is the receipt's: a node (or a proxy)
        that reports a receipt the chain does not bear out is an error.
        """
        contract = self._registry()
        root_hex = _hex(sent.root)
        started = time.monotonic()
        receipt = self._wait_receipt(sent.transaction_hash, f"anchoring {root_hex}")
        with _rpc_errors(self.rpc_url, "reading the anchor block"):
            block = self._w3.eth.get_block(receipt["blockNumber"])
            registered = int(contract.functions.anchoredBlock(sent.root).call())
        events = [
            log
            for log in receipt["logs"]
            if log["address"].lower() == contract.address.lower()
            and log["topics"]
            and _hex(log["topics"][0]) == ANCHORED_TOPIC
        ]
        if len(events) != 1 or _hex(events[0]["topics"][1]) != root_hex:
            raise AnchorError(
                f"anchor: transaction {_hex(receipt['transactionHash'])} emitted no Anchored "
                f"event for {root_hex}"
            )
        if _hex(receipt["transactionHash"]) != sent.transaction_hash:
            raise AnchorError(
                f"anchor: the node returned the receipt of {_hex(receipt['transactionHash'])} "
                f"for {sent.transaction_hash}"
            )
        if registered != int(receipt["blockNumber"]) or _hex(block["hash"]) != _hex(
            receipt["blockHash"]
        ):
            raise AnchorError(
                f"anchor: the receipt of {sent.transaction_hash} (block {receipt['blockNumber']} "
                f"{_hex(receipt['blockHash'])}) disagrees with the chain (registry block "
                f"{registered}, block hash {_hex(block['hash'])})"
            )
        anchored = AnchorReceipt(
            chain_id=self.chain_id,
            network_name=self.network_name,
            rpc_url=self.rpc_url,
            contract_address=_checksum(contract.address),
            transaction_hash=_hex(receipt["transactionHash"]),
            block_number=int(receipt["blockNumber"]),
            block_hash=_hex(receipt["blockHash"]),
            block_time=_block_time(int(block["timestamp"])),
            root=root_hex,
            submitter=self.submitter,
            reference=sent.reference,
            development=self.development,
        )
        logger.info(
            "anchored %s in block %d tx %s (gas %d, %.3f s)",
            root_hex,
            anchored.block_number,
            anchored.transaction_hash,
            receipt["gasUsed"],
            time.monotonic() - started,
        )
        return anchored

    def gas_used(self, transaction_hash: str) -> int:
        """Gas the mined transaction used (benchmarks, cost reports)."""
        with _rpc_errors(self.rpc_url, "eth_getTransactionReceipt"):
            receipt = self._w3.eth.get_transaction_receipt(cast(Any, transaction_hash))
        return int(receipt["gasUsed"])

    def find_anchor(self, root: bytes) -> AnchorReceipt | None:
        """The existing anchor of ``root`` in this client's registry, None if there is none.

        Recovers a receipt whose transaction was mined after :meth:`anchor_root` gave up
        waiting (a retry then fails with :class:`AlreadyAnchoredError`). The submitter
        in the result is whoever anchored the root, not necessarily this client.
        """
        if len(root) != 32:
            raise ValueError(f"a root is 32 bytes, got {len(root)}")
        contract = self._registry()
        root_hex = _hex(root)
        with _rpc_errors(self.rpc_url, f"looking up {root_hex}"):
            number = int(contract.functions.anchoredBlock(bytes(root)).call())
            if number == 0:
                return None
            logs = self._w3.eth.get_logs(
                {
                    "address": cast(Any, contract.address),
                    "fromBlock": number,
                    "toBlock": number,
                    "topics": [cast(Any, ANCHORED_TOPIC), cast(Any, root_hex)],
                }
            )
            if not logs:
                raise AnchorError(
                    f"anchor: the registry dates {root_hex} to block {number}, "
                    "but the node has no Anchored log there"
                )
            log = logs[0]
            block = self._w3.eth.get_block(number)
        _, reference = abi_decode(["uint256", "string"], bytes(log["data"]))
        return AnchorReceipt(
            chain_id=self.chain_id,
            network_name=self.network_name,
            rpc_url=self.rpc_url,
            contract_address=_checksum(contract.address),
            transaction_hash=_hex(log["transactionHash"]),
            block_number=number,
            block_hash=_hex(log["blockHash"]),
            block_time=_block_time(int(block["timestamp"])),
            root=root_hex,
            submitter=_checksum("0x" + bytes(log["topics"][2])[-20:].hex()),
            reference=str(reference),
            development=self.development,
        )

    # --- internals -------------------------------------------------------------

    def _registry(self) -> Contract:
        if self.contract_address is None:
            raise RuntimeError("no registry: call ensure_registry() or use_registry() first")
        contract: Contract = self._w3.eth.contract(
            address=cast(Any, self.contract_address), abi=self._abi
        )
        return contract

    def _has_registry_code(self, address: str) -> bool:
        with _rpc_errors(self.rpc_url, "eth_getCode"):
            code = bytes(self._w3.eth.get_code(cast(Any, address)))
        # The contract has no immutables, so its code on chain is exactly the artifact's
        # runtime code; a registry from an older build is not reused.
        return code == bytes.fromhex(self._artifact.deployed_bytecode[2:])

    def _require_code(self, address: str) -> None:
        if self._has_registry_code(address):
            return
        with _rpc_errors(self.rpc_url, "eth_getCode"):
            code = bytes(self._w3.eth.get_code(cast(Any, address)))
        if not code:
            raise AnchorError(
                f"anchor: no contract code at {address} on chain {self.chain_id} "
                "(wrong address or wrong chain?)"
            )
        raise AnchorError(
            f"anchor: the contract at {address} on chain {self.chain_id} is not this "
            "build's EvidenceRegistry"
        )

    def _transact(self, action: str, call: Any) -> TxReceipt:
        """Sign, send and wait for one transaction; custom errors come back decoded."""
        with self._send_lock, _rpc_errors(self.rpc_url, action):
            tx_hash = self._send_with_nonce_retries(action, call)
        return self._wait_receipt(_hex(tx_hash), action)

    def _wait_receipt(self, tx_hash: str, action: str) -> TxReceipt:
        with _rpc_errors(self.rpc_url, action):
            try:
                receipt = self._w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx_hash), timeout=self._receipt_timeout_s, poll_latency=0.1
                )
            except TimeExhausted as exc:
                raise AnchorError(
                    f"anchor: transaction {tx_hash} ({action}) not mined within "
                    f"{self._receipt_timeout_s:g} s",
                    hint="It may still be mined later: find_anchor() tells before sending again.",
                ) from exc
        if receipt["status"] != 1:
            raise AnchorError(
                f"anchor: transaction {tx_hash} ({action}) reverted in block "
                f"{receipt['blockNumber']}"
            )
        return receipt

    def _send_with_nonce_retries(self, action: str, call: Any) -> bytes:
        for attempt in range(_NONCE_RETRIES):
            try:
                return self._sign_and_send(action, call)
            except Web3RPCError as exc:
                message = _rpc_message(exc)
                # Another process signing with the same key took our nonce: build
                # the transaction again with a fresh one, after a random pause so
                # that the contenders drift apart.
                if "nonce" not in message.lower() or attempt == _NONCE_RETRIES - 1:
                    raise AnchorError(
                        f"anchor: the node at {self.rpc_url} refused {action}: {message}"
                    ) from exc
                logger.info("nonce clash while %s; retrying", action)
                time.sleep(random.uniform(0.01, 0.1) * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _fees(self) -> dict[str, int]:
        """EIP-1559 fees where the chain has a base fee, else a legacy gas price."""
        if self.uses_eip1559:
            latest = self._w3.eth.get_block("latest")
            base = int(latest.get("baseFeePerGas") or 0)
            try:
                tip = int(self._w3.eth.max_priority_fee)
            except Web3RPCError:
                # Nodes without eth_maxPriorityFeePerGas (older Besu): a modest tip.
                tip = 1_000_000_000
            # Twice the base fee survives six full blocks of base-fee increases.
            return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base + tip}
        return {"gasPrice": int(self._w3.eth.gas_price)}

    def _sign_and_send(self, action: str, call: Any) -> bytes:
        params: dict[str, Any] = {"from": self._address, "chainId": self.chain_id, **self._fees()}
        if self._account is not None:
            # The node's account has its nonce assigned by the node; our own key
            # takes the pending count (serialised per key by _send_lock).
            params["nonce"] = self._w3.eth.get_transaction_count(
                cast(Any, self._address), "pending"
            )
        try:
            # build_transaction estimates gas, i.e. runs the call first: a revert
            # surfaces here with its custom error, before anything is signed.
            tx: TxParams = call.build_transaction(cast(Any, params))
        except ContractLogicError as exc:
            reason = decode_revert(exc.data, self._artifact.abi)
            error = next(
                (kind for prefix, kind in _CUSTOM_ERRORS.items() if reason.startswith(prefix)),
                AnchorError,
            )
            raise error(f"anchor: the registry rejected {action}: {reason}") from exc
        if self._account is None:
            return bytes(self._w3.eth.send_transaction(tx))
        signed = self._account.sign_transaction(cast(Any, tx))
        return bytes(self._w3.eth.send_raw_transaction(signed.raw_transaction))


def chain_head(rpc_url: str, *, timeout_s: float = 5.0) -> tuple[int, int, str]:
    """``(chain id, latest block number, genesis hash)`` of the node at ``rpc_url``."""
    w3 = _web3(rpc_url, timeout_s)
    with _rpc_errors(rpc_url, "reading the chain head"):
        return int(w3.eth.chain_id), int(w3.eth.block_number), _hex(w3.eth.get_block(0)["hash"])


def recorded_registry(home: Path, chain_id: int, genesis_hash: str) -> str | None:
    """The registry :meth:`ChainClient.ensure_registry` recorded for a chain, if any."""
    entry = _load_json_object(Path(home) / DEPLOYMENT_FILE).get(f"{chain_id}:{genesis_hash}")
    if isinstance(entry, dict) and "address" in entry:
        return str(entry["address"])
    return None


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _load_json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise AnchorError(f"anchor: {path} is unreadable: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _write_json_atomically(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# --- checking ------------------------------------------------------------------


def check_anchor(
    rpc_url: str,
    *,
    chain_id: int,
    contract_address: str,
    transaction_hash: str,
    root: bytes,
    min_confirmations: int = 1,
    timeout_s: float = 10.0,
) -> AnchorCheck:
    """Read an anchor back from the chain and check it against what was recorded.

    Raises :class:`ChainUnreachableError` if the node does not answer and
    :class:`AnchorError` naming the first check that failed otherwise.
    """
    if len(root) != 32:
        raise ValueError(f"a root is 32 bytes, got {len(root)}")
    # The recorded values come from a bundle that may have been tampered with: a
    # malformed one is a failed check, not a programming error.
    tx_hash = transaction_hash.lower()
    if not re.fullmatch(r"0x[0-9a-f]{64}", tx_hash):
        raise AnchorError(f"anchor: recorded transaction hash {transaction_hash!r} is malformed")
    try:
        contract = _checksum(contract_address)
    except ValueError as exc:
        raise AnchorError(
            f"anchor: recorded contract address {contract_address!r} is malformed"
        ) from exc
    w3 = _web3(rpc_url, timeout_s)
    root_hex = _hex(root)

    with _rpc_errors(rpc_url, "reading the anchor"):
        actual_chain = int(w3.eth.chain_id)
        if actual_chain != chain_id:
            raise AnchorError(
                f"anchor: chain id {actual_chain} differs from the recorded {chain_id}"
            )
        try:
            tx = w3.eth.get_transaction(cast(Any, tx_hash))
        except TransactionNotFound as exc:
            raise AnchorError(
                f"anchor: transaction {tx_hash} not found on chain {chain_id}"
            ) from exc
        try:
            receipt = w3.eth.get_transaction_receipt(cast(Any, tx_hash))
        except TransactionNotFound as exc:
            raise AnchorError(f"anchor: transaction {tx_hash} is not mined yet") from exc
        if receipt["status"] != 1:
            raise AnchorError(f"anchor: transaction {tx_hash} failed (status {receipt['status']})")
        to = tx.get("to")
        if to is None or str(to).lower() != contract.lower():
            raise AnchorError(
                f"anchor: transaction {tx_hash} was sent to {to}, not the registry {contract}"
            )

        anchored = [
            log
            for log in receipt["logs"]
            if str(log["address"]).lower() == contract.lower()
            and len(log["topics"]) >= 2
            and _hex(log["topics"][0]) == ANCHORED_TOPIC
        ]
        if not anchored:
            raise AnchorError(
                f"anchor: transaction {tx_hash} has no Anchored event from {contract}"
            )
        event_roots = [_hex(log["topics"][1]) for log in anchored]
        if root_hex not in event_roots:
            raise AnchorError(
                f"anchor: event root {event_roots[0]} differs from the manifest digest {root_hex}"
            )

        block_number = int(receipt["blockNumber"])
        block = w3.eth.get_block(block_number)
        block_time = int(block["timestamp"])
        registry = w3.eth.contract(address=cast(Any, contract), abi=_view_abi())
        try:
            anchored_at = int(registry.functions.anchoredAt(bytes(root)).call())
            anchored_block = int(registry.functions.anchoredBlock(bytes(root)).call())
        except (ContractLogicError, BadFunctionCallOutput) as exc:
            raise AnchorError(f"anchor: {contract} does not answer as an EvidenceRegistry") from exc
        if anchored_at == 0:
            raise AnchorError(f"anchor: root {root_hex} is not anchored in registry {contract}")
        if anchored_at != block_time or anchored_block != block_number:
            raise AnchorError(
                f"anchor: registry records {root_hex} at block {anchored_block} time "
                f"{anchored_at}, not block {block_number} time {block_time} of {tx_hash}"
            )

        receipt_hash = _hex(receipt["blockHash"])
        if _hex(block["hash"]) != receipt_hash:
            raise AnchorError(
                f"anchor: block {block_number} is now {_hex(block['hash'])}, not {receipt_hash} "
                "(chain reorganised)"
            )
        confirmations = int(w3.eth.block_number) - block_number + 1
        if confirmations < min_confirmations:
            raise AnchorError(
                f"anchor: {confirmations} confirmations of {tx_hash}, {min_confirmations} required"
            )

    return AnchorCheck(
        chain_id=actual_chain,
        contract_address=contract,
        transaction_hash=tx_hash,
        block_number=block_number,
        block_hash=receipt_hash,
        confirmations=confirmations,
        root=root_hex,
        anchored_at_block_time=_block_time(anchored_at),
    )


def _view_abi() -> Any:
    return [
        entry
        for entry in load_contract_artifact().abi
        if entry.get("name") in ("anchoredAt", "anchoredBlock") and entry.get("type") == "function"
    ]
