"""Anchor 32-byte roots in the EvidenceRegistry contract and check anchors later.

Writing goes through :class:`ChainClient` (transactions signed locally with
eth-account, so no node ever holds the key). Checking goes through
:func:`~anchoring.readback.check_anchor`, which needs only an RPC URL and what
the anchor receipt recorded: it is what the verifier runs, on any machine.

Every failure is an :class:`~evidence.model.errors.AnchorError` with a one-line
message. When the chain cannot be reached at all the error is the subclass
:class:`ChainUnreachableError`, because "not checked" and "checked and wrong"
must never be confused.

This module is also the stage's one door to the chain: what the plumbing
modules (``_rpc``, ``_transactions``, ``signers``, ``deployments``,
``readback``) offer to other floors is re-exported here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from eth_abi.abi import decode as abi_decode
from web3.contract import Contract
from web3.exceptions import BadFunctionCallOutput, ContractLogicError

from anchoring._rpc import (
    ANCHORED_TOPIC,
    ARTIFACT_PATH,
    ChainUnreachableError,
    ContractArtifact,
    block_time,
    checksum,
    connect_web3,
    decode_revert,
    load_contract_artifact,
    rpc_errors,
    to_hex,
    topic_address,
)
from anchoring._transactions import (
    AlreadyAnchoredError,
    NotAuthorizedError,
    NotOwnerError,
    Transactor,
)
from anchoring.deployments import (
    DEPLOYMENT_FILE,
    NoDeploymentError,
    ensure_registry,
    has_deployments,
    recorded_registry,
)
from anchoring.readback import UntrustedSubmitterError, chain_head, check_anchor
from anchoring.signers import NodeAccount, Signer, load_keystore, resolve_signer, signer_address
from evidence.model.errors import AnchorError, ConfigurationError
from evidence.model.records import AnchorReceipt
from evidence.model.redaction import redact_url

__all__ = [
    "ANCHORED_TOPIC",
    "ARTIFACT_PATH",
    "DEPLOYMENT_FILE",
    "DEV_CHAIN_ID",
    "AlreadyAnchoredError",
    "ChainClient",
    "ChainUnreachableError",
    "ContractArtifact",
    "NoDeploymentError",
    "NodeAccount",
    "NotAuthorizedError",
    "NotOwnerError",
    "SentAnchor",
    "Signer",
    "UntrustedSubmitterError",
    "chain_head",
    "check_anchor",
    "decode_revert",
    "has_deployments",
    "load_contract_artifact",
    "load_keystore",
    "recorded_registry",
    "signer_address",
]

logger = logging.getLogger(__name__)

DEV_CHAIN_ID = 31337


@dataclass(frozen=True, slots=True)
class SentAnchor:
    """A submitted anchoring transaction whose receipt is still awaited."""

    root: bytes
    reference: str
    transaction_hash: str


class ChainClient:
    """Deploys the registry and anchors roots, signing with one account."""

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
        resolved = resolve_signer(signer)
        self._node_account = resolved.address if resolved.account is None else None
        self._key_is_public = resolved.key_is_public
        self._w3 = connect_web3(rpc_url, request_timeout_s)
        self._artifact = load_contract_artifact()
        self._abi = cast(Any, list(self._artifact.abi))
        self._transactor = Transactor(
            self._w3, self.rpc_url, resolved, receipt_timeout_s=receipt_timeout_s
        )
        self.contract_address: str | None = None

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
            with rpc_errors(rpc_url, "eth_accounts"):
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
        return self._transactor.chain_id

    @property
    def network_name(self) -> str:
        return self._network_name or f"EVM chain id {self.chain_id}"

    @property
    def submitter(self) -> str:
        """The checksummed address that signs this client's transactions."""
        return self._transactor.address

    @property
    def uses_eip1559(self) -> bool:
        """Whether the chain has a base fee (London or later), so type-2 fees are used."""
        return self._transactor.uses_eip1559

    def head(self) -> tuple[int, str, datetime]:
        """Number, hash and time of the latest block."""
        with rpc_errors(self.rpc_url, "reading the latest block"):
            latest = self._w3.eth.get_block("latest")
        return (
            int(latest["number"]),
            to_hex(latest["hash"]),
            block_time(int(latest["timestamp"])),
        )

    def genesis_hash(self) -> str:
        """The hash of block 0: with the chain id, what tells one chain from another."""
        with rpc_errors(self.rpc_url, "reading the genesis block"):
            return to_hex(self._w3.eth.get_block(0)["hash"])

    def use_registry(self, address: str) -> None:
        """Anchor into an existing registry (e.g. one deployed by someone else)."""
        self._require_code(checksum(address))
        self.contract_address = checksum(address)

    def deploy_registry(self) -> str:
        """Deploy a new EvidenceRegistry owned by this client's key; its address."""
        factory = self._w3.eth.contract(abi=self._abi, bytecode=self._artifact.bytecode)
        receipt = self._transactor.transact("deploying the registry", factory.constructor())
        created = receipt.get("contractAddress")
        if not created:
            raise AnchorError("anchor: the deployment receipt names no contract address")
        address = checksum(str(created))
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

        Deployments are remembered in ``<home>/chain/deployment.json``; see
        :func:`anchoring.deployments.ensure_registry`. With ``deploy=False`` a
        chain without a recorded registry is a :class:`ConfigurationError`.
        """
        return ensure_registry(self, home, deploy=deploy)

    def has_registry_code(self, address: str) -> bool:
        """Whether ``address`` holds exactly this build's EvidenceRegistry."""
        with rpc_errors(self.rpc_url, "eth_getCode"):
            code = bytes(self._w3.eth.get_code(cast(Any, checksum(address))))
        # The contract has no immutables, so its code on chain is exactly the artifact's
        # runtime code; a registry from an older build is not reused.
        return code == bytes.fromhex(self._artifact.deployed_bytecode[2:])

    def registry_owner(self) -> str:
        """The account that may authorise and revoke submitters in this client's registry."""
        with rpc_errors(self.rpc_url, "reading the registry's owner"):
            return checksum(str(self._registry_call("owner")))

    def is_authorized(self, account: str) -> bool:
        """Whether ``account`` may anchor into this client's registry now."""
        with rpc_errors(self.rpc_url, f"asking whether {account} is authorised"):
            return bool(self._registry_call("authorized", checksum(account)))

    def authorize(self, account: str) -> str:
        """Let ``account`` anchor into this client's registry (owner only); the tx hash."""
        contract = self._registry()
        call = contract.functions.authorize(checksum(account))
        receipt = self._transactor.transact(f"authorising {account}", call)
        return to_hex(receipt["transactionHash"])

    def revoke(self, account: str) -> str:
        """Stop ``account`` from anchoring (owner only); the tx hash. Past anchors stay."""
        contract = self._registry()
        call = contract.functions.revoke(checksum(account))
        receipt = self._transactor.transact(f"revoking {account}", call)
        return to_hex(receipt["transactionHash"])

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
        action = f"anchoring {to_hex(root)}"
        tx_hash = self._transactor.send(action, contract.functions.anchor(bytes(root), reference))
        return SentAnchor(bytes(root), reference, to_hex(tx_hash))

    def wait_anchor(self, sent: SentAnchor) -> AnchorReceipt:
        """Wait for a sent anchor's receipt and cross-check it against the chain.

        A receipt is believed only if the registry itself dates the root to the
        receipt's block and that block's hash is the receipt's: a node (or a proxy)
        that reports a receipt the chain does not bear out is an error.
        """
        contract = self._registry()
        root_hex = to_hex(sent.root)
        started = time.monotonic()
        receipt = self._transactor.wait_receipt(sent.transaction_hash, f"anchoring {root_hex}")
        with rpc_errors(self.rpc_url, "reading the anchor block"):
            block = self._w3.eth.get_block(receipt["blockNumber"])
            registered = int(contract.functions.anchoredBlock(sent.root).call())
        events = [
            log
            for log in receipt["logs"]
            if log["address"].lower() == contract.address.lower()
            and log["topics"]
            and to_hex(log["topics"][0]) == ANCHORED_TOPIC
        ]
        if len(events) != 1 or to_hex(events[0]["topics"][1]) != root_hex:
            raise AnchorError(
                f"anchor: transaction {to_hex(receipt['transactionHash'])} emitted no Anchored "
                f"event for {root_hex}"
            )
        if to_hex(receipt["transactionHash"]) != sent.transaction_hash:
            raise AnchorError(
                f"anchor: the node returned the receipt of {to_hex(receipt['transactionHash'])} "
                f"for {sent.transaction_hash}"
            )
        if registered != int(receipt["blockNumber"]) or to_hex(block["hash"]) != to_hex(
            receipt["blockHash"]
        ):
            raise AnchorError(
                f"anchor: the receipt of {sent.transaction_hash} (block {receipt['blockNumber']} "
                f"{to_hex(receipt['blockHash'])}) disagrees with the chain (registry block "
                f"{registered}, block hash {to_hex(block['hash'])})"
            )
        anchored = AnchorReceipt(
            chain_id=self.chain_id,
            network_name=self.network_name,
            rpc_url=self.rpc_url,
            contract_address=checksum(contract.address),
            transaction_hash=to_hex(receipt["transactionHash"]),
            block_number=int(receipt["blockNumber"]),
            block_hash=to_hex(receipt["blockHash"]),
            block_time=block_time(int(block["timestamp"])),
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
        with rpc_errors(self.rpc_url, "eth_getTransactionReceipt"):
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
        root_hex = to_hex(root)
        with rpc_errors(self.rpc_url, f"looking up {root_hex}"):
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
            contract_address=checksum(contract.address),
            transaction_hash=to_hex(log["transactionHash"]),
            block_number=number,
            block_hash=to_hex(log["blockHash"]),
            block_time=block_time(int(block["timestamp"])),
            root=root_hex,
            submitter=topic_address(log["topics"][2]),
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

    def _registry_call(self, function: str, *args: Any) -> Any:
        """A view call on the registry; a contract that cannot answer is not our registry."""
        try:
            return self._registry().functions[function](*args).call()
        except (ContractLogicError, BadFunctionCallOutput) as exc:
            raise AnchorError(
                f"anchor: {self.contract_address} does not answer {function}() as an "
                "EvidenceRegistry"
            ) from exc

    def _require_code(self, address: str) -> None:
        if self.has_registry_code(address):
            return
        with rpc_errors(self.rpc_url, "eth_getCode"):
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
