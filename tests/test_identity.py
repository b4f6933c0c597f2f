"""Identity and access: Argon2 hashes, tokens kept as digests, and the service's host rule."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from evidence.model.config import Settings
from evidence.model.errors import ConfigurationError, EvidenceError
from evidence.model.identity import AuthenticationError, LoginRateLimitedError, Role
from evidence.services.toolkit import Toolkit

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Toolkit]:
    with Toolkit(Settings.from_env(str(tmp_path))) as toolkit:
        yield toolkit


def test_passwords_are_argon2id_and_verify(kit: Toolkit) -> None:
    kit.identity.add_user("bob", Role.SUPERVISOR, "东城局", password=PASSWORD)
    with kit.engine.connect() as db:
        stored = db.execute(text("SELECT password_hash FROM serviceuser")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    session = kit.identity.authenticate("bob", PASSWORD, client="127.0.0.1")
    principal = kit.identity.resolve(session.token)
    assert (principal.role, principal.agency_name, principal.actor) == (
        Role.SUPERVISOR, "东城局", "user:bob",
    )  # fmt: skip
    with pytest.raises(AuthenticationError):
        kit.identity.authenticate("bob", "wrong-password!", client="127.0.0.1")


def test_a_new_password_ends_open_sessions(kit: Toolkit) -> None:
    kit.identity.add_user("bob", Role.SUPERVISOR, "东城局", password=PASSWORD)
    session = kit.identity.authenticate("bob", PASSWORD)
    kit.identity.set_password("bob", "another-long-password")
    with pytest.raises(AuthenticationError, match="revoked"):
        kit.identity.resolve(session.token)


def test_bad_input_is_refused_before_writing(kit: Toolkit) -> None:
    with pytest.raises(EvidenceError, match="at least"):
        kit.identity.add_user("bob", Role.OFFICER, "东城局", password="short")
    with pytest.raises(EvidenceError, match="unknown role"):
        kit.identity.add_user("bob", "janitor", "东城局", password=PASSWORD)
    with pytest.raises(EvidenceError, match="not a usable name"):
        kit.identity.add_user("bad name", Role.OFFICER, "东城局", password=PASSWORD)
    with pytest.raises(EvidenceError, match="no officer"):
        kit.identity.add_user("bob", Role.OFFICER, "东城局", enforcement_id="999")
    assert kit.identity.list_users() == []


def test_the_limiter_refuses_even_the_right_password(kit: Toolkit) -> None:
    kit.identity.add_user("bob", Role.SUPERVISOR, "东城局", password=PASSWORD)
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            kit.identity.authenticate("bob", "wrong-password!", client="10.0.0.9")
    with pytest.raises(LoginRateLimitedError):
        kit.identity.authenticate("bob", PASSWORD, client="10.0.0.9")
    kit.identity.authenticate("bob", PASSWORD, client="10.0.0.10")  # another address


def test_cli_token_is_printed_once_and_stored_as_a_digest(tmp_path: Path) -> None:
    env = {"EVIDENCE_HOME": str(tmp_path), "EVIDENCE_USER_PASSWORD": PASSWORD, "PATH": "/usr/bin"}
    run = [sys.executable, "-m", "cli"]
    add = subprocess.run([*run, "user", "add", "cms", "--role", "case_system", "--agency", "A局"],
                         cwd=ROOT, env=env, capture_output=True, text=True)  # fmt: skip
    assert add.returncode == 0, add.stderr
    issue = subprocess.run([*run, "user", "token", "issue", "cms", "--token-name", "cms-1"],
                           cwd=ROOT, env=env, capture_output=True, text=True)  # fmt: skip
    assert issue.returncode == 0, issue.stderr
    token = issue.stdout.splitlines()[1].strip()
    assert token.startswith("evd_")
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert token.encode() not in data and PASSWORD.encode() not in data


def test_the_api_refuses_a_public_address_without_a_proxy(tmp_path: Path) -> None:
    from evidence.api.server import check_host

    check_host("127.0.0.1", behind_proxy=False)
    check_host("::1", behind_proxy=False)
    check_host("0.0.0.0", behind_proxy=True)
    with pytest.raises(ConfigurationError, match="reverse proxy"):
        check_host("0.0.0.0", behind_proxy=False)
    result = subprocess.run(
        [sys.executable, "-m", "cli", "api", "--host", "0.0.0.0", "--port", "1"],
        cwd=ROOT, env={"EVIDENCE_HOME": str(tmp_path), "PATH": "/usr/bin"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1 and "reverse proxy" in result.stderr
