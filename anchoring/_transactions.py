"""Sign, send and wait for one account's transactions to the registry.

Nonces come from the pending count under a per-key lock shared by the whole
process, with retries when another process using the same key took one; fees
are EIP-1559 where the chain has a base fee. The registry's custom errors come
back decoded, as their own :class:`~evidence.model.errors.AnchorError` types.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any, cast

from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import TxParams, TxReceipt

from anchoring._rpc import decode_revert, load_contract_artifact, rpc_errors, rpc_message, to_hex
from anchoring.signers import ResolvedSigner
from evidence.model.errors import AnchorError

logger = logging.getLogger(__name__)

_NONCE_RETRIES = 6


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

_SIGNER_LOCKS: dict[str, threading.Lock] = {}
_SIGNER_LOCKS_GUARD = threading.Lock()


def _signer_lock(address: str) -> threading.Lock:
    # Shared by every client in the process that signs with the same key: each one
    # reads the pending nonce, so two of them sending at once would pick the same.
    with _SIGNER_LOCKS_GUARD:
        return _SIGNER_LOCKS.setdefault(address.lower(), threading.Lock())


class Transactor:
    """One account's transactions on one node: build, sign, send, wait."""

    def __init__(
        self, w3: Web3, rpc_url: str, signer: ResolvedSigner, *, receipt_timeout_s: float
    ) -> None:
        self._w3 = w3
        self._rpc_url = rpc_url
        self._account = signer.account
        self.address = signer.address
        self.receipt_timeout_s = receipt_timeout_s
        self._abi = load_contract_artifact().abi
        self._lock = _signer_lock(self.address)
        self._chain_id: int | None = None
        self._eip1559: bool | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with rpc_errors(self._rpc_url, "eth_chainId"):
                self._chain_id = int(self._w3.eth.chain_id)
        return self._chain_id

    @property
    def uses_eip1559(self) -> bool:
        """Whether the chain has a base fee (London or later), so type-2 fees are used."""
        if self._eip1559 is None:
            with rpc_errors(self._rpc_url, "reading the latest block"):
                latest = self._w3.eth.get_block("latest")
            self._eip1559 = latest.get("baseFeePerGas") is not None
        return self._eip1559

    def transact(self, action: str, call: Any) -> TxReceipt:
        """Sign, send and wait for one transaction."""
        return self.wait_receipt(to_hex(self.send(action, call)), action)

    def send(self, action: str, call: Any) -> bytes:
        """Sign and send one transaction; its hash. Nothing is sent if the call reverts."""
        with self._lock, rpc_errors(self._rpc_url, action):
            return self._send_with_nonce_retries(action, call)

    def wait_receipt(self, tx_hash: str, action: str) -> TxReceipt:
        """The receipt of a successful transaction; AnchorError if it reverted or timed out."""
        with rpc_errors(self._rpc_url, action):
            try:
                receipt = self._w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx_hash), timeout=self.receipt_timeout_s, poll_latency=0.1
                )
            except TimeExhausted as exc:
                raise AnchorError(
                    f"anchor: transaction {tx_hash} ({action}) not mined within "
                    f"{self.receipt_timeout_s:g} s",
                    hint="It may still be mined later: find_anchor() tells before sending again.",
                ) from exc
        if receipt["status"] != 1:
            raise AnchorError(
                f"anchor: transaction {tx_hash} ({action}) reverted in block "
                f"{receipt['blockNumber']}"
            )
        return receipt

    def fees(self) -> dict[str, int]:
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

    def _send_with_nonce_retries(self, action: str, call: Any) -> bytes:
        for attempt in range(_NONCE_RETRIES):
            try:
                return self._sign_and_send(action, call)
            except Web3RPCError as exc:
                message = rpc_message(exc)
                # Another process signing with the same key took our nonce: build
                # the transaction again with a fresh one, after a random pause so
                # that the contenders drift apart.
                if "nonce" not in message.lower() or attempt == _NONCE_RETRIES - 1:
                    raise AnchorError(
                        f"anchor: the node at {self._rpc_url} refused {action}: {message}"
                    ) from exc
                logger.info("nonce clash while %s; retrying", action)
                time.sleep(random.uniform(0.01, 0.1) * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _sign_and_send(self, action: str, call: Any) -> bytes:
        params: dict[str, Any] = {"from": self.address, "chainId": self.chain_id, **self.fees()}
        if self._account is not None:
            # The node's account has its nonce assigned by the node; our own key
            # takes the pending count (serialised per key by the signer lock).
            params["nonce"] = self._w3.eth.get_transaction_count(cast(Any, self.address), "pending")
        try:
            # build_transaction estimates gas, i.e. runs the call first: a revert
            # surfaces here with its custom error, before anything is signed.
            tx: TxParams = call.build_transaction(cast(Any, params))
        except ContractLogicError as exc:
            reason = decode_revert(exc.data, self._abi)
            error = next(
                (kind for prefix, kind in _CUSTOM_ERRORS.items() if reason.startswith(prefix)),
                AnchorError,
            )
            raise error(f"anchor: the registry rejected {action}: {reason}") from exc
        if self._account is None:
            return bytes(self._w3.eth.send_transaction(tx))
        signed = self._account.sign_transaction(cast(Any, tx))
        return bytes(self._w3.eth.send_raw_transaction(signed.raw_transaction))
