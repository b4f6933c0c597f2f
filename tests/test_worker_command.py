"""``evidence worker`` replaces itself with a Celery worker of this toolkit: that process
needs the secrets the command withdrew when it started (the S3 key, the database URL)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli_support import run


class _Exec(Exception):
    """Raised in place of os.execv, carrying what the new process image would get."""

    def __init__(self, args: list[str], environ: dict[str, str]) -> None:
        super().__init__("exec")
        self.args_seen = args
        self.environ = environ


def test_the_worker_gets_back_the_withdrawn_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_execv(_path: str, args: list[str]) -> None:
        raise _Exec(list(args), dict(os.environ))

    monkeypatch.setattr(os, "execv", fake_execv)
    secret_value = "s3-secret-for-the-worker"
    keys = {"AWS_ACCESS_KEY_ID": "evidence-worker", "AWS_SECRET_ACCESS_KEY": secret_value}
    result = run(tmp_path / "home", "worker", env=keys)
    assert isinstance(result.exception, _Exec), result.output
    seen = result.exception
    assert seen.environ.get("AWS_SECRET_ACCESS_KEY") == secret_value
    assert seen.environ["EVIDENCE_HOME"] == str(tmp_path / "home")
    assert seen.args_seen[1:5] == ["-m", "celery", "-A", "evidence.worker.app"]
    # The secret is on no command line and in no output.
    assert secret_value not in " ".join(seen.args_seen) and secret_value not in result.output
