"""The verification report speaks the reader's language, on real bundles.

A real ``evidence demo`` bundle and a copy with one exhibit byte changed are
verified from the command line with ``--report`` in Chinese and in English.
What the report cannot translate is data (paths, digests, names, times, the
bundle's own words) or a product or standard name; a reason the verifier
wrote as free text is shown as recorded and marked （原文）, never dropped.
"""

from __future__ import annotations

import json
import os
import re
import string
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidence.model import i18n
from evidence.model.verification_messages import CHECK_LABELS
from evidence.model.verification_reasons import TEMPLATES
from evidence.verification.ids import CheckId
from tests.test_report_language import ALLOWED
from tests.test_report_pdf import needs_poppler, pdf_text, poppler  # noqa: F401 (a fixture)

EVIDENCE = [sys.executable, "-c", "import cli; cli.main()"]
# Words of the verification report's own prose that name a standard, a tool or a field.
VERIFY_ALLOWED = ALLOWED | {
    "WACZ",
    "PKI",
    "XMP",
    "JPEG",
    "ffmpeg",
    "sha256sum",
    "seq",
    "event_hash",
    "prev_hash",
    "uid",
    "started_at",
    "finished_at",
    "Block",
    "Digest",
    "Target",
    "Record",
    "PAdES",
    "SHA256SUMS",
    "SM3SUMS",
    "docs",
}
_WORD = re.compile(r"[A-Za-z][A-Za-z]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_TECHNICAL = re.compile(r"\S*[0-9./:_=@#<>\[\]{}\\|~$%&?+-]\S*")
AS_RECORDED = "（原文）"
_SIGNER = re.compile(
    r"^(.*) \((?:enforcement ID ([^,]*), )?certificate SHA-256 ([0-9a-f]+)(?:, issued by (.*))?\)$"
)



def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_check_has_a_name_in_both_languages() -> None:
    zh = i18n.translation("zh")
    for check in CheckId:
        label = CHECK_LABELS[check.value]
        assert _CJK.search(zh.gettext(label)), check


def test_every_reason_has_chinese_with_the_same_placeholders() -> None:
    zh = i18n.translation("zh")
    for code, template in TEMPLATES.items():
        chinese = zh.gettext(template)
        assert _CJK.search(chinese), code
        assert _fields(chinese) == _fields(template), code


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EVIDENCE_HOME": str(home), "LANG": "C.UTF-8"}
    env.pop("LC_ALL", None)
    return subprocess.run(
        [*EVIDENCE, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _tampered(bundle: Path, out: Path) -> Path:
    """The bundle with one byte of its DOM copy changed."""
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(out, "w") as copy:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "artifacts/dom.html":
                data = bytes([data[0] ^ 0x01]) + data[1:]
            copy.writestr(info, data)
    return out


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, dict[str, Any]]]:
    """(report text, --json result) per bundle and language, from real runs."""
    base = tmp_path_factory.mktemp("verify-language")
    home = base / "home"
    demo = _run(home, "demo", "--out", str(base / "out"))
    assert demo.returncode == 0, demo.stderr[-2000:]
    bundle = next((base / "out").glob("*.zip"))
    bundles = {"good": bundle, "tampered": _tampered(bundle, base / "tampered.zip")}
    # The officers' names: the verifier's trust entries name every officer of this machine.
    officers = _run(home, "officer", "list").stdout
    out = {}
    for kind, path in bundles.items():
        result = _run(home, "verify", str(path), "--json")
        verdict = json.loads(result.stdout)
        verdict["manifest_text"] = zipfile.ZipFile(bundle).read("manifest.json").decode()
        verdict["officers"] = officers
        for language in ("zh", "en"):
            pdf = base / f"{kind}-{language}.pdf"
            ran = _run(home, "verify", str(path), "--report", str(pdf), "--lang", language)
            assert ran.returncode == verdict["exit_code"], ran.stderr[-2000:]
            out[f"{kind}-{language}"] = (pdf_text(pdf), verdict)
    return out


def _data(verdict: dict[str, Any]) -> list[str]:
    """What the report prints as it is: subjects, values, free-text reasons, the bundle."""
    values: list[str] = [verdict["bundle"], verdict["manifest_sha256"] or ""]
    for check in verdict["checks"]:
        values.append(check["subject"])
        if check["reasons"]:
            values += [v for reason in check["reasons"] for v in reason["values"].values()]
        else:
            values.append(check["detail"])
    values += re.findall(r'"([^"]*)"', verdict["manifest_text"])
    # A signer named in a reason is rendered in the reader's words; its parts are data.
    for value in list(values):
        signer = _SIGNER.match(value)
        if signer is not None:
            values += [part for part in signer.groups() if part]
    values += _CJK.findall(verdict["officers"])
    return [v for v in values if len(v.strip()) >= 2]


def _without(text: str, values: list[str]) -> str:
    """``text`` with each value taken out, wherever the table wrapped it."""
    for value in sorted(set(values), key=len, reverse=True):
        chars = [re.escape(c) for c in value if not c.isspace()]
        pattern = r"(?<![A-Za-z0-9])" + r"\s*".join(chars) + r"(?![A-Za-z0-9])"
        text = re.sub(pattern, " ", text)
    return text


def _english_words(text: str) -> list[str]:
    words = []
    for token in text.split():
        if _TECHNICAL.fullmatch(token) and re.search(r"[0-9./:_=@-]", token):
            continue
        words += [w for w in _WORD.findall(token) if w not in VERIFY_ALLOWED]
    return words


@needs_poppler
@pytest.mark.parametrize("kind", ["good", "tampered"])
def test_the_chinese_verification_report_has_no_english_prose(
    verified: dict[str, tuple[str, dict[str, Any]]], kind: str
) -> None:
    text, verdict = verified[f"{kind}-zh"]
    # Every check gives coded reasons: none is left to be shown as recorded English.
    uncoded = {c["check"] for c in verdict["checks"] if not c["reasons"]}
    assert uncoded == set(), uncoded
    # The checks of the signatures, the report PDF and the video are among them.
    checks = {c["check"] for c in verdict["checks"]}
    assert checks >= {"manifest.signature", "report.format", "report.signature", "video.frames"}
    words = _english_words(_without(text, _data(verdict)))
    assert words == [], f"English in the Chinese verification report: {sorted(set(words))}"
    assert "核验结论" in text and "退出码" in text and "(exit" not in text


@needs_poppler
@pytest.mark.parametrize("kind", ["good", "tampered"])
def test_the_english_verification_report_has_no_chinese(
    verified: dict[str, tuple[str, dict[str, Any]]], kind: str
) -> None:
    text, verdict = verified[f"{kind}-en"]
    leftover = _without(text, _data(verdict))
    chinese = [line for line in leftover.splitlines() if _CJK.search(line)]
    assert chinese == [], f"Chinese in the English verification report: {chinese}"
    assert AS_RECORDED not in text


@needs_poppler
def test_translation_never_hides_a_failure(
    verified: dict[str, tuple[str, dict[str, Any]]],
) -> None:
    zh, verdict = verified["tampered-zh"]
    en, _ = verified["tampered-en"]
    failures = [c for c in verdict["checks"] if c["verdict"] == "FAIL"]
    assert verdict["exit_code"] == 1 and failures
    assert {c["check"] for c in failures} >= {"artifact.digest", "checksums.sha256"}
    assert squeeze(zh).count("未通过") >= len(failures)
    assert squeeze(en).count("FAIL") >= len(failures)
    # The changed file and both its digests are named in the Chinese reason.
    digest = next(c for c in failures if c["check"] == "artifact.digest")
    assert digest["subject"] == "artifacts/dom.html"
    for reason in digest["reasons"]:
        values = reason["values"]
        assert squeeze(values["got"]) in squeeze(zh)
    assert "与清单所记" in squeeze(zh)


def squeeze(value: str) -> str:
    return re.sub(r"\s+", "", value)
