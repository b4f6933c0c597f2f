"""Talking to the local node and looking at its process: JSON-RPC without web3, /proc.

The local node's lifecycle must not wait a second for web3 to import, so the
few calls it needs (chain id, state dump, balance) go over plain urllib, and
never through an http_proxy from the environment: the node is on loopback.
"""

from __future__ import annotations

import gzip
import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from evidence.model.errors import AnchorError

# The node is on loopback: an http_proxy from the environment must not be asked.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def rpc_answers(rpc_url: str, *, timeout_s: float = 1.0) -> int | None:
    """The chain id the node at ``rpc_url`` reports, or None if nothing answers."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(
        rpc_url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with _DIRECT.open(request, timeout=timeout_s) as response:
            reply = json.loads(response.read())
        return int(reply["result"], 16)
    except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError):
        return None


def rpc_call(rpc_url: str, method: str, params: list[Any], *, timeout_s: float = 5.0) -> Any:
    """The result of one JSON-RPC call to the local node; AnchorError if there is none."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    request = urllib.request.Request(
        rpc_url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with _DIRECT.open(request, timeout=timeout_s) as response:
            reply = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError) as exc:
        raise AnchorError(f"anchor: the local chain at {rpc_url} did not answer {method}") from exc
    if not isinstance(reply, dict) or "result" not in reply:
        error = reply.get("error") if isinstance(reply, dict) else None
        raise AnchorError(f"anchor: the local chain at {rpc_url} refused {method}: {error}")
    return reply["result"]


def port_is_free(port: int) -> bool:
    """Whether a node could listen on ``port`` of 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Without SO_REUSEADDR a port in TIME_WAIT after our own node's exit looks
        # taken, and the chain would wander to a new port on every restart.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ephemeral_port() -> int:
    """A loopback port the kernel considers free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def process_state(pid: int) -> str | None:
    """The one-letter state from ``/proc/PID/stat``, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may contain spaces: the state follows the last ')'.
    return stat.rsplit(")", 1)[1].split()[0]


def cmdline(pid: int) -> list[str]:
    """The command line of process ``pid``, empty if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def dump_state(rpc_url: str) -> bytes | None:
    """The node's complete state (``anvil_dumpState``, uncompressed), or None."""
    try:
        result = rpc_call(rpc_url, "anvil_dumpState", [])
        return gzip.decompress(bytes.fromhex(str(result).removeprefix("0x")))
    except (AnchorError, ValueError, OSError, EOFError):
        return None
