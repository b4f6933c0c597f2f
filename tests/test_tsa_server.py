"""The toolkit's own TSA server (development TSA, ``evidence tsa serve``) under abuse.

A slow-loris client must not hold more than a bounded number of threads, nor
any connection for longer than a bounded time; ``openssl ts -reply`` must not
inherit the caller's secrets.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from anchoring import _tsa_http
from anchoring.devtsa import DevelopmentTSA
from anchoring.tsa import request_timestamp

SECRET = "planted-secret-7d1f0c"


@pytest.fixture
def small_tsa(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DevelopmentTSA]:
    monkeypatch.setattr(_tsa_http, "MAX_CONNECTIONS", 4)
    monkeypatch.setattr(_tsa_http, "MAX_CONNECTION_S", 1.5)
    with DevelopmentTSA(tmp_path / "tsa") as tsa:
        yield tsa


def _address(tsa: DevelopmentTSA) -> tuple[str, int]:
    parts = urlsplit(tsa.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _loris(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=5)
    sock.sendall(b"POST /tsr HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
    return sock


def _handler_threads() -> int:
    # ThreadingHTTPServer names its per-connection threads after the handler.
    return sum(1 for t in threading.enumerate() if "process_request_thread" in t.name)


def test_connections_beyond_the_cap_are_refused_at_once(small_tsa: DevelopmentTSA) -> None:
    address = _address(small_tsa)
    held = [_loris(address) for _ in range(4)]
    time.sleep(0.3)
    try:
        extra = [_loris(address) for _ in range(6)]
        for sock in extra:
            answer = sock.recv(200)
            assert answer.startswith(b"HTTP/1.1 503"), answer
            sock.close()
        assert _handler_threads() <= 4
    finally:
        for sock in held:
            sock.close()


def test_a_trickling_connection_is_cut_at_the_deadline(small_tsa: DevelopmentTSA) -> None:
    sock = _loris(_address(small_tsa))
    start = time.monotonic()
    try:
        # Trickle one header byte at a time; the per-read timeout never fires.
        while time.monotonic() - start < 10:
            try:
                sock.sendall(b"X")
                if sock.recv(1, socket.MSG_DONTWAIT) == b"":
                    break
            except BlockingIOError:
                pass
            except OSError:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - start
    finally:
        sock.close()
    assert elapsed < 4.0, f"connection held for {elapsed:.1f} s"


def test_after_the_lorises_are_cut_a_real_query_is_answered(small_tsa: DevelopmentTSA) -> None:
    address = _address(small_tsa)
    lorises = [_loris(address) for _ in range(4)]
    time.sleep(2.5)  # past MAX_CONNECTION_S: every slot freed by the deadline
    try:
        token = request_timestamp(hashlib.sha256(b"x").digest(), small_tsa.config())
        assert token.serial_number > 0
    finally:
        for sock in lorises:
            sock.close()


def test_openssl_gets_an_allow_listed_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.popen("command -v openssl").read().strip()
    assert real, "openssl is required"
    shim = tmp_path / "bin"
    shim.mkdir()
    dump = tmp_path / "openssl-env.txt"
    wrapper = shim / "openssl"
    wrapper.write_text(f'#!/bin/sh\nenv > "{dump}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim}:{os.environ['PATH']}")
    monkeypatch.setenv("EVIDENCE_OFFICER_PASSPHRASE", SECRET)
    monkeypatch.setenv("EVIDENCE_CHAIN_PRIVATE_KEY", SECRET)
    with DevelopmentTSA(tmp_path / "tsa") as tsa:
        request_timestamp(hashlib.sha256(b"y").digest(), tsa.config())
    seen = dump.read_text()
    assert "PATH=" in seen
    assert SECRET not in seen
    assert "EVIDENCE_" not in seen
