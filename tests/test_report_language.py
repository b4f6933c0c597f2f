"""The Chinese report is Chinese, the English report English, and no word is cut by a table.

The text is what a reader's tools extract (poppler's ``pdftotext``). Words the
report cannot translate are data (the case's own strings, URLs, digests, IDs,
file names) or names of products and standards; everything else in the
Chinese report must be Chinese, and the English report must have no Chinese
beyond the captured data.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from capture import _environment as environment
from evidence.model.capture_options import CaptureOptions, EnvironmentOptions
from evidence.model.records import ExhibitRow, ReportInput
from reports.pdf import render_report
from tests.test_report_pdf import make_input, needs_poppler, pdf_text, poppler  # noqa: F401 (poppler: a fixture)

# Names of products, standards, protocols and units a Chinese reader sees untranslated.
ALLOWED = frozenset(
    {
        "SHA",
        "SM",
        "RFC",
        "WARC",
        "PDF",
        "PNG",
        "HTML",
        "DOM",
        "MHTML",
        "JSON",
        "HTTP",
        "HTTPS",
        "TLS",
        "DNS",
        "IP",
        "URL",
        "UA",
        "NTP",
        "TSA",
        "OID",
        "Chromium",
        "Python",
        "Linux",
        "OpenSSL",
        "coreutils",
        "curl",
        "cast",
        "Foundry",
        "QR",
        "PAdES",
        "JSON-RPC",
        "CA",
        "ID",
        "evidence",
        "toolkit",
        "genTime",
        "imprint",
        "nonce",
        "Merkle",
        "UTC",
        "GMT",
        "OK",
        "Verification",
        "Time",
        "stamp",
        "Serial",
        "number",
        "Unix",
        "ISO",
        "SAN",
        "openssl",
        "dgst",
        "ts",
        "call",
        "POST",
        "hosts",
        "trust",
        "manifest",
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "May",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
    }
)
"""Also the words of the shell commands and of their expected output the procedure prints
(``openssl ts``, ``cast call``, ``curl -X POST``, ``evidence trust``, ``Nov 26``)."""
_WORD = re.compile(r"[A-Za-z][A-Za-z]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A word inside one of these is part of an identifier, not prose.
_TECHNICAL = re.compile(r"\S*[0-9./:_=@#<>\[\]{}\\|~$%&?+-]\S*|\S*[A-Za-z]+\(\S*")


def _strings(value: object) -> Iterator[str]:
    """Every string a record holds, however deep."""
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _strings(getattr(value, item.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _strings(item)


def _without_data(text: str, data: ReportInput) -> str:
    """The report's text with the captured and entered data taken out, wherever a
    table wrapped it (a line break may fall anywhere inside a URL or a digest)."""
    for value in sorted(set(_strings(data)), key=len, reverse=True):
        chars = [re.escape(c) for c in value if not c.isspace()]
        if len(chars) >= 2:
            # Whole values only: "sha256" must not cut "sha256sum" into a word "sum".
            pattern = r"(?<![A-Za-z0-9])" + r"\s*".join(chars) + r"(?![A-Za-z0-9])"
            text = re.sub(pattern, " ", text)
    return text


def _english_words(text: str) -> list[str]:
    words = []
    for token in text.split():
        if _TECHNICAL.fullmatch(token) and re.search(r"[0-9./:_=@-]", token):
            continue
        words += [w for w in _WORD.findall(token) if w not in ALLOWED]
    return words


def _realistic(tmp_path: Path, language: str) -> ReportInput:
    """The report of a capture on this machine: real environment findings, real roles."""
    state = environment.check_host(
        "http://127.0.0.1/", CaptureOptions(environment=EnvironmentOptions(ntp_servers=()))
    )
    data = make_input(tmp_path, language=language, screenshot_height=900)
    roles = [
        ("viewport.png", "viewport-screenshot", "image/png"),
        ("dom.html", "dom", "text/html; charset=utf-8"),
        ("video-frames.json", "video-frames", "application/json"),
        ("session.mkv", "video", "video/x-matroska"),
        ("page.pdf", "print-pdf", "application/pdf"),
    ]
    exhibits = data.exhibits + tuple(
        ExhibitRow(
            len(data.exhibits) + i, f"artifacts/{name}", role, media, 1000, "a" * 64, "b" * 64
        )
        for i, (name, role, media) in enumerate(roles, 1)
    )
    capture = replace(
        data.capture,
        warnings=(),
        environment=replace(data.capture.environment, checks=tuple(state.checks)),
    )
    return replace(data, capture=capture, exhibits=exhibits)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ReportInput, str]]:
    base = tmp_path_factory.mktemp("language")
    out = {}
    for language in ("zh", "en"):
        data = _realistic(base, language)
        pdf = render_report(data, base / f"{language}.pdf")
        out[language] = (data, pdf_text(pdf))
    return out


@needs_poppler
def test_the_chinese_report_has_no_english_words(
    reports: dict[str, tuple[ReportInput, str]],
) -> None:
    data, text = reports["zh"]
    words = _english_words(_without_data(text, data))
    assert words == [], f"English in the Chinese report: {sorted(set(words))}"


@needs_poppler
def test_the_english_report_has_no_chinese(reports: dict[str, tuple[ReportInput, str]]) -> None:
    data, text = reports["en"]
    leftover = _without_data(text, data)
    chinese = [line for line in leftover.splitlines() if _CJK.search(line)]
    assert chinese == [], f"Chinese in the English report: {chinese}"


@needs_poppler
@pytest.mark.parametrize("language", ["zh", "en"])
def test_no_token_is_broken_by_a_table_cell(
    reports: dict[str, tuple[ReportInput, str]], language: str
) -> None:
    data, text = reports[language]
    lines = set(text.splitlines())
    whole = " ".join(text.split())
    # Every media type and file name of the exhibit list is printed unbroken
    # (a break may fall after '/', ';' or a space, never inside a word).
    for exhibit in data.exhibits:
        for token in re.split(r"(?<=[/;-])\s*|\s+", exhibit.media_type + " " + exhibit.path):
            if token:
                assert any(token in line for line in lines), (token, language)
    for known in ("SHA-256", "charset=utf-8"):
        assert known in whole
    if language == "zh":
        assert "首屏截图" in whole and "viewport-screenshot" not in whole
    else:
        assert "First-screen screenshot" in whole


# --- capture warnings and the system actor, in the reader's language -------------------

_CJK_RUN = re.compile(r"[\u3400-\u9fff]")


def test_every_capture_warning_reads_back_and_has_chinese() -> None:
    from evidence.model import i18n
    from evidence.model.capture_messages import TEMPLATES, CaptureWarning, render_warning

    zh = i18n.translation("zh").gettext
    for code, template in TEMPLATES.items():
        fields = re.findall(r"\{(\w+)\}", template)
        warning = CaptureWarning.of(code, **{f: f"<{f}-7>" for f in fields})
        assert CaptureWarning.read(warning.text) == warning, code
        chinese = render_warning(warning.text, zh)
        assert _CJK_RUN.search(chinese), code
        assert all(f"<{f}-7>" in chinese for f in fields), (code, chinese)


def test_a_real_capture_warning_is_rendered_and_an_unknown_one_kept() -> None:
    from evidence.model import i18n
    from evidence.model.capture_messages import CaptureWarning, WarningCode, render_warning

    zh = i18n.translation("zh").gettext
    # As capture/_visit.py writes it.
    text = "2 request(s) failed: https://a.example/x.js, https://b.example/y.css"
    assert CaptureWarning.read(text) == CaptureWarning.of(
        WarningCode.REQUESTS_FAILED, n=2, sample="https://a.example/x.js, https://b.example/y.css"
    )
    assert render_warning(text, zh) == (
        "2 个请求失败：https://a.example/x.js, https://b.example/y.css"
    )
    # A newer capture's warning no template made is shown as recorded, never dropped.
    assert render_warning("a warning from a newer capture", zh) == "a warning from a newer capture"


def test_the_system_actor_and_the_device_preset_in_either_language() -> None:
    from reports.pdf._custody import _actor
    from reports.pdf._front import _device_name

    class _Lang:
        def __init__(self, lang: str) -> None:
            self.lang = lang

    zh, en = _Lang("zh"), _Lang("en")
    assert _actor(zh, "system:host-7") == "系统（host-7）"  # type: ignore[arg-type]
    assert _actor(en, "system:host-7") == "system (host-7)"  # type: ignore[arg-type]
    assert _actor(zh, "ENF-0001") == "ENF-0001"  # type: ignore[arg-type]
    assert _device_name(zh, "desktop") == "桌面浏览器窗口"  # type: ignore[arg-type]
    assert _device_name(en, "desktop") == "Desktop browser window"  # type: ignore[arg-type]
    assert _device_name(zh, "iPhone 13") == "iPhone 13"  # type: ignore[arg-type]


def test_every_custody_action_is_named_in_the_reports_language() -> None:
    import re

    from evidence.model.records import CustodyAction
    from reports.pdf._custody import action_label

    for action in CustodyAction:
        chinese = action_label("zh", action.value)
        # Only the acronyms a Chinese reader sees as names remain in Latin letters.
        assert not re.sub(r"WACZ|API", "", chinese).isascii(), (action, chinese)
        assert re.fullmatch(r"[\u4e00-\u9fff（）A-Z ]+", chinese), (action, chinese)
        english = action_label("en", action.value)
        assert english.isascii() and english != action.value, (action, english)
    # A code written by another version is shown as it is stored, never dropped.
    assert action_label("zh", "future.action") == "future.action"


def test_the_local_chains_name_is_said_in_the_reports_language() -> None:
    from reports.pdf._anchor import network_label

    recorded = "local anvil (development, chain id 31337)"
    assert network_label("zh", recorded) == "本机 anvil 节点（开发用测试链，链 ID 31337）"
    assert network_label("en", recorded) == "Local anvil node (development chain, chain ID 31337)"
    # Another network's configured name is data, shown as configured.
    assert network_label("zh", "Ethereum mainnet") == "Ethereum mainnet"
