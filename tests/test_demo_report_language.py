"""The real ``evidence demo`` item report is Chinese in Chinese and English in English.

tests/test_report_language.py holds the rules for a hand-built report; here they
are applied to the report a fresh data directory's ``evidence demo`` writes
(real Chromium, development TSA, anvil), read back from the bundle with
pdftotext. What the report cannot translate is the captured and recorded data:
every value of the bundle's manifest, anchor and time-stamp records, bundle
index, environment record, custody log and signers list is taken out first.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from reports.bundle import layout as bf
from tests.cli_support import stop_local_chain
from tests.conftest import REPO, require, require_tool
from tests.test_report_language import _CJK, _english_words
from tests.test_report_pdf import pdf_text

pytestmark = pytest.mark.slow

DEMO_WORDS = frozenset({"anvil"})
"""Foundry's local chain node, named as the product it is (本机 anvil 节点); every other
word must be in tests/test_report_language.py's allow-list (which _english_words applies)."""
_RECORDS = (bf.MANIFEST, bf.ANCHOR_JSON, bf.TIMESTAMP_JSON, bf.INDEX, "artifacts/environment.json")


def _values(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield str(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item)


def _data_of(bundle: zipfile.ZipFile) -> set[str]:
    """Every recorded value the report may show as it is."""
    names = set(bundle.namelist())
    found: set[str] = set()
    for name in _RECORDS:
        if name in names:
            found.update(_values(json.loads(bundle.read(name))))
    if bf.CUSTODY_LOG in names:
        for line in bundle.read(bf.CUSTODY_LOG).decode().splitlines():
            found.update(_values(json.loads(line)))
    for line in bundle.read(bf.SIGNERS).decode().splitlines():
        for separator in (": ", "="):
            if separator in line:
                found.add(line.split(separator, 1)[1].strip())
    return found


def _without(text: str, values: set[str]) -> str:
    """As tests/test_report_language.py takes data out: whole values, wherever wrapped."""
    for value in sorted(values, key=len, reverse=True):
        chars = [re.escape(c) for c in value if not c.isspace()]
        if len(chars) >= 2:
            pattern = r"(?<![A-Za-z0-9])" + r"\s*".join(chars) + r"(?![A-Za-z0-9])"
            text = re.sub(pattern, " ", text)
    return text


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The text of the demo item report in each language, data taken out."""
    require(Path("/usr/bin/chromium").exists(), "Debian chromium is not installed")
    for tool in ("anvil", "openssl", "pdftotext"):
        require_tool(tool)
    texts: dict[str, str] = {}
    homes = []
    try:
        for language in ("zh", "en"):
            home = tmp_path_factory.mktemp(f"demo-home-{language}")
            homes.append(home)
            out = tmp_path_factory.mktemp(f"demo-out-{language}")
            args = [str(REPO / ".venv/bin/evidence"), "demo", "--out", str(out)]
            args += ["--lang", "en"] if language == "en" else []
            env = {**os.environ, "EVIDENCE_HOME": str(home)}
            for variable in ("EVIDENCE_RPC_URL", "EVIDENCE_TSA_URL", "EVIDENCE_DATA_DIR"):
                env.pop(variable, None)
            done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, done.stdout + done.stderr
            [bundle_path] = out.glob("*.zip")
            with zipfile.ZipFile(bundle_path) as bundle:
                pdf = out / "report-from-bundle.pdf"
                pdf.write_bytes(bundle.read(bf.REPORT))
                texts[language] = _without(pdf_text(pdf), _data_of(bundle))
        yield texts
    finally:
        for home in homes:
            stop_local_chain(home)


def test_the_chinese_demo_report_has_no_english_words(demo_reports: dict[str, str]) -> None:
    text = demo_reports["zh"]
    assert _CJK.search(text), "the Chinese report has no Chinese at all"
    words = [w for w in _english_words(text) if w not in DEMO_WORDS]
    assert words == [], f"English in the Chinese demo report: {sorted(set(words))}"


def test_the_english_demo_report_has_no_chinese(demo_reports: dict[str, str]) -> None:
    text = demo_reports["en"]
    assert "Evidence" in text or "evidence" in text
    chinese = [line for line in text.splitlines() if _CJK.search(line)]
    assert chinese == [], f"Chinese in the English demo report: {chinese}"


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", "张三 (enforcement ID 11010001)"), ("zh", "张三（执法证号 11010001）")],
)
def test_the_case_officer_list_is_said_in_the_report_language(
    tmp_path: Path, language: str, shown: str
) -> None:
    # The case record names each officer put on the case as "张三 (执法证号 …)": the
    # toolkit's words, said in the report's language (front table and signature lines).
    from dataclasses import replace

    from reports.pdf import render_report
    from tests.test_report_pdf import make_input

    require_tool("pdftotext")
    data = make_input(tmp_path, language=language)
    data = replace(data, officers=("张三 (执法证号 11010001)", "typed by hand"))
    text = re.sub(r"\s+", " ", pdf_text(render_report(data, tmp_path / "r.pdf")))
    assert text.count(shown) == 2, text  # the officers row and the first signature line
    assert "typed by hand" in text
    if language == "en":
        assert "张三 (执法证号" not in text
