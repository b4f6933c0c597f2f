"""Unit tests of the PDF report renderer on a hand-made ReportInput.

The fonts, text, QR code and page count are checked with poppler and zbar,
the same stock tools a reader of the report would have.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw

import reports._fonts
from evidence.model.capture_record import (
    CapturedFile,
    CapturedPage,
    CaptureRecord,
    EnvironmentCheck,
    EnvironmentStatus,
    EnvironmentSummary,
    HostRecord,
    HttpExchange,
    PageRendering,
    Provenance,
    TlsOrigin,
)
from evidence.model.errors import ReportError
from evidence.model.merkle import MerkleTree
from evidence.model.records import (
    AnchorCheck,
    AnchorReceipt,
    CustodyLine,
    ExhibitRow,
    ReportInput,
    TimestampToken,
)
from reports.pdf import render_report


def _require(package: str, *tools: str) -> None:
    """Skip when a stock tool is missing locally; under CI=true that is a failure."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed (Debian package {package})"
    if os.environ.get("CI"):
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def poppler() -> None:
    _require("poppler-utils", "pdffonts", "pdftotext", "pdftoppm", "pdfinfo")


@pytest.fixture
def zbar() -> None:
    _require("zbar-tools", "zbarimg")


needs_poppler = pytest.mark.usefixtures("poppler")
needs_zbar = pytest.mark.usefixtures("zbar")

GENERATED = datetime(2026, 11, 26, 10, 30, 0, 123000, tzinfo=UTC)
MANIFEST_SHA256 = hashlib.sha256(b"manifest.json").hexdigest()
MANIFEST_SM3 = hashlib.sha256(b"manifest.json sm3 stand-in").hexdigest()
TS_WARNING_ZH = "开发用时间戳服务（非可信第三方），仅供测试"
TS_WARNING_EN = "DEVELOPMENT time-stamp authority — not a trusted third party"


def _hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def make_screenshot(path: Path, height: int, width: int = 1280) -> Path:
    """A tall PNG of coloured bands, so tiles are told apart when looked at."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    palette = [(230, 57, 70), (241, 250, 238), (168, 218, 220), (69, 123, 157), (29, 53, 87)]
    band = 250
    for index, top in enumerate(range(0, height, band)):
        draw.rectangle((0, top, width, top + band - 1), fill=palette[index % len(palette)])
        draw.text((20, top + 10), f"band {index} y={top}", fill=(0, 0, 0))
    image.save(path, format="PNG")
    return path


def _provenance() -> Provenance:
    return Provenance(
        user_agent=(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/156.0.0.0 Safari/537.36"
        ),
        browser_version="Chromium 156.0.7435.2",
        capture_host="evidence-ws-01",
        outbound_ip="198.51.100.23",
        hosts=(
            HostRecord("www.shop.example.test", "www.shop.example.test", ("203.0.113.7",)),
            HostRecord(
                "xn--fiqs8s.example.test", "中国.example.test", ("203.0.113.9", "2001:db8::9")
            ),
            HostRecord("gone.example.test", "gone.example.test", (), "NXDOMAIN"),
        ),
        tls=(
            TlsOrigin(
                origin="https://www.shop.example.test",
                protocol="TLS 1.3",
                cipher="AES_128_GCM",
                subject="CN=www.shop.example.test,O=Shop Ltd,C=CN",
                issuer="CN=Example Issuing CA G2,O=Example Trust,C=CN",
                not_before=datetime(2026, 1, 1, tzinfo=UTC),
                not_after=datetime(2027, 1, 31, 23, 59, 59, tzinfo=UTC),
                subject_alt_names=("www.shop.example.test", "shop.example.test"),
                chain_sha256=(_hex("leaf-cert"), _hex("issuer-cert")),
                certificate_error=None,
            ),
        ),
    )


def make_input(
    tmp_path: Path,
    *,
    language: str = "zh",
    development: bool = True,
    timestamped: bool = True,
    anchored: bool = True,
    screenshot_height: int = 5000,
) -> ReportInput:
    screenshot = tmp_path / f"screenshot-{screenshot_height}.png"
    if not screenshot.exists():
        make_screenshot(screenshot, screenshot_height)
    long_query = "&".join(f"utm_param{i}=value{i}" for i in range(12))
    requested = f"http://shop.example.test/商品/详情?id=1234567890&{long_query}"
    final = "https://www.shop.example.test/item/1234567890/a-very-long-product-slug-" + "x" * 90
    started = GENERATED - timedelta(minutes=5)
    capture = CaptureRecord(
        page=CapturedPage(
            requested_url=requested,
            final_url=final,
            redirect_chain=(requested, "https://shop.example.test/item/1234567890", final),
            title="限时特价 — 某品牌运动鞋 官方旗舰店 & <更多>",
            http_status=200,
            server_ip="203.0.113.7",
            started_at=started,
            finished_at=started + timedelta(seconds=3, milliseconds=417),
        ),
        rendering=PageRendering(viewport=(1280, 800)),
        provenance=_provenance(),
        files=(CapturedFile(screenshot, "screenshot.png", "screenshot", "image/png"),),
        warnings=("页面在 5 秒内未完全静止，已按超时继续采集",),
        exchanges=tuple(
            HttpExchange(
                url=f"https://www.shop.example.test/static/asset-{i}.js",
                method="GET",
                status=200 if i % 7 else 304,
                server_ip=f"203.0.113.{7 + i % 3}",
                mime_type="application/javascript",
                body_size=1000 + i,
            )
            for i in range(12)
        ),
        environment=EnvironmentSummary(
            checks=(
                EnvironmentCheck("proxy", EnvironmentStatus.PASS, "未配置代理 / no proxy"),
                EnvironmentCheck("clock", EnvironmentStatus.WARN, "本机时钟比参照时间快 1.2 秒"),
                EnvironmentCheck(
                    "hosts-file",
                    EnvironmentStatus.FAIL,
                    "/etc/hosts 中有 shop.example.test 的条目",
                ),
            ),
            clock_offset_ms=1200,
            clock_source="ntp.ntsc.ac.cn",
        ),
    )
    names = [
        ("screenshot.png", "screenshot", "image/png", screenshot.stat().st_size),
        ("page.mhtml", "mhtml", "multipart/related", 1_845_221),
        ("dom.html", "dom", "text/html", 312_554),
        ("page.pdf", "pdf", "application/pdf", 2_201_877),
        ("capture.warc.gz", "warc", "application/warc", 9_876_543),
        ("tls/certificate-chain-of-www.shop.example.test.pem", "tls", "application/pem", 5_120),
        ("environment-check.json", "environment", "application/json", 2_048),
    ]
    exhibits = tuple(
        ExhibitRow(
            number=i,
            path=f"artifacts/{name}",
            role=role,
            media_type=media,
            size=size,
            sha256=_hex(name),
            sm3=_hex("sm3:" + name),
        )
        for i, (name, role, media, size) in enumerate(names, 1)
    )
    token = TimestampToken(
        tsa_url="http://127.0.0.1:8318/tsa",
        response_der=b"\x30\x03\x02\x01\x00",
        token_der=b"\x30\x00",
        gen_time=started + timedelta(seconds=9),
        serial_number=0x5F3A9C21E4B7,
        policy_oid="1.3.6.1.4.1.55555.1.1",
        hash_algorithm="sha256",
        message_imprint=MANIFEST_SHA256,
        nonce=0x1F2E3D4C5B6A7988,
        tsa_subject="CN=Evidence Toolkit Development TSA,O=evidence-toolkit,C=CN",
        tsa_certificate_pem=b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        trust_root_pem=b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        development=development,
    )
    # The item is leaf 2 of a batch of 5: the anchored root differs from the manifest digest.
    leaves = [bytes.fromhex(_hex(f"other-{i}")) for i in range(5)]
    leaves[2] = bytes.fromhex(MANIFEST_SHA256)
    tree = MerkleTree(leaves)
    proof = tree.proof(2)
    anchor = AnchorReceipt(
        chain_id=31337,
        network_name="anvil (local)",
        rpc_url="http://127.0.0.1:8545",
        contract_address="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        transaction_hash="0x" + _hex("tx"),
        block_number=42,
        block_hash="0x" + _hex("block"),
        block_time=started + timedelta(seconds=12),
        root="0x" + tree.root.hex(),
        submitter="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        reference="item-7f3c2a",
        development=development,
        leaf=MANIFEST_SHA256,
        leaf_index=2,
        tree_size=5,
        proof=tuple(h.hex() for h in proof.path),
    )
    viewport = tmp_path / "viewport.png"
    if not viewport.exists():
        make_screenshot(viewport, 800)
    custody = tuple(
        CustodyLine(
            seq=i,
            at=started + timedelta(minutes=i),
            actor=actor,
            action=action,
            reason=reason,
            hash_after=_hex(f"custody-{i}"),
        )
        for i, (actor, action, reason) in enumerate(
            [
                ("张三（执法证号 11010001）", "capture", "现场取证"),
                ("system", "timestamp", "RFC 3161"),
                ("李四（执法证号 11010002）", "export", "移送鉴定"),
            ],
            start=1,
        )
    )
    return ReportInput(
        report_number="BG-2026-000123",
        generated_at=GENERATED,
        case_number="京市监网取〔2026〕88号",
        case_title="某电商平台虚假宣传案",
        case_cause="虚假宣传",
        agency="北京市市场监督管理局",
        officers=("张三（执法证号 11010001）", "李四（执法证号 11010002）"),
        item_id="item-7f3c2a",
        capture=capture,
        screenshot_path=screenshot,
        exhibits=exhibits,
        manifest_sha256=MANIFEST_SHA256,
        manifest_sm3=MANIFEST_SM3,
        timestamp=token if timestamped else None,
        anchor=anchor if anchored else None,
        tool_version="0.1.0",
        language=language,
        custody=custody,
        viewport_screenshot_path=viewport,
        anchor_check=AnchorCheck(
            chain_id=anchor.chain_id,
            contract_address=anchor.contract_address,
            transaction_hash=anchor.transaction_hash,
            block_number=anchor.block_number,
            block_hash=anchor.block_hash,
            confirmations=7,
            root=anchor.root,
            anchored_at_block_time=anchor.block_time,
            submitter=anchor.submitter,
        )
        if anchored
        else None,
    )


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def pdf_text(pdf: Path) -> str:
    # -raw keeps the text in drawing order with its own spaces; the default
    # mode re-derives spaces from glyph gaps and drops them around CJK.
    return _run("pdftotext", "-raw", "-enc", "UTF-8", pdf, "-")


def squeezed(value: str) -> str:
    """Text without whitespace: pdftotext may break a line anywhere in a wrapped box."""
    return re.sub(r"\s+", "", value)


def page_count(pdf: Path) -> int:
    match = re.search(r"^Pages:\s+(\d+)$", _run("pdfinfo", pdf), re.MULTILINE)
    assert match is not None
    return int(match.group(1))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ReportInput, Path]]:
    base = tmp_path_factory.mktemp("reports")
    out: dict[str, tuple[ReportInput, Path]] = {}
    cases = {
        "zh-dev": make_input(base, language="zh", development=True),
        "en-dev": make_input(base, language="en", development=True),
        "zh-prod": make_input(base, language="zh", development=False),
        "en-prod": make_input(base, language="en", development=False),
        "zh-pending": make_input(base, timestamped=False, anchored=False),
    }
    for name, data in cases.items():
        out[name] = (data, render_report(data, base / f"{name}.pdf"))
    return out


@needs_poppler
@pytest.mark.parametrize("name", ["zh-dev", "en-dev", "zh-pending"])
def test_every_font_is_embedded_cjk(
    rendered: dict[str, tuple[ReportInput, Path]], name: str
) -> None:
    listing = _run("pdffonts", rendered[name][1])
    rows = listing.splitlines()[2:]
    assert rows, listing
    for row in rows:
        columns = row.split()
        # name type encoding emb sub uni object ID: emb is the 4th from the end
        # counted from the right, because "CID TrueType" has a space in it.
        assert columns[-5] == "yes", listing
        assert "WenQuanYi" in columns[0], listing
    assert "Helvetica" not in listing
    assert "STSong" not in listing


@needs_poppler
def test_chinese_text(rendered: dict[str, tuple[ReportInput, Path]]) -> None:
    data, pdf = rendered["zh-dev"]
    content = pdf_text(pdf)
    assert "网页电子证据固定报告" in content
    assert data.case_number in content
    assert MANIFEST_SHA256 in content
    assert "第 1 页 共" in content
    assert f"共 {page_count(pdf)} 页" in content
    assert "sha256sum -c SHA256SUMS" in content
    flat = squeezed(content)
    assert squeezed(TS_WARNING_ZH) in flat
    assert "尚未取得时间戳" not in flat
    assert squeezed("取证人员签名") in flat


@needs_poppler
def test_english_text(rendered: dict[str, tuple[ReportInput, Path]]) -> None:
    data, pdf = rendered["en-dev"]
    content = pdf_text(pdf)
    assert "Web Evidence Preservation Report" in content
    assert data.case_number in content
    assert MANIFEST_SHA256 in content
    assert "Page 1 of" in content
    assert "网页电子证据固定报告" not in content
    assert squeezed(TS_WARNING_EN) in squeezed(content)


@needs_poppler
def test_development_warning_only_when_development(
    rendered: dict[str, tuple[ReportInput, Path]],
) -> None:
    for name, warning in (("zh-prod", TS_WARNING_ZH), ("en-prod", TS_WARNING_EN)):
        flat = squeezed(pdf_text(rendered[name][1]))
        assert squeezed(warning) not in flat
        assert "开发用" not in flat
        assert "DEVELOPMENT" not in flat


@needs_poppler
def test_pending_timestamp_and_anchor(rendered: dict[str, tuple[ReportInput, Path]]) -> None:
    flat = squeezed(pdf_text(rendered["zh-pending"][1]))
    assert "尚未取得时间戳（待补）" in flat
    assert "尚未上链（待补）" in flat


def _decode_qr(pdf: Path, out_dir: Path) -> list[dict[str, object]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "100", str(pdf), str(out_dir / "p")], check=True)
    pages = sorted(out_dir.glob("p*.png"))
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", *map(str, pages)],
        capture_output=True,
        text=True,
        check=False,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@needs_poppler
@needs_zbar
def test_qr_code_carries_manifest_and_anchor(
    rendered: dict[str, tuple[ReportInput, Path]], tmp_path: Path
) -> None:
    data, pdf = rendered["zh-dev"]
    assert data.anchor is not None
    payloads = _decode_qr(pdf, tmp_path / "anchored")
    assert payloads == [
        {
            "v": 1,
            "m": MANIFEST_SHA256,
            "c": 31337,
            "a": data.anchor.contract_address,
            "t": data.anchor.transaction_hash,
        }
    ]
    pending = _decode_qr(rendered["zh-pending"][1], tmp_path / "pending")
    assert pending == [{"v": 1, "m": MANIFEST_SHA256}]


def test_same_input_gives_identical_bytes(tmp_path: Path) -> None:
    data = make_input(tmp_path)
    first = render_report(data, tmp_path / "a" / "first.pdf").read_bytes()
    second = render_report(data, tmp_path / "b" / "second.pdf").read_bytes()
    assert first == second
    other = render_report(replace(data, report_number="BG-2026-000124"), tmp_path / "c.pdf")
    assert other.read_bytes() != first


@needs_poppler
def test_pages_grow_with_screenshot_height(tmp_path: Path) -> None:
    counts = []
    for height in (900, 5000, 12000):
        data = make_input(tmp_path, screenshot_height=height, language="zh")
        pdf = render_report(data, tmp_path / f"h{height}.pdf")
        counts.append(page_count(pdf))
        flat = squeezed(pdf_text(pdf))
        parts = re.findall(r"截图第(\d+)/(\d+)部分", flat)
        assert parts, flat[:400]
        total = int(parts[0][1])
        assert [int(i) for i, _ in parts] == list(range(1, total + 1))
    assert counts[0] < counts[1] < counts[2]


def test_missing_font_is_a_report_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCE_CJK_FONT", str(tmp_path / "no-such-font.ttf"))
    monkeypatch.setattr(reports._fonts, "FALLBACK_FONTS", ())
    with pytest.raises(ReportError, match="fonts-wqy-microhei") as caught:
        render_report(make_input(tmp_path), tmp_path / "out.pdf")
    assert "\n" not in caught.value.message
    assert not (tmp_path / "out.pdf").exists()


def test_unknown_language_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="language"):
        render_report(make_input(tmp_path, language="fr"), tmp_path / "out.pdf")


def test_missing_screenshot_is_a_report_error(tmp_path: Path) -> None:
    data = replace(make_input(tmp_path), screenshot_path=tmp_path / "gone.png")
    with pytest.raises(ReportError, match="screenshot"):
        render_report(data, tmp_path / "out.pdf")
    assert list(tmp_path.glob("*.pdf")) == []


@needs_poppler
def test_huge_captured_strings_are_cut_not_fatal(tmp_path: Path) -> None:
    data = make_input(tmp_path, screenshot_height=900)
    huge = "data:text/html;base64," + "QUJD" * 50_000
    capture = replace(
        data.capture,
        page=replace(
            data.capture.page,
            requested_url=huge,
            redirect_chain=tuple(f"https://r{i}.example.test/" for i in range(100)),
        ),
        warnings=("w" * 10_000,),
    )
    pdf = render_report(replace(data, capture=capture), tmp_path / "huge.pdf")
    flat = squeezed(pdf_text(pdf))
    assert f"全文共{len(huge)}个字符" in flat
    assert "另有70项" in flat


def test_reports_can_be_imported_before_evidence() -> None:
    # evidence.services.reporting imports reports.pdf, so a naive import order would be circular.
    repo = Path(__file__).resolve().parents[1]
    for statement in ("import reports.pdf", "import reports._fonts", "import evidence"):
        subprocess.run([sys.executable, "-c", statement], cwd=repo, check=True)


@needs_poppler
def test_wide_transparent_screenshot(tmp_path: Path) -> None:
    # A high-DPI capture (device pixel ratio 2) with an alpha channel.
    shot = tmp_path / "wide.png"
    Image.new("RGBA", (2560, 3000), (10, 120, 200, 128)).save(shot)
    data = replace(make_input(tmp_path, screenshot_height=900), screenshot_path=shot)
    pdf = render_report(data, tmp_path / "wide.pdf")
    assert "截图 第 1/" in pdf_text(pdf)


@needs_poppler
@pytest.mark.parametrize("name", ["zh-dev", "en-prod"])
def test_every_key_value_is_printed(
    rendered: dict[str, tuple[ReportInput, Path]], name: str
) -> None:
    data, pdf = rendered[name]
    flat = squeezed(pdf_text(pdf))
    assert data.timestamp is not None and data.anchor is not None
    assert data.anchor_check is not None
    values = [
        data.manifest_sha256,
        data.manifest_sm3,
        data.anchor.transaction_hash,
        data.anchor.block_hash,
        data.anchor.root,
        data.anchor.leaf,
        *data.anchor.proof,
        data.timestamp.message_imprint,
        "2026-11-26T10:25:09.123Z",  # genTime
        "2026-11-26 18:25:09.123 +08:00",
        *(e.sha256 for e in data.exhibits),
        *(e.sm3 for e in data.exhibits),
        *(line.hash_after for line in data.custody),
        *(line.actor for line in data.custody),
        *(h for t in data.capture.provenance.tls for h in t.chain_sha256),
        *(t.subject for t in data.capture.provenance.tls),
        *(t.issuer for t in data.capture.provenance.tls),
        "2027-01-31T23:59:59.000Z",  # certificate validity end
        *(a for h in data.capture.provenance.hosts for a in h.addresses),
        "中国.example.test",
        *(e.url for e in data.capture.exchanges),
        "198.51.100.23",
    ]
    for value in values:
        assert squeezed(value) in flat, value
    confirmations = "7（报告生成时查询）" if data.language == "zh" else "7(queriedwhenthereport"
    assert confirmations in flat
    position = "第2号叶子（自0起），共5个" if data.language == "zh" else "leaf2(from0)of5"
    assert position in flat


@needs_poppler
def test_environment_results_are_shown_as_recorded(
    rendered: dict[str, tuple[ReportInput, Path]],
) -> None:
    flat = squeezed(pdf_text(rendered["zh-dev"][1]))
    section = flat[flat.index("采集环境清洁性检查") :]
    assert "proxy通过" in section
    assert "系统时钟警告" in section  # a known check is named in the report's language
    assert "hosts-file未通过/etc/hosts" in section


@needs_poppler
def test_missing_provenance_environment_and_custody_say_so(tmp_path: Path) -> None:
    data = make_input(tmp_path, screenshot_height=900)
    bare = replace(
        data,
        capture=replace(
            data.capture,
            provenance=replace(data.capture.provenance, hosts=(), tls=()),
            exchanges=(),
            environment=replace(data.capture.environment, checks=()),
        ),
        custody=(),
        viewport_screenshot_path=None,
        anchor_check=None,
    )
    flat = squeezed(pdf_text(render_report(bare, tmp_path / "bare.pdf")))
    assert "本次采集未记录清洁性检查结果" in flat
    assert "本报告未附保管链记录" in flat
    assert "首屏截图" not in flat
    assert "确认数未查询" in flat
    assert flat.count("未记录") >= 3  # DNS, TLS and requests: none invented


@needs_poppler
def test_viewport_shot_has_its_own_page(rendered: dict[str, tuple[ReportInput, Path]]) -> None:
    content = pdf_text(rendered["zh-dev"][1])
    assert "首屏截图（视口）" in content
    assert "原图 1280 × 800 像素" in content
    assert "First screen (viewport) shot" in pdf_text(rendered["en-dev"][1])


@needs_poppler
def test_characters_outside_the_font_are_replaced_and_listed(tmp_path: Path) -> None:
    data = make_input(tmp_path, screenshot_height=900)
    title = "限时特价 😀 𠀀 旗舰店"  # an emoji and a CJK Extension B character
    capture = replace(data.capture, page=replace(data.capture.page, title=title))
    pdf = render_report(replace(data, capture=capture), tmp_path / "glyphs.pdf")
    flat = squeezed(pdf_text(pdf))
    assert "限时特价□□旗舰店" in flat
    assert "无法显示以下2个字符" in flat
    assert "U+1F600、U+20000" in flat
    assert "😀" not in flat


def test_covered_text_has_no_glyph_note(rendered: dict[str, tuple[ReportInput, Path]]) -> None:
    # The regular fixture's text is all in the font: no placeholder note.
    with pikepdf.open(rendered["zh-dev"][1]) as pdf:
        assert pdf.Root.Lang == "zh-CN"
    if shutil.which("pdftotext"):
        assert "无法显示" not in squeezed(pdf_text(rendered["zh-dev"][1]))


@pytest.mark.parametrize(("name", "lang"), [("zh-dev", "zh-CN"), ("en-dev", "en")])
def test_pdfa_identification_and_output_intent(
    rendered: dict[str, tuple[ReportInput, Path]], name: str, lang: str
) -> None:
    data, path = rendered[name]
    with pikepdf.open(path) as pdf:
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2"
        assert meta["pdfaid:conformance"] == "B"
        assert data.report_number in meta["dc:title"]
        assert str(pdf.docinfo["/Title"]) == meta["dc:title"]
        assert pdf.Root.Lang == lang
        (intent,) = list(pdf.Root.OutputIntents)
        assert intent.S == "/GTS_PDFA1"
        profile = intent.DestOutputProfile
        assert profile.N == 3
        icc = profile.read_bytes()
        assert icc[36:40] == b"acsp" and icc[16:20] == b"RGB "
        assert len(pdf.trailer.ID) == 2  # from the content (deterministic_id), see below
        assert str(pdf.docinfo["/CreationDate"]).startswith("D:20261126103000")


@needs_poppler
def test_pdfinfo_reads_title_and_pdfa_metadata(
    rendered: dict[str, tuple[ReportInput, Path]],
) -> None:
    data, pdf = rendered["zh-dev"]
    info = _run("pdfinfo", pdf)
    assert re.search(rf"^Title:\s+网页电子证据固定报告 {data.report_number}$", info, re.M)
    assert "pdfaid:part" in _run("pdfinfo", "-meta", pdf)
