"""JSON-RPC and contract plumbing shared by the anchoring modules.

One web3 connection factory, the translation of transport and node errors into
the toolkit's one-line errors, the committed EvidenceRegistry build and the
decoding of its custom errors. Nothing here signs or judges an anchor.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from eth_abi.abi import decode as abi_decode
from web3 import HTTPProvider, Web3
from web3.exceptions import ProviderConnectionError, Web3RPCError

from evidence.model.errors import AnchorError, ConfigurationError
from evidence.model.redaction import redact_url

ARTIFACT_PATH = Path(__file__).resolve().parent / "contract_artifacts" / "EvidenceRegistry.json"

ANCHORED_TOPIC = "0x" + Web3.keccak(text="Anchored(bytes32,address,uint256,string)").hex()

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class ChainUnreachableError(AnchorError):
    """No answer from the JSON-RPC endpoint: the anchor could not be checked at all."""


def to_hex(value: bytes) -> str:
    """``0x``-prefixed lower-case hex of a hash or a topic."""
    # HexBytes.hex() lost its 0x prefix in web3 8; every hash we record carries one.
    return "0x" + bytes(value).hex()


def checksum(address: str) -> str:
    """The EIP-55 form of ``address``; ValueError for anything that is not an address."""
    try:
        return str(Web3.to_checksum_address(address))
    except ValueError as exc:
        raise ValueError(f"not an EVM address: {address!r}") from exc


def topic_address(topic: bytes) -> str:
    """The checksummed address an indexed ``address`` event argument carries."""
    return checksum("0x" + bytes(topic)[-20:].hex())


def block_time(timestamp: int) -> datetime:
    """A block's Unix timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, UTC)


def connect_web3(rpc_url: str, timeout_s: float) -> Web3:
    """A web3 handle on ``rpc_url`` that fails fast and leaves retrying to its callers."""
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
def rpc_errors(rpc_url: str, action: str) -> Iterator[None]:
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
            f"anchor: the node at {rpc_url} refused {action}: {rpc_message(exc)}"
        ) from exc


def rpc_message(exc: Web3RPCError) -> str:
    """The node's own error text, not web3's repr of the whole error object."""
    response: Any = exc.rpc_response
    if isinstance(response, Mapping):
        error = response.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])
    return str(exc.message)


# --- the contract ----------------------------------------------------------------


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


def abi_functions(*names: str) -> Any:
    """The ABI entries of the registry's functions ``names`` (a view-only contract handle)."""
    return [
        entry
        for entry in load_contract_artifact().abi
        if entry.get("name") in names and entry.get("type") == "function"
    ]


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
        to_hex(value)
        if isinstance(value, bytes)
        else checksum(value)
        if kind == "address"
        else str(value)
        for kind, value in zip(types, values, strict=True)
    ]
    return f"{name}({', '.join(shown)})"
