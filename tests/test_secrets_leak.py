"""No secret outlives its use: nothing the toolkit starts or writes holds a passphrase or key.

Unique secrets are planted in every variable that can carry one (officer and
expert passphrases, the chain keystore password and a raw chain key, the TSA
key password, credentials in the RPC and TSA URLs). The real command line then
runs the whole path as separate processes against a real anvil (which ignores
the URL credentials) and a real ``evidence tsa serve`` with an encrypted key.
While the commands run, every process on the machine but the commands
themselves is read from /proc (environment and command line); shims on PATH
record the environment of the short-lived openssl and ffmpeg children.
Afterwards every file of the data and output directories (PDFs decompressed
and as text, zips and gzip members opened) and every line the commands
printed is searched for each secret, raw, URL-encoded and as UTF-16.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from anchoring.devtsa import DEVELOPMENT_POLICY_OID, DevelopmentTSA
from evidence.model.redaction import REDACTED, redact_target, url_secrets
from evidence.model.secrets import MaskingFormatter, mask, secret, withdrawn_secrets
from tests.conftest import REPO, require, require_tool
from tests.leak_watch import ProcessWatch, files_under, leaks_in, read_proc, recording_shims

CASE = "案-SECRETS-1"
OFFICER = "S-0001"


def _planted(label: str) -> str:
    return f"planted{label}{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Planted:
    """The secrets of one run; each appears nowhere but in the commands' own environment."""

    officer: str = field(default_factory=lambda: _planted("!officer-"))
    expert: str = field(default_factory=lambda: _planted("!expert-"))
    keystore_password: str = field(default_factory=lambda: _planted("!keystore-"))
    tsa_key_password: str = field(default_factory=lambda: _planted("!tsakey-"))
    rpc_password: str = field(default_factory=lambda: _planted("rpcpw"))
    rpc_apikey: str = field(default_factory=lambda: _planted("rpckey"))
    tsa_password: str = field(default_factory=lambda: _planted("tsapw"))
    tsa_apikey: str = field(default_factory=lambda: _planted("tsakey"))
    chain_key: str = field(default_factory=lambda: "0x" + secrets.token_hex(32))
    """EVIDENCE_CHAIN_PRIVATE_KEY: set, though the keystore takes precedence."""
    keystore_key: str = field(default_factory=lambda: "0x" + secrets.token_hex(32))
    """The submitter key inside the keystore: never in the environment, never written."""

    def values(self) -> list[str]:
        return [str(getattr(self, name)) for name in self.__dataclass_fields__]

    def forms(self) -> dict[bytes, str]:
        """Every byte form a secret could take in a file or output, named by its secret."""
        found: dict[bytes, str] = {}
        for value in self.values():
            for form in (value, quote(value, safe=""), quote(value.removeprefix("0x"))):
                found[form.encode()] = value
                found[form.encode("utf-16-be")] = value
        for user, password in (("rpcuser", self.rpc_password), ("tsauser", self.tsa_password)):
            found[base64.b64encode(f"{user}:{password}".encode())] = password
        return found


# --- the services the commands use ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        assert process.poll() is None, f"{what} exited with {process.returncode}"
        time.sleep(0.1)
    raise AssertionError(f"{what} did not listen on port {port}")


def _rpc(url: str, method: str, params: list[object]) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.load(response)
    assert "error" not in answer, answer
    return answer["result"]


@contextlib.contextmanager
def _anvil(funded: str) -> Iterator[int]:
    """A fresh anvil of the test's own (not the toolkit's), ``funded`` given 100 ETH."""
    from anchoring.anvil import find_anvil
    from evidence.model.errors import ConfigurationError

    try:
        binary = find_anvil()
    except ConfigurationError as exc:
        require(False, f"anvil is not available: {exc}")
        raise
    port = _free_port()
    command = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--quiet"]
    node = subprocess.Popen(command, env={"PATH": os.environ["PATH"]}, stdout=subprocess.DEVNULL)
    try:
        _wait_for_port(port, node, "anvil")
        _rpc(f"http://127.0.0.1:{port}/", "anvil_setBalance", [funded, hex(10**20)])
        yield port
    finally:
        node.terminate()
        node.wait(timeout=10)


def _encrypted_pem(key: object, password: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode()),
    )


def _expertfiles_under(directory: Path, passphrase: str) -> tuple[Path, Path]:
    """A judicial expert's encrypted key and self-signed certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "钱鉴定")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "expert.key", directory / "expert.pem"
    key_path.write_bytes(_encrypted_pem(key, passphrase))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _keystore(path: Path, planted: Planted) -> str:
    """The submitter's V3 keystore (cheap KDF: a test); its address."""
    from eth_account import Account

    account = Account.from_key(planted.keystore_key)
    encrypted = Account.encrypt(account.key, planted.keystore_password, kdf="pbkdf2", iterations=2)
    path.write_text(json.dumps(encrypted))
    return str(account.address)


# --- the run -------------------------------------------------------------------


@dataclass
class Run:
    """The commands' shared environment, and everything they printed."""

    env: dict[str, str]
    watch: ProcessWatch
    printed: list[tuple[str, bytes]] = field(default_factory=list)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        # -vv: debug logging is output too, and libraries log URLs at that level.
        argv = [sys.executable, "-m", "cli", "-vv", *args]
        self.watch.expect(argv)
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.watch.command(process)
        return process

    def __call__(self, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[str, set[str]]:
        """Run one command to its end; its standard output and what ran under it."""
        started = time.monotonic()
        process = self.start(*args)
        out, err = process.communicate(timeout=180)
        print(f"{args[:2]}: {time.monotonic() - started:.1f} s")
        self.printed.append((" ".join(args[:2]), out + err))
        assert process.returncode in ok, f"{args}: exit {process.returncode}\n{err.decode()}"
        return out.decode(), self.watch.seen[process.pid]


def _environment(home: Path, path: str, planted: Planted, ports: dict[str, int]) -> dict[str, str]:
    pki = DevelopmentTSA(home.parent / "pki").paths
    ours = {
        "PATH": path,
        "LANG": "C.UTF-8",
        "EVIDENCE_HOME": str(home),
        "EVIDENCE_ALLOW_PRIVATE_TARGETS": "1",
        "EVIDENCE_OFFICER_PASSPHRASE": planted.officer,
        "EVIDENCE_EXPERT_KEY_PASSPHRASE": planted.expert,
        "EVIDENCE_TSA_KEY_PASSWORD": planted.tsa_key_password,
        "EVIDENCE_CHAIN_KEYSTORE": str(home.parent / "keys" / "submitter.json"),
        "EVIDENCE_CHAIN_KEYSTORE_PASSWORD": planted.keystore_password,
        "EVIDENCE_CHAIN_PRIVATE_KEY": planted.chain_key,
        "EVIDENCE_RPC_URL": (
            f"http://rpcuser:{planted.rpc_password}@127.0.0.1:{ports['rpc']}/"
            f"?apikey={planted.rpc_apikey}"
        ),
        "EVIDENCE_TSA_URL": (
            f"http://tsauser:{planted.tsa_password}@127.0.0.1:{ports['tsa']}/tsr"
            f"?apikey={planted.tsa_apikey}"
        ),
        "EVIDENCE_TSA_ROOTS": str(pki.ca_certificate),
    }
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("EVIDENCE_")}
    return {**inherited, **ours}


@contextlib.contextmanager
def _agency_tsa(run: Run, home: Path, planted: Planted, port: int) -> Iterator[None]:
    """``evidence tsa serve`` with an encrypted key (the development PKI stands in)."""
    from cryptography.hazmat.primitives import serialization

    pki = DevelopmentTSA(home.parent / "pki").paths
    key = serialization.load_pem_private_key(pki.tsa_key.read_bytes(), password=None)
    encrypted = home.parent / "keys" / "tsa.key"
    encrypted.write_bytes(_encrypted_pem(key, planted.tsa_key_password))
    args = ("--cert", str(pki.tsa_certificate), "--key", str(encrypted), "--port", str(port))
    server = run.start("tsa", "serve", *args, "--policy", DEVELOPMENT_POLICY_OID)
    try:
        _wait_for_port(port, server, "evidence tsa serve")
        yield
    finally:
        server.send_signal(2)  # SIGINT: the normal way to stop it
        out, err = server.communicate(timeout=20)
        run.printed.append(("tsa serve", out + err))


def _the_whole_path(run: Run, site_url: str, keys: Path, out: Path) -> dict[str, set[str]]:
    """officer, case, capture, sign, complete, report, export, verify; what ran under each."""
    seen: dict[str, set[str]] = {}
    run("chain", "deploy")
    run("officer", "add", "孙八", "--id", OFFICER)
    run("case", "create", CASE, "--title", "密钥不外泄")
    run("officer", "assign", CASE, OFFICER)
    captured, seen["capture"] = run(
        "capture", CASE, site_url, "--no-complete", "--json", "--officer", OFFICER
    )
    item_id = json.loads(captured)["item"]["id"]
    run("sign", item_id, "--officer", OFFICER)
    completed, _ = run("complete", item_id, "--json", "--officer", OFFICER)
    assert '"anchored"' in completed, completed
    run("report", item_id, "--out", str(out / "report.pdf"), "--sign", OFFICER)
    run("export", item_id, "--out", str(out / "bundle.zip"), "--sign", OFFICER, "--reason", "测试")
    run("chain", "status", "--json")
    key, cert = _expertfiles_under(keys, run.env["EVIDENCE_EXPERT_KEY_PASSPHRASE"])
    verify = ("verify", str(out / "bundle.zip"), "--report", str(out / "opinion.pdf"))
    signing = ("--sign-key", str(key), "--sign-cert", str(cert), "--tsa-url", "configured")
    # 0 or 2 (a root the bundle brings is not trusted): either way the report is written.
    _, seen["verify"] = run(*verify, *signing, ok=(0, 2))
    assert (out / "opinion.pdf").is_file()
    return seen


# --- the tests -------------------------------------------------------------------


@pytest.mark.slow
def test_no_secret_reaches_a_child_a_file_or_the_output(tmp_path: Path) -> None:
    require_tool("openssl")
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler) is not installed")
    from evidence.services.demo_site import DemoSite

    planted = Planted()
    home, out, keys = tmp_path / "home", tmp_path / "out", tmp_path / "keys"
    for directory in (home, out, keys):
        directory.mkdir()
    shim_log = tmp_path / "children.env"
    path = recording_shims(tmp_path / "shims", shim_log)
    submitter = _keystore(keys / "submitter.json", planted)
    forms = planted.forms()
    ports = {"tsa": _free_port()}
    with _anvil(submitter) as ports["rpc"], DemoSite() as site, ProcessWatch(forms) as watch:
        run = Run(_environment(home, path, planted, ports), watch)
        with _agency_tsa(run, home, planted, ports["tsa"]):
            seen = _the_whole_path(run, site.url, keys, out)
        watch.scan()
    assert not watch.leaks, "\n".join(watch.leaks)
    # The watch did see the long-lived children it is there for.
    assert any(name.startswith("node") for name in seen["capture"]), seen["capture"]
    assert any("chrom" in name for name in seen["capture"]), seen["capture"]
    assert any("chrom" in name for name in seen["verify"]), seen["verify"]
    children = shim_log.read_bytes()
    assert b"== openssl ts -reply" in children and b"== ffmpeg " in children
    assert [value for form, value in forms.items() if form in children] == []
    written = leaks_in(files_under(home, out), forms)
    assert written == [], "\n".join(written)
    printed = leaks_in(iter(run.printed), forms)
    assert printed == [], "\n".join(printed)
    # Debug logging did quote the credentialed URLs, masked.
    assert any(b"URI: http://REDACTED:REDACTED@127.0.0.1" in out for _, out in run.printed)


def test_playwrights_driver_gets_an_allow_listed_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second fence: a library caller's secrets stay out of the Node.js driver too.

    Fails when a Playwright upgrade moves the function the allow-list wraps.
    """
    from capture._driver import driver

    planted = _planted("driver")
    monkeypatch.setenv("EVIDENCE_OFFICER_PASSPHRASE", planted)
    monkeypatch.setenv("SOME_PROVIDER_TOKEN", planted)
    before = _children()
    with driver():
        nodes = [
            p
            for p in _children() - before
            if read_proc(Path(f"/proc/{p}/comm")).startswith(b"node")
        ]
        assert len(nodes) == 1, nodes
        environ = read_proc(Path(f"/proc/{nodes[0]}/environ"))
    assert planted.encode() not in environ
    assert b"PW_LANG_NAME=python" in environ.split(b"\0")
    assert any(entry.startswith(b"PATH=") for entry in environ.split(b"\0"))


def _children() -> set[int]:
    found: set[int] = set()
    for tasks in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        found.update(int(pid) for pid in read_proc(tasks).split())
    return found


def test_the_command_line_withdraws_secrets_and_forgets_them() -> None:
    environ = {
        "EVIDENCE_OFFICER_PASSPHRASE": "p1",
        "EVIDENCE_RPC_URL": "http://u:p@127.0.0.1:1/",
        "EVIDENCE_HOME": "/tmp/x",
    }
    with withdrawn_secrets(environ):
        assert environ == {"EVIDENCE_HOME": "/tmp/x"}
        assert secret("EVIDENCE_OFFICER_PASSPHRASE") == "p1"
        assert secret("EVIDENCE_RPC_URL") == "http://u:p@127.0.0.1:1/"
    assert environ == {"EVIDENCE_HOME": "/tmp/x"}  # not put back
    assert secret("EVIDENCE_OFFICER_PASSPHRASE") is None


def test_settings_read_withdrawn_secrets_and_never_show_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from evidence.model.config import Settings

    key = "0x" + secrets.token_hex(32)
    monkeypatch.setenv("EVIDENCE_CHAIN_PRIVATE_KEY", key)
    monkeypatch.setenv("EVIDENCE_RPC_URL", "http://u:rpcsecret@127.0.0.1:1/")
    library = Settings.from_env(tmp_path)  # a library caller: straight from the environment
    assert library.chain_private_key == key
    with withdrawn_secrets():
        assert "EVIDENCE_CHAIN_PRIVATE_KEY" not in os.environ
        command = Settings.from_env(tmp_path)
    assert command.chain_private_key == key
    assert command.rpc_url == "http://u:rpcsecret@127.0.0.1:1/"
    assert key not in repr(command) and "rpcsecret" not in repr(command)


def test_an_agency_tsa_key_with_the_wrong_password_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization

    from anchoring.devtsa import AgencyTSA
    from evidence.model.errors import ConfigurationError

    require_tool("openssl")
    pki = DevelopmentTSA(tmp_path / "pki").paths
    key = serialization.load_pem_private_key(pki.tsa_key.read_bytes(), password=None)
    encrypted = tmp_path / "tsa.key"
    encrypted.write_bytes(_encrypted_pem(key, "right"))
    monkeypatch.setenv("EVIDENCE_TSA_KEY_PASSWORD", "wrong")
    with pytest.raises(ConfigurationError, match="cannot load the key"):
        AgencyTSA(
            tmp_path / "state",
            certificate=pki.tsa_certificate,
            key=encrypted,
            policy_oid=DEVELOPMENT_POLICY_OID,
        )


def test_logs_and_request_lines_are_masked() -> None:
    import logging

    url = "https://rpcuser:pa%2Fss@rpc.example/v3/0123456789abcdefABCDEF0123?apikey=k3y-value&x=1"
    assert url_secrets(url) == sorted(
        {"rpcuser", "pa%2Fss", "pa/ss", "k3y-value", "0123456789abcdefABCDEF0123"}
    )
    assert redact_target("/tsr?apikey=k3y-value&x=1") == "/tsr?apikey=REDACTED&x=1"
    with withdrawn_secrets({"EVIDENCE_RPC_URL": url, "EVIDENCE_OFFICER_PASSPHRASE": "pass!phrase"}):
        line = f"URI: {url}; typed pass!phrase, pass%21phrase; the rest stays"
        assert mask(line) == (
            "URI: https://REDACTED:REDACTED@rpc.example/v3/REDACTED?apikey=REDACTED&x=1; "
            "typed REDACTED, REDACTED; the rest stays"
        )
        try:
            raise ValueError(f"could not reach {url}")
        except ValueError:
            record = logging.LogRecord(
                "t", logging.ERROR, __file__, 1, "%s", (url,), sys.exc_info()
            )
        shown = MaskingFormatter("%(message)s").format(record)
    assert "k3y-value" not in shown and "pa%2Fss" not in shown and "rpcuser" not in shown
    assert shown.count(REDACTED) >= 6  # the message and the traceback's last line
    assert mask("pass!phrase") == "pass!phrase"  # forgotten when the command ends
