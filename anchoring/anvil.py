"""The embedded development chain: one anvil node per evidence home, started on demand.

The node keeps its chain in ``<home>/chain/anvil-state.json``;
:meth:`LocalChain.wait_persisted` also keeps a verified copy that a start
falls back on (see ``_anvil_state``).

Nobody but this machine witnesses this chain: it proves nothing to a third
party, which is why everything it produces is marked ``development``. It
anchors with the data directory's own key (``<home>/chain/submitter.key``),
never with anvil's published one, so that an expert who trusts that key's
address can tell this home's anchors from anyone else's.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anchoring._anvil_node import (
    cmdline,
    dump_state,
    ephemeral_port,
    port_is_free,
    process_state,
    rpc_answers,
    rpc_call,
)
from anchoring._anvil_state import StateFiles, read_state_block, write_atomically
from anchoring._submitter_key import load_or_create
from evidence.model.child_env import child_environment
from evidence.model.errors import AnchorError, ConfigurationError

__all__ = [
    "ANVIL_ENV",
    "DEV_CHAIN_ID",
    "DEV_PRIVATE_KEY",
    "LocalChain",
    "NodeRecord",
    "find_anvil",
    "rpc_answers",
]

logger = logging.getLogger(__name__)

DEV_CHAIN_ID = 31337

DEV_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
"""anvil's default account 0 (address ``0xf39F…2266``).

A well-known, published development key: anyone can sign with it, so nothing
it anchors says who anchored. The toolkit never anchors with it: it only
authorises a data directory's own key in a registry that it deployed in
earlier versions (and therefore owns).
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
        write_atomically(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


class LocalChain:
    """anvil on 127.0.0.1 with its state under ``<home>/chain/``, started when first needed."""

    development = True
    chain_id = DEV_CHAIN_ID
    network_name = "local anvil (development, chain id 31337)"
    funding_wei = 1000 * 10**18
    """What :meth:`fund` tops an account up to: gas for many thousands of anchors."""

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
        self.submitter_key_path = self.directory / "submitter.key"
        self._binary = binary
        self._start_timeout_s = start_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._state_interval_s = state_interval_s
        self._children = _CHILDREN
        self._state = StateFiles(self.state_path, self.good_state_path)

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
            self._state.keep_good_copy()

    def submitter_key(self) -> str:
        """This home's own private key for deploying and anchoring, made on first use.

        Kept only in :attr:`submitter_key_path` (mode 0600): it is never logged and
        never passed to the node, which receives signed transactions only.
        """
        return load_or_create(self.submitter_key_path)

    def fund(self, address: str) -> None:
        """Give ``address`` ether for gas on the running node when it has less than half
        of :attr:`funding_wei` (``anvil_setBalance``: the chain's ether is play money)."""
        record = NodeRecord.load(self.record_path)
        if record is None or record.pid is None:
            raise AnchorError("anchor: the local chain is not running: nothing to fund")
        balance = int(str(rpc_call(record.rpc_url, "eth_getBalance", [address, "latest"])), 16)
        if balance < self.funding_wei // 2:
            rpc_call(record.rpc_url, "anvil_setBalance", [address, hex(self.funding_wei)])

    def wait_persisted(self, block_number: int, timeout_s: float = 10.0) -> None:
        """Return once the state file on disk holds ``block_number``.

        After this, a SIGKILL of the node (or of the machine's processes) no longer
        loses that block: the next start loads it from the file or its verified copy.
        Raises :class:`AnchorError` if the block is not on disk within ``timeout_s``.
        """
        dumped = self._dump_over_rpc()
        if dumped is not None and (read_state_block(dumped) or -1) >= block_number:
            # The node's own dump, taken now, holds the block: kept as the verified
            # copy, it survives a SIGKILL before anvil's next periodic write (start-up
            # prefers the newer of the two), so there is no need to wait for that write.
            self._state.save_good_copy(dumped)
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
                    last_seen = read_state_block(raw)
                    if last_seen is not None and last_seen >= block_number:
                        self._state.save_good_copy(raw)
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
        state = process_state(pid)
        if state is None or state in ("Z", "X"):
            if child is not None:
                # A killed multi-threaded anvil shows as a zombie before its last
                # thread is gone and waitpid can collect it: reap it, briefly.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=2.0)
                    self._children.pop(pid, None)
            return False
        # A recycled PID must never be signalled: only an anvil on our state file is ours.
        return str(self.state_path) in cmdline(pid)

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
        self._state.prepare()
        ports: list[int] = []
        if previous_port is not None and port_is_free(previous_port):
            ports.append(previous_port)
        # A second ephemeral try covers the race where someone grabs the port between
        # our probe and anvil's bind.
        ports += [ephemeral_port(), ephemeral_port()]
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
            if process_state(pid) in (None, "Z", "X"):
                return True
            time.sleep(_POLL_S)
        return False

    def _dump_over_rpc(self) -> bytes | None:
        """The running node's complete state (``anvil_dumpState``), or None."""
        record = NodeRecord.load(self.record_path)
        return None if record is None else dump_state(record.rpc_url)
