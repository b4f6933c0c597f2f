"""The library example in docs/library.md runs exactly as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO, require


@pytest.mark.slow
def test_the_documented_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    text = (REPO / "docs" / "library.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    exec(compile(code, "docs/library.md", "exec"), {"__name__": "docs_example"})
    out = capsys.readouterr().out.split()
    assert out[1:] == ["anchored", "0"]
