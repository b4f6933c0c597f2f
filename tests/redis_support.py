"""A real Redis and real Celery worker processes for the worker tests, on loopback.

Each is started by a fixture with its data in a temporary directory and stopped
afterwards (SIGTERM, then SIGKILL of its whole process group).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import REPO, require_tool


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: object, timeout_s: float, what: str, every_s: float = 0.1) -> None:
    """Poll ``condition()`` until true; AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _stop(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


class RedisServer:
    """``redis-server`` on 127.0.0.1 with no persistence: a restart loses every message."""

    def __init__(self, workdir: Path) -> None:
        self.binary = require_tool("redis-server")
        self.workdir = workdir
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
            ],
            stdout=(self.workdir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_for(self.ping, 10, "redis-server to answer")
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self._process is not None:
            _stop(self._process)
            self._process = None

    def restart(self) -> None:
        """Stop and start again on the same port: every queued message is gone."""
        self.stop()
        self.start()


class CeleryWorker:
    """``celery -A evidence.worker.app worker`` for one data directory, as a subprocess."""

    def __init__(
        self,
        home: Path,
        broker_url: str,
        *,
        name: str = "w1",
        pool: str = "prefork",
        beat: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.home = home
        self.name = name
        self.log = home / f"worker-{name}.log"
        self.args = [
            sys.executable, "-m", "celery", "-A", "evidence.worker.app", "worker",
            f"--pool={pool}", "-c", "1", "-n", f"{name}@%h", "--loglevel=INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if beat:
            self.args += ["--beat", "--schedule", str(home / f"beat-{name}")]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("EVIDENCE_")},
            "EVIDENCE_HOME": str(home),
            "EVIDENCE_BROKER_URL": broker_url,
            "EVIDENCE_ALLOW_PRIVATE_TARGETS": "1",
            **(env or {}),
        }
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> CeleryWorker:
        self._process = subprocess.Popen(
            self.args,
            cwd=REPO,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: b"ready." in self.log.read_bytes(), 60, f"worker {self.name} ready")
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def pool_children(self) -> list[int]:
        """The worker's pool processes (prefork): the ones that run tasks."""
        children: list[int] = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            text = (task / "children").read_text().split()
            children += [int(pid) for pid in text]
        return children

    def stop(self) -> None:
        if self._process is not None:
            _stop(self._process, grace_s=15)
            self._process = None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")
