"""A signed report is still PDF/A-2b: before signing, after one signature, after a co-signature.

veraPDF is not available here, so the properties it would check that can be
read with pikepdf are checked directly, on every revision a court may get:
the PDF 1.7 header and no catalog ``/Version`` above it, the XMP ``pdfaid``
identification, Info and XMP agreeing (producer, title, dates), one sRGB
output intent with an ICC profile PDF/A-2 accepts, every font embedded
(the signature stamp's included) with widths that match the font program,
every annotation printable with an appearance, no JavaScript or actions, no
encryption. The stamp itself must say, in the report's language, who signed,
under which certificate (SHA-256 fingerprint as openssl prints it) and issuer.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pikepdf
import pytest
from cryptography.hazmat.primitives import serialization
from fontTools import ttLib

from reports.pdf import render_report
from reports.signing import validate_pdf_signatures
from tests.conftest import require_tool
from tests.test_report_pdf import make_input
from tests.test_report_signing import PKI, make_officer, running_pki, sign_as

REVISIONS = ("unsigned", "one", "two")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PKI]:
    yield from running_pki(tmp_path_factory)


@pytest.fixture(scope="module", params=["zh", "en"])
def reports(
    request: pytest.FixtureRequest, pki: PKI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Path]]:
    language = str(request.param)
    base = tmp_path_factory.mktemp(f"pdfa-{language}")
    unsigned = render_report(make_input(base, language=language), base / "report.pdf")
    zhang = make_officer(pki, "张三", enforcement_id="11010001")
    li = make_officer(pki, "李四", enforcement_id="11010002")
    one = sign_as(pki, unsigned, base / "one.pdf", zhang, "Officer1")
    two = sign_as(pki, one, base / "two.pdf", li, "Officer2")
    yield {"unsigned": unsigned, "one": one, "two": two, "language": Path(language)}


def _open(path: Path) -> pikepdf.Pdf:
    return pikepdf.open(path, attempt_recovery=False)


@pytest.mark.parametrize("revision", REVISIONS)
def test_version_stays_pdf_1_7(reports: dict[str, Path], revision: str) -> None:
    path = reports[revision]
    assert path.read_bytes()[:9] == b"%PDF-1.7\n"
    with _open(path) as pdf:
        assert pdf.pdf_version == "1.7"
        # pyHanko's ISO 32002 extension would declare PDF 2.0 here.
        assert "/Version" not in pdf.Root
        extensions = pdf.Root.get("/Extensions", pikepdf.Dictionary())
        assert set(extensions.keys()) <= {"/ESIC"}
        for extension in extensions.values():
            assert str(extension.BaseVersion) == "/1.7"


@pytest.mark.parametrize("revision", REVISIONS)
def test_xmp_identifies_pdfa_2b_and_agrees_with_info(
    reports: dict[str, Path], revision: str
) -> None:
    with _open(reports[revision]) as pdf:
        meta = pdf.open_metadata()
        assert (meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == ("2", "B")
        info = pdf.docinfo
        assert str(info.Producer) == meta.get("pdf:Producer")
        assert str(info.Title) == meta.get("dc:title")
        assert str(info.Creator) == meta.get("xmp:CreatorTool")
        assert _pdf_date(info.ModDate) == datetime.fromisoformat(str(meta.get("xmp:ModifyDate")))
        assert _pdf_date(info.CreationDate) == datetime.fromisoformat(
            str(meta.get("xmp:CreateDate"))
        )
        if revision != "unsigned":
            assert "pyHanko" in str(info.Producer)


def _pdf_date(value: pikepdf.Object) -> datetime:
    # D:YYYYMMDDHHmmSS+00'00' as reports/pdfa.py and the signer write it.
    text = str(value)
    assert text.startswith("D:") and text.endswith("+00'00'"), text
    return datetime.strptime(text[2:16] + "+0000", "%Y%m%d%H%M%S%z")


@pytest.mark.parametrize("revision", REVISIONS)
def test_output_intent_is_srgb_icc(reports: dict[str, Path], revision: str) -> None:
    with _open(reports[revision]) as pdf:
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == pikepdf.Name.GTS_PDFA1
        profile = intent.DestOutputProfile
        assert int(profile.N) == 3
        icc = profile.read_bytes()
        # ICC header: size, version (PDF/A-2 takes up to v4), class, colour space.
        assert int.from_bytes(icc[:4], "big") == len(icc)
        assert icc[8] in (2, 4)
        assert icc[12:16] in (b"mntr", b"prtr")
        assert icc[16:20] == b"RGB "
        assert icc[36:40] == b"acsp"


@pytest.mark.parametrize("revision", REVISIONS)
def test_every_font_is_embedded(reports: dict[str, Path], revision: str) -> None:
    with _open(reports[revision]) as pdf:
        fonts = [o for o in pdf.objects if _is(o, "/Type", "/Font")]
        assert fonts
        for font in fonts:
            if font.get("/Subtype") == "/Type0":
                continue  # judged through its descendant
            descriptor = font.get("/FontDescriptor")
            assert descriptor is not None, f"font without a descriptor: {font.get('/BaseFont')}"
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), (
                f"font {font.get('/BaseFont')} is not embedded"
            )


def test_stamp_font_widths_match_its_program(reports: dict[str, Path]) -> None:
    """The CID font of the stamp: ``/W`` in thousandths of an em, as the font program says."""
    with _open(reports["two"]) as pdf:
        cid_fonts = [o for o in pdf.objects if _is(o, "/Subtype", "/CIDFontType2")]
        assert cid_fonts, "the signature stamp has no CID font"
        for font in cid_fonts:
            program = ttLib.TTFont(io.BytesIO(font.FontDescriptor.FontFile2.read_bytes()))
            scale = 1000 / program["head"].unitsPerEm
            order = program.getGlyphOrder()
            widths = _cid_widths(font.W)
            assert widths
            for cid, width in widths.items():
                advance = program["hmtx"][order[cid]][0] * scale
                assert abs(width - advance) <= 1, (cid, width, advance)


def _cid_widths(array: pikepdf.Object) -> dict[int, float]:
    widths: dict[int, float] = {}
    items = list(array)
    index = 0
    while index < len(items):
        first = int(items[index])
        following = items[index + 1]
        if isinstance(following, pikepdf.Array):
            widths.update({first + i: float(w) for i, w in enumerate(following)})
            index += 2
        else:
            widths.update({c: float(items[index + 2]) for c in range(first, int(following) + 1)})
            index += 3
    return widths


@pytest.mark.parametrize("revision", REVISIONS)
def test_annotations_print_and_have_appearances(reports: dict[str, Path], revision: str) -> None:
    with _open(reports[revision]) as pdf:
        form = pdf.Root.get("/AcroForm")
        assert form is not None and not form.get("/NeedAppearances", False)
        widgets = 0
        for page in pdf.pages:
            for annotation in page.obj.get("/Annots", []):
                flags = int(annotation.get("/F", 0))
                assert flags & 4, "an annotation that does not print"
                assert not flags & (1 | 2 | 32), "a hidden annotation"
                assert "/N" in annotation.AP, "an annotation without a normal appearance"
                action = annotation.get("/A", pikepdf.Dictionary())
                assert "urn:evidence" not in str(action.get("/URI", "")), (
                    "a signature-line mark was left in the file"
                )
                widgets += annotation.Subtype == pikepdf.Name.Widget
        assert widgets == 2  # the two signature lines, signed or not


@pytest.mark.parametrize("revision", REVISIONS)
def test_nothing_runs_and_nothing_is_encrypted(reports: dict[str, Path], revision: str) -> None:
    with _open(reports[revision]) as pdf:
        assert not pdf.is_encrypted
        assert "/OpenAction" not in pdf.Root and "/AA" not in pdf.Root
        assert "/JavaScript" not in pdf.Root.get("/Names", pikepdf.Dictionary())
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                keys = set(obj.keys())
                assert not keys & {"/JS", "/AA", "/EmbeddedFiles"}, keys
                assert obj.get("/S") not in ("/JavaScript", "/Launch", "/SubmitForm")


def test_stamp_names_signer_certificate_and_issuer(reports: dict[str, Path], pki: PKI) -> None:
    language = reports["language"].name
    with _open(reports["two"]) as pdf:
        texts = {
            str(w.T): _actual_text(w.AP.N)
            for w in pdf.Root.AcroForm.Fields
            if w.get("/V") is not None
        }
    assert set(texts) == {"Officer1", "Officer2"}
    checks = validate_pdf_signatures(reports["two"], pki.roots)
    for check in checks:
        text = texts[check.field]
        fingerprint = _openssl_fingerprint(check.signer_certificate_der)
        halves = fingerprint[:48].rstrip(":"), fingerprint[48:]
        assert all(half in text for half in halves), (fingerprint, text)
        issuer = _openssl_issuer(pki)
        assert issuer in text, (issuer, text)
        if language == "zh":
            assert "数字签名" in text and "执法证号" in text and "北京时间" in text
            assert "Digitally" not in text and "Certificate" not in text
        else:
            assert "Digitally signed" in text and "enforcement ID" in text
            assert "数字签名" not in text and "证书" not in text
    assert "张三" in texts["Officer1"] and "11010001" in texts["Officer1"]
    assert "李四" in texts["Officer2"] and "11010002" in texts["Officer2"]


def _actual_text(stream: pikepdf.Object) -> str:
    """The text the stamp draws, from the /ActualText spans pyHanko writes around it."""
    found: list[str] = []

    def walk(xobject: pikepdf.Object, depth: int) -> None:
        for instruction in pikepdf.parse_content_stream(xobject):
            if not isinstance(instruction, pikepdf.ContentStreamInstruction):
                continue
            operands, operator = instruction.operands, instruction.operator
            properties = operands[1] if str(operator) == "BDC" else None
            if isinstance(properties, pikepdf.Dictionary) and "/ActualText" in properties:
                found.append(str(properties.ActualText))
        resources = xobject.get("/Resources", pikepdf.Dictionary())
        for inner in resources.get("/XObject", pikepdf.Dictionary()).values():
            if depth < 4 and inner.get("/Subtype") == "/Form":
                walk(inner, depth + 1)

    walk(stream, 0)
    return "\n".join(found)


def _openssl_fingerprint(der: bytes) -> str:
    out = subprocess.run(
        [require_tool("openssl"), "x509", "-inform", "DER", "-noout", "-fingerprint", "-sha256"],
        input=der,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return out.strip().split("=", 1)[1]


def _openssl_issuer(pki: PKI) -> str:
    """The issuer line as ``openssl x509 -noout -issuer -nameopt oneline,-esc_msb`` prints it."""
    out = subprocess.run(
        [require_tool("openssl"), "x509", "-noout", "-subject", "-nameopt", "oneline,-esc_msb"],
        input=pki.root.public_bytes(serialization.Encoding.PEM),
        capture_output=True,
        check=True,
    ).stdout.decode()
    return out.strip().split("=", 1)[1].strip()


def _is(obj: pikepdf.Object, key: str, value: str) -> bool:
    return isinstance(obj, pikepdf.Dictionary | pikepdf.Stream) and obj.get(key) == value
