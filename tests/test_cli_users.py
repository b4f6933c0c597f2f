"""``evidence user`` in both languages: prompts and results through the catalogue."""

from __future__ import annotations

from pathlib import Path

from tests.cli_support import CHINESE, ENGLISH, run, succeeded

PASSWORD = "correct-horse-battery"


def test_user_commands_speak_the_locale(tmp_path: Path) -> None:
    env = {"EVIDENCE_USER_PASSWORD": PASSWORD}
    succeeded(run(tmp_path, "user", "add", "bob", "--role", "supervisor", "--agency", "东城局",
                  env=env))  # fmt: skip
    succeeded(run(tmp_path, "user", "add", "cms", "--role", "case_system", "--agency", "东城局",
                  "--no-password"))  # fmt: skip
    assert (
        "密码已更改"
        in succeeded(run(tmp_path, "user", "passwd", "bob", lang=CHINESE, env=env)).output
    )
    assert (
        "password of bob changed"
        in succeeded(run(tmp_path, "user", "passwd", "bob", env=env)).output
    )
    issued = succeeded(run(tmp_path, "user", "token", "issue", "cms", "--token-name", "t1",
                           lang=CHINESE))  # fmt: skip
    assert "令牌 ID：" in issued.output and "仅显示这一次" in issued.output
    token_id = issued.output.split("令牌 ID：", 1)[1].split()[0]
    revoked = succeeded(run(tmp_path, "user", "token", "revoke", token_id, lang=CHINESE))
    assert f"令牌 {token_id} 已吊销" in revoked.output
    english = succeeded(run(tmp_path, "user", "token", "issue", "cms", "--token-name", "t2",
                            lang=ENGLISH))  # fmt: skip
    assert "token id: " in english.output and "shown once" in english.output


def test_the_password_prompt_is_translated_and_hidden(tmp_path: Path) -> None:
    typed = f"{PASSWORD}\n{PASSWORD}\n"
    result = run(tmp_path, "user", "add", "eve", "--role", "expert", "--agency", "东城局",
                 lang=CHINESE, input=typed)  # fmt: skip
    succeeded(result)
    assert "密码" in result.output and "再次输入密码" in result.output
    assert PASSWORD not in result.output
