"""The embedded development chain: one anvil node per evidence home, started on demand.

The node keeps its chain in ``<home>/chain/anvil-state.json``. anvil rewrites
that file in place every ``--state-interval`` seconds and on a clean exit, so
a SIGKILL in the middle of a write leaves a truncated file that anvil then
refuses to load. :meth:`LocalChain.wait_persisted` therefore also keeps a
verified copy (``anvil-state.good.json``) that a start falls back on.

Nobody but this machine witnesses this chain: it proves nothing to a third
party, which is why everything it produces is marked ``development``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidence.model.child_env import child_environment
from evidence.model.errors import AnchorError, ConfigurationError

logger = logging.getLogger(__name__)

DEV_CHAIN_ID = 31337

DEV_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
"""anvil's default account 0 (address ``0xf39F…2266``).

A well-known, published development key: anyone can sign with it. Use it only
on the embedded local chain, never on a network that others can reach.
"""

ANVIL_ENV = "EVIDENCE_ANVIL"
_REPO_ROOT = Path(__file__).resolve().parent.parent
_NPM_ANVIL = _REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"

_POLL_S = 0.05

# Nodes this process spawned, shared by every LocalChain in it: only the parent can
# reap a child, and any instance for the same home may be the one that stops it.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_LOCK_TIMEOUT_S = 60.0


def _reap_children() -> None:
    for pid, child in list(_CHILDREN.items()):
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)


def find_anvil() -> Path:
    """The anvil binary: ``$EVIDENCE_ANVIL``, ``PATH``, beside Python, then node_modules."""
    configured = os.environ.get(ANVIL_ENV)
    if configured:
        path = Path(configured)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ConfigurationError(f"{ANVIL_ENV}={configured} is not an executable anvil binary")
    candidates: list[Path] = []
    on_path = shutil.which("anvil")
    if on_path:
        candidates.append(Path(on_path))
    candidates += [Path(sys.executable).parent / "anvil", _NPM_ANVIL]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ConfigurationError(
        f"anvil (the local chain) is not installed: run scripts/setup.sh or set {ANVIL_ENV}",
    )


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


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Without SO_REUSEADDR a port in TIME_WAIT after our own node's exit looks
        # taken, and the chain would wander to a new port on every restart.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _process_state(pid: int) -> str | None:
    """The one-letter state from ``/proc/PID/stat``, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may contain spaces: the state follows the last ')'.
    return stat.rsplit(")", 1)[1].split()[0]


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _read_state_block(raw: bytes) -> int | None:
    """Highest block number a complete anvil state dump holds, None if unreadable."""
    summary = _state_summary(raw)
    return summary[1] if summary is not None else None


def _state_summary(raw: bytes) -> tuple[str, int] | None:
    """(identity of the genesis block, best block number) of a complete state dump."""
    try:
        state = json.loads(raw)
        best = int(state["best_block_number"])
        headers = {int(block["header"]["number"], 16): block["header"] for block in state["blocks"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    # A dump that claims a best block it does not contain is not one to trust.
    if best not in headers or 0 not in headers:
        return None
    return json.dumps(headers[0], sort_keys=True), best


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """What ``anvil.json`` says about the node last started for this home."""

    pid: int | None
    port: int
    rpc_url: str
    binary: str
    started_at: str

    @classmethod
    def load(cls, path: Path) -> NodeRecord | None:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            return cls(
                pid=int(data["pid"]) if data.get("pid") is not None else None,
                port=int(data["port"]),
                rpc_url=str(data["rpc_url"]),
                binary=str(data.get("binary", "")),
                started_at=str(data.get("started_at", "")),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, path: Path) -> None:
        data = {
            "pid": self.pid,
            "port": self.port,
            "rpc_url": self.rpc_url,
            "binary": self.binary,
            "started_at": self.started_at,
        }
        _write_atomically(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


class LocalChain:
    """anvil on 127.0.0.1 with its state under ``<home>/chain/``, started when first needed."""

    development = True
    chain_id = DEV_CHAIN_ID
    network_name = "local anvil (development, chain id 31337)"
    private_key = DEV_PRIVATE_KEY
    """The key that deploys and anchors on this chain: see :data:`DEV_PRIVATE_KEY`."""

    def __init__(
        self,
        home: Path,
        *,
        binary: Path | None = None,
        start_timeout_s: float = 15.0,
        stop_timeout_s: float = 10.0,
        state_interval_s: int = 1,
    ) -> None:
        # Canonical, because the PID check matches this path in the node's command line.
        self.home = Path(home).resolve()
        self.directory = self.home / "chain"
        self.state_path = self.directory / "anvil-state.json"
        self.good_state_path = self.directory / "anvil-state.good.json"
        self.record_path = self.directory / "anvil.json"
        self.log_path = self.directory / "anvil.log"
        self.lock_path = self.directory / "anvil.lock"
        self._binary = binary
        self._start_timeout_s = start_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._state_interval_s = state_interval_s
        self._children = _CHILDREN

    # --- public --------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The recorded node's PID if that process is alive, else None."""
        record = NodeRecord.load(self.record_path)
        if record is None or record.pid is None or not self._is_our_node(record.pid):
            return None
        return record.pid

    def ensure_running(self) -> str:
        """The RPC URL of this home's node, starting it if it is not running."""
        _reap_children()
        with self._locked():
            record = NodeRecord.load(self.record_path)
            # Only the recorded process counts: another anvil that happens to answer on
            # the recorded port (a developer's own, chain id 31337 too) is not this
            # home's chain and must never receive its anchors.
            if record is not None and record.pid is not None and self._is_our_node(record.pid):
                if self._answers(record):
                    return record.rpc_url
                # Alive but silent: two nodes must never write the same state file,
                # so this one goes first.
                logger.warning("anvil pid %d does not answer; restarting it", record.pid)
                self._terminate(record.pid)
            return self._start(record.port if record is not None else None)

    def stop(self) -> None:
        """Stop the node cleanly: SIGTERM makes anvil write its state before exiting."""
        _reap_children()
        with self._locked():
            record = NodeRecord.load(self.record_path)
            if record is None or record.pid is None:
                return
            if self._is_our_node(record.pid):
                self._terminate(record.pid)
            NodeRecord(
                pid=None,
                port=record.port,
                rpc_url=record.rpc_url,
                binary=record.binary,
                started_at=record.started_at,
            ).save(self.record_path)
            # A clean exit wrote a complete dump: it becomes the fallback too.
            self._keep_good_copy()

    def wait_persisted(self, block_number: int, timeout_s: float = 10.0) -> None:
        """Return once the state file on disk holds ``block_number``.

        After this, a SIGKILL of the node (or of the machine's processes) no longer
        loses that block: the next start loads it from the file or its verified copy.
        Raises :class:`AnchorError` if the block is not on disk within ``timeout_s``.
        """
        dumped = self._dump_over_rpc()
        if dumped is not None and (_read_state_block(dumped) or -1) >= block_number:
            # The node's own dump, taken now, holds the block: kept as the verified
            # copy, it survives a SIGKILL before anvil's next periodic write (start-up
            # prefers the newer of the two), so there is no need to wait for that write.
            self._save_good_copy(dumped)
            return
        deadline = time.monotonic() + timeout_s
        last_seen: int | None = None
        last_stamp: tuple[int, int] | None = None
        while True:
            try:
                stat = self.state_path.stat()
                stamp = (stat.st_mtime_ns, stat.st_size)
                if stamp != last_stamp:
                    raw = self.state_path.read_bytes()
                    last_stamp = stamp
                    last_seen = _read_state_block(raw)
                    if last_seen is not None and last_seen >= block_number:
                        self._save_good_copy(raw)
                        return
            except FileNotFoundError:
                pass
            if time.monotonic() >= deadline:
                raise AnchorError(
                    f"anchor: block {block_number} not written to {self.state_path} "
                    f"within {timeout_s:g} s (file holds {last_seen})",
                    hint=f"See {self.log_path}; is the local anvil node running?",
                )
            time.sleep(_POLL_S)

    # --- internals -------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+b") as handle:
            deadline = time.monotonic() + _LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise AnchorError(
                            f"anchor: {self.lock_path} stayed locked for {_LOCK_TIMEOUT_S:g} s",
                            hint="Another evidence process is starting or stopping the chain.",
                        ) from exc
                    time.sleep(_POLL_S)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _answers(self, record: NodeRecord) -> bool:
        # A busy node gets a few seconds before it is declared hung; once its process
        # is gone there is nothing to wait for.
        deadline = time.monotonic() + 5.0
        while True:
            answered = rpc_answers(record.rpc_url)
            if answered == self.chain_id:
                return True
            if answered is not None or time.monotonic() >= deadline:
                return False
            if record.pid is None or not self._is_our_node(record.pid):
                return False
            time.sleep(0.1)

    def _is_our_node(self, pid: int) -> bool:
        child = self._children.get(pid)
        if child is not None and child.poll() is not None:
            self._children.pop(pid, None)
            return False
        state = _process_state(pid)
        if state is None or state in ("Z", "X"):
            if child is not None:
                # A killed multi-threaded anvil shows as a zombie before its last
                # thread is gone and waitpid can collect it: reap it, briefly.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=2.0)
                    self._children.pop(pid, None)
            return False
        # A recycled PID must never be signalled: only an anvil on our state file is ours.
        return str(self.state_path) in _cmdline(pid)

    def _command(self, binary: Path, port: int) -> list[str]:
        return [
            str(binary),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--state",
            str(self.state_path),
            "--state-interval",
            str(self._state_interval_s),
            "--chain-id",
            str(self.chain_id),
            # --silent, which older anvils documented, is only a hidden alias in 1.7.1.
            "--quiet",
        ]

    def _start(self, previous_port: int | None) -> str:
        binary = self._binary or find_anvil()
        self._prepare_state_file()
        ports: list[int] = []
        if previous_port is not None and _port_is_free(previous_port):
            ports.append(previous_port)
        # A second ephemeral try covers the race where someone grabs the port between
        # our probe and anvil's bind.
        ports += [_ephemeral_port(), _ephemeral_port()]
        failure = ""
        for port in ports:
            rpc_url = f"http://127.0.0.1:{port}"
            started = time.monotonic()
            process = self._spawn(binary, port)
            failure = self._wait_ready(process, rpc_url)
            if not failure:
                NodeRecord(
                    pid=process.pid,
                    port=port,
                    rpc_url=rpc_url,
                    binary=str(binary),
                    started_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
                ).save(self.record_path)
                logger.info(
                    "started anvil pid %d at %s in %.2f s",
                    process.pid,
                    rpc_url,
                    time.monotonic() - started,
                )
                return rpc_url
            logger.warning("anvil on port %d did not start: %s", port, failure)
            if "already in use" not in failure:
                break
        raise AnchorError(
            f"anchor: the local chain did not start: {failure}",
            hint=f"See {self.log_path}",
        )

    def _spawn(self, binary: Path, port: int) -> subprocess.Popen[bytes]:
        with open(self.log_path, "ab") as log:
            log.write(
                f"--- {datetime.now(UTC).isoformat()} starting anvil on port {port}\n".encode()
            )
            log.flush()
            # A new session keeps the node alive after the CLI that started it exits
            # or is interrupted with Ctrl-C.
            process = subprocess.Popen(
                self._command(binary, port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                # The node outlives the command that started it: it must not
                # keep that command's passphrases and keys in its environment.
                env=child_environment(),
            )
        self._children[process.pid] = process
        return process

    def _wait_ready(self, process: subprocess.Popen[bytes], rpc_url: str) -> str:
        """Empty string once the node answers, else why it did not."""
        deadline = time.monotonic() + self._start_timeout_s
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                self._children.pop(process.pid, None)
                return f"anvil exited with status {code}: {self._log_tail()}"
            chain_id = rpc_answers(rpc_url, timeout_s=0.5)
            if chain_id == self.chain_id:
                return ""
            if chain_id is not None:
                self._terminate(process.pid)
                return f"{rpc_url} answered with chain id {chain_id}, not {self.chain_id}"
            time.sleep(_POLL_S)
        self._terminate(process.pid)
        return f"no answer from {rpc_url} within {self._start_timeout_s:g} s"

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "no log output"

    def _terminate(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if self._wait_gone(pid, self._stop_timeout_s):
            return
        logger.warning(
            "anvil pid %d ignored SIGTERM for %g s; killing it", pid, self._stop_timeout_s
        )
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self._wait_gone(pid, 5.0)

    def _wait_gone(self, pid: int, timeout_s: float) -> bool:
        child = self._children.get(pid)
        if child is not None:
            try:
                child.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                return False
            self._children.pop(pid, None)
            return True
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if _process_state(pid) in (None, "Z", "X"):
                return True
            time.sleep(_POLL_S)
        return False

    def _prepare_state_file(self) -> None:
        """Make sure anvil loads the newest complete state: its file or the verified copy."""
        try:
            raw = self.state_path.read_bytes()
        except FileNotFoundError:
            if self.good_state_path.exists():
                logger.warning("%s is missing; restoring the verified copy", self.state_path)
                shutil.copyfile(self.good_state_path, self.state_path)
            return
        current = _state_summary(raw)
        if current is not None:
            if self._good_copy_is_newer(current):
                logger.warning(
                    "%s lacks blocks the verified copy holds; restoring the copy", self.state_path
                )
                shutil.copyfile(self.good_state_path, self.state_path)
            return
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        broken = self.state_path.with_name(f"anvil-state.broken-{stamp}.json")
        os.replace(self.state_path, broken)
        if self.good_state_path.exists():
            logger.warning(
                "%s is incomplete (kept as %s); restoring the verified copy",
                self.state_path,
                broken.name,
            )
            shutil.copyfile(self.good_state_path, self.state_path)
        else:
            logger.warning(
                "%s is incomplete (kept as %s) and there is no verified copy; starting a new chain",
                self.state_path,
                broken.name,
            )

    def _good_copy_is_newer(self, current: tuple[str, int]) -> bool:
        try:
            good = _state_summary(self.good_state_path.read_bytes())
        except FileNotFoundError:
            return False
        return good is not None and good[0] == current[0] and good[1] > current[1]

    def _dump_over_rpc(self) -> bytes | None:
        """The running node's complete state (``anvil_dumpState``), or None."""
        record = NodeRecord.load(self.record_path)
        if record is None:
            return None
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "anvil_dumpState", "params": []})
        request = urllib.request.Request(
            record.rpc_url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with _DIRECT.open(request, timeout=5.0) as response:
                reply = json.loads(response.read())
            return gzip.decompress(bytes.fromhex(str(reply["result"]).removeprefix("0x")))
        except (OSError, ValueError, KeyError, TypeError, EOFError, urllib.error.URLError):
            return None

    def _save_good_copy(self, raw: bytes) -> None:
        latest = _state_summary(raw)
        if latest is None:
            return
        try:
            previous = _state_summary(self.good_state_path.read_bytes())
        except FileNotFoundError:
            previous = None
        # Processes may wait on different blocks: never replace the copy with an older
        # dump of the same chain (a new chain, with another genesis, always wins).
        if previous is None or previous[0] != latest[0] or latest[1] >= previous[1]:
            _write_atomically(self.good_state_path, raw)

    def _keep_good_copy(self) -> None:
        try:
            raw = self.state_path.read_bytes()
        except FileNotFoundError:
            return
        self._save_good_copy(raw)
