"""Read an anchor back from the chain: what the verifier runs, on any machine.

:func:`check_anchor` needs only an RPC URL and what the anchor receipt
recorded, and it names who anchored: an anchor proves something only if the
account that sent it is one the expert trusts, because anyone holding a key
the registry accepts (on the local development chain: anyone at all, while its
owner is anvil's published key) can anchor a root of their own choosing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from web3 import Web3
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, TransactionNotFound
from web3.types import TxReceipt

from anchoring._rpc import (
    ANCHORED_TOPIC,
    abi_functions,
    block_time,
    checksum,
    connect_web3,
    rpc_errors,
    to_hex,
    topic_address,
)
from evidence.model.errors import AnchorError, ConfigurationError
from evidence.model.records import AnchorCheck


class UntrustedSubmitterError(AnchorError):
    """The anchor is consistent, but was sent by an account the expert does not trust."""


def chain_head(rpc_url: str, *, timeout_s: float = 5.0) -> tuple[int, int, str]:
    """``(chain id, latest block number, genesis hash)`` of the node at ``rpc_url``."""
    w3 = connect_web3(rpc_url, timeout_s)
    with rpc_errors(rpc_url, "reading the chain head"):
        return int(w3.eth.chain_id), int(w3.eth.block_number), to_hex(w3.eth.get_block(0)["hash"])


def check_anchor(
    rpc_url: str,
    *,
    chain_id: int,
    contract_address: str,
    transaction_hash: str,
    root: bytes,
    min_confirmations: int = 1,
    timeout_s: float = 10.0,
    submitters: Sequence[str] | None = None,
) -> AnchorCheck:
    """Read an anchor back from the chain and check it against what was recorded.

    ``submitters`` are the accounts the caller trusts to anchor (from the
    verifier's own configuration, never from the bundle): an anchor sent by any
    other account raises :class:`UntrustedSubmitterError`. Without them the
    result still names the submitter, and trusting it is the caller's business.

    Raises :class:`ChainUnreachableError` if the node does not answer and
    :class:`AnchorError` naming the first check that failed otherwise.
    """
    if len(root) != 32:
        raise ValueError(f"a root is 32 bytes, got {len(root)}")
    trusted = _trusted_submitters(submitters)
    tx_hash, contract = _recorded_identifiers(transaction_hash, contract_address)
    w3 = connect_web3(rpc_url, timeout_s)
    with rpc_errors(rpc_url, "reading the anchor"):
        actual_chain = int(w3.eth.chain_id)
        if actual_chain != chain_id:
            raise AnchorError(
                f"anchor: chain id {actual_chain} differs from the recorded {chain_id}"
            )
        receipt, submitter = _anchoring_transaction(w3, chain_id, tx_hash, contract, to_hex(root))
        record = _registry_record(w3, receipt, contract, root, submitter)
        confirmations = int(w3.eth.block_number) - record.block_number + 1
    if confirmations < min_confirmations:
        raise AnchorError(
            f"anchor: {confirmations} confirmations of {tx_hash}, {min_confirmations} required"
        )
    if trusted is not None and submitter.lower() not in {a.lower() for a in trusted}:
        raise UntrustedSubmitterError(
            f"anchor: anchored by {submitter}, which is not a submitter you trust "
            f"({', '.join(trusted) or 'none'})"
        )
    return AnchorCheck(
        chain_id=actual_chain,
        contract_address=contract,
        transaction_hash=tx_hash,
        block_number=record.block_number,
        block_hash=record.block_hash,
        confirmations=confirmations,
        root=to_hex(root),
        anchored_at_block_time=block_time(record.anchored_at),
        submitter=submitter,
    )


def _trusted_submitters(submitters: Sequence[str] | None) -> list[str] | None:
    if submitters is None:
        return None
    if isinstance(submitters, str):
        # One address passed bare would otherwise be trusted character by character.
        raise TypeError("submitters is a sequence of addresses, not one string")
    trusted = []
    for address in submitters:
        try:
            trusted.append(checksum(address))
        except ValueError as exc:
            raise ConfigurationError(
                f"a trusted submitter {address!r} is not an EVM address"
            ) from exc
    return trusted


def _recorded_identifiers(transaction_hash: str, contract_address: str) -> tuple[str, str]:
    # The recorded values come from a bundle that may have been tampered with: a
    # malformed one is a failed check, not a programming error.
    tx_hash = transaction_hash.lower()
    if not re.fullmatch(r"0x[0-9a-f]{64}", tx_hash):
        raise AnchorError(f"anchor: recorded transaction hash {transaction_hash!r} is malformed")
    try:
        return tx_hash, checksum(contract_address)
    except ValueError as exc:
        raise AnchorError(
            f"anchor: recorded contract address {contract_address!r} is malformed"
        ) from exc


def _anchoring_transaction(
    w3: Web3, chain_id: int, tx_hash: str, contract: str, root_hex: str
) -> tuple[TxReceipt, str]:
    """The mined, successful transaction to the registry that anchored ``root_hex``, and
    its sender, who must be the submitter the Anchored event names for that root."""
    try:
        tx = w3.eth.get_transaction(cast(Any, tx_hash))
    except TransactionNotFound as exc:
        raise AnchorError(f"anchor: transaction {tx_hash} not found on chain {chain_id}") from exc
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
        and to_hex(log["topics"][0]) == ANCHORED_TOPIC
    ]
    if not anchored:
        raise AnchorError(f"anchor: transaction {tx_hash} has no Anchored event from {contract}")
    ours = [log for log in anchored if to_hex(log["topics"][1]) == root_hex]
    if not ours:
        raise AnchorError(
            f"anchor: event root {to_hex(anchored[0]['topics'][1])} differs from the "
            f"manifest digest {root_hex}"
        )
    sender = checksum(str(tx["from"]))
    if len(ours[0]["topics"]) < 3:
        raise AnchorError(f"anchor: the Anchored event of {root_hex} names no submitter")
    named = topic_address(ours[0]["topics"][2])
    if named != sender:
        raise AnchorError(
            f"anchor: transaction {tx_hash} was sent by {sender}, but its Anchored event "
            f"names the submitter {named}"
        )
    return receipt, sender


@dataclass(frozen=True, slots=True)
class _RegistryRecord:
    block_number: int
    block_hash: str
    anchored_at: int


def _registry_record(
    w3: Web3, receipt: TxReceipt, contract: str, root: bytes, submitter: str
) -> _RegistryRecord:
    """The registry's own record of ``root``, checked against the receipt's block."""
    root_hex = to_hex(root)
    tx_hash = to_hex(receipt["transactionHash"])
    block_number = int(receipt["blockNumber"])
    block = w3.eth.get_block(block_number)
    mined_at = int(block["timestamp"])
    registry = w3.eth.contract(
        address=cast(Any, contract), abi=abi_functions("anchoredAt", "anchoredBlock", "submitterOf")
    )
    try:
        anchored_at = int(registry.functions.anchoredAt(bytes(root)).call())
        anchored_block = int(registry.functions.anchoredBlock(bytes(root)).call())
        recorded_submitter = str(registry.functions.submitterOf(bytes(root)).call())
    except (ContractLogicError, BadFunctionCallOutput) as exc:
        raise AnchorError(f"anchor: {contract} does not answer as an EvidenceRegistry") from exc
    if anchored_at == 0:
        raise AnchorError(f"anchor: root {root_hex} is not anchored in registry {contract}")
    if anchored_at != mined_at or anchored_block != block_number:
        raise AnchorError(
            f"anchor: registry records {root_hex} at block {anchored_block} time "
            f"{anchored_at}, not block {block_number} time {mined_at} of {tx_hash}"
        )
    if recorded_submitter.lower() != submitter.lower():
        raise AnchorError(
            f"anchor: registry records {root_hex} as anchored by {recorded_submitter}, "
            f"not {submitter}, the sender of {tx_hash}"
        )
    receipt_hash = to_hex(receipt["blockHash"])
    if to_hex(block["hash"]) != receipt_hash:
        raise AnchorError(
            f"anchor: block {block_number} is now {to_hex(block['hash'])}, not {receipt_hash} "
            "(chain reorganised)"
        )
    return _RegistryRecord(block_number, receipt_hash, anchored_at)
