"""The one message catalogue: what the code marks, what translators have, what ships.

The gettext catalogue (domain ``evidence``) under evidence/model/locale holds
every message of the CLI and the reports; msgids are the English source.
docs/translating.md has the translator's workflow these tests keep honest.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from evidence import ConfigurationError, language_from_environment, translation
from reports._i18n import text
from tests.cli_support import CHINESE, ENGLISH, one_line_error, run, succeeded
from tests.conftest import REPO

LOCALE_DIR = REPO / "evidence" / "model" / "locale"
LOCALES = ("zh_CN", "en")
SOURCES = ("cli.py", "evidence", "capture", "anchoring", "reports")
MARKERS = {"gettext": 1, "N_": 1, "pgettext": 2}
"""The marking functions and the argument holding the English source."""

Key = tuple[str | None, str]
"""(msgctxt, msgid)"""


def _po(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "evidence.po"


def _catalog(locale: str) -> Catalog:
    with _po(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def _keys(catalog: Catalog) -> set[Key]:
    return {(m.context, m.id) for m in catalog if m.id and isinstance(m.id, str)}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set[Key]:
    """What ``pybabel extract`` finds with the project's configuration (pyproject.toml)."""
    pot = tmp_path_factory.mktemp("pot") / "evidence.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-o", str(pot)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        return _keys(read_po(handle))


@pytest.mark.parametrize("locale", LOCALES)
def test_the_committed_mo_is_what_babel_compiles_from_the_po(locale: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(locale))
    committed = _po(locale).with_suffix(".mo").read_bytes()
    assert committed == compiled.getvalue(), f"run `pybabel compile` ({locale})"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_catalogue_has_exactly_the_messages_the_code_marks(
    locale: str, extracted: set[Key]
) -> None:
    have = _keys(_catalog(locale))
    assert not extracted - have, f"missing from {locale}: run `pybabel update`"
    assert not have - extracted, f"no longer used, still in {locale}: run `pybabel update`"


def _sources() -> Iterator[Path]:
    for name in SOURCES:
        path = REPO / name
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _marked(path: Path) -> Iterator[tuple[Key, int]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        arity = MARKERS.get(node.func.id)
        if arity is None or len(node.args) != arity:
            continue
        values = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        if all(isinstance(v, str) for v in values):
            key = (values[0], values[1]) if arity == 2 else (None, values[0])
            yield key, node.lineno  # type: ignore[misc]


def test_extraction_sees_every_marked_string(extracted: set[Key]) -> None:
    """Babel reads tokens: on Python 3.11 a call inside an f-string is invisible to it."""
    unseen = [
        f"{path.relative_to(REPO)}:{line}: {key[1]!r}"
        for path in _sources()
        for key, line in _marked(path)
        if key not in extracted
    ]
    assert not unseen, "marked but not extracted (move the call out of the f-string):\n" + (
        "\n".join(unseen)
    )


def _placeholders(message: str) -> set[str]:
    return set(re.findall(r"\{[a-z0-9_]*\}", message))


def test_every_chinese_entry_is_translated_and_keeps_its_placeholders() -> None:
    catalog = _catalog("zh_CN")
    assert not catalog.fuzzy
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if not message.string or message.fuzzy:
            problems.append(f"untranslated or fuzzy: {message.id!r}")
        elif _placeholders(str(message.id)) != _placeholders(str(message.string)):
            problems.append(f"placeholders differ: {message.id!r} -> {message.string!r}")
    assert not problems, "\n".join(problems)


def test_reports_read_their_strings_from_the_catalogue() -> None:
    assert text("zh", "title") == "网页电子证据固定报告"
    assert text("en", "title") == "Web Evidence Preservation Report"
    assert text("zh", "list_sep") == "、"
    assert text("zh", "sec_number", n="一", title="采集概况") == "一、采集概况"
    assert text("en", "sec_number", n=1, title="Capture summary") == "1. Capture summary"
    # One English string, two Chinese renderings: the CLI's label has a context.
    assert text("zh", "manifest_sha256") == "清单文件 SHA-256"
    assert translation("zh").pgettext("command line", "Manifest SHA-256") == "清单 SHA-256"


def test_unknown_language_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unsupported language 'fr'"):
        translation("fr")


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({}, "en"),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW"}, "zh"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_GB.UTF-8"}, "zh"),
    ],
)
def test_the_locale_picks_the_language(environ: dict[str, str], language: str) -> None:
    assert language_from_environment(environ) == language


def test_a_chinese_and_an_english_run_of_one_command(tmp_path: Path) -> None:
    zh = succeeded(run(tmp_path, "case", "create", "案-语言", "--title", "语言", lang=CHINESE))
    assert zh.stdout == "已创建案件: 案-语言 语言\n"
    en = succeeded(run(tmp_path, "case", "create", "案-LANG", "--title", "lang", lang=ENGLISH))
    assert en.stdout == "Case created: 案-LANG lang\n"
    zh_error = one_line_error(run(tmp_path, "items", "--case", "NONE", lang=CHINESE))
    en_error = one_line_error(run(tmp_path, "items", "--case", "NONE", lang=ENGLISH))
    assert zh_error.startswith("错误: ") and en_error.startswith("error: ")
    assert zh_error.removeprefix("错误: ") == en_error.removeprefix("error: ")
