"""The verification report (电子证据核验报告): what an expert's verifier run found.

A short A4 PDF an expert can attach to an opinion: the bundle and its manifest
digest, the tool and library versions, the trust roots and chain endpoint the
checks used, and every check with its verdict and reason. Chinese by default,
English on request; every glyph comes from the embedded CJK TrueType font.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from evidence.model import i18n
from evidence.model.errors import ReportError
from evidence.model.i18n import N_
from evidence.model.records import (
    CheckResult,
    ReportSigner,
    TrustStanding,
    Verdict,
    VerificationReport,
    isoformat,
)
from evidence.model.verification_messages import (
    Reason,
    ReasonCode,
    check_label,
    render_reasons,
)
from reports._fonts import ReportFonts, load_fonts
from reports._i18n import translate
from reports._standing import anchor_title, timestamp_title
from reports._verification_setup import reason_value, setup_label, setup_value

if TYPE_CHECKING:
    from reports.signing import PdfTimestamper

logger = logging.getLogger(__name__)

__all__ = [
    "EXPERT_FIELD",
    "VerificationReportInput",
    "load_expert_signer",
    "render_verification_report",
    "sign_verification_report",
]

EXPERT_FIELD = "Expert"
"""The PAdES signature field of the expert's signature on the verification report."""

BEIJING = timezone(timedelta(hours=8), "UTC+08:00")
MARGIN = 42.0
MAX_DETAIL_CHARS = 1500
"""A table row cannot break across pages; longer reasons are cut (the JSON output has them)."""

# key -> English source, translated through the one message catalogue by ``_t()``.
# The manifest row and the reason column are printed with a context instead
# (msgctxt "verification report"): elsewhere the same English is rendered
# differently in Chinese.
_TEXT: dict[str, str] = {
    "title": N_("Evidence Verification Report"),
    "bundle": N_("Bundle verified"),
    "verified_at": N_("Verified at"),
    "verifier": N_("Verified by"),
    "outcome": N_("Outcome"),
    "outcome_0": N_("Every check passed"),
    "outcome_1": N_("At least one check FAILED"),
    "outcome_2": N_("No check failed, but some could not be carried out"),
    "outcome_untrusted": N_(
        "No check failed, but some rest only on what the bundle supplies about itself "
        "(UNTRUSTED): compare the fingerprints and addresses below out of band"
    ),
    "counts": N_("{p} passed, {f} failed, {n} not checked, {u} untrusted"),
    "sec_setup": N_("1. What the checks relied on"),
    "sec_results": N_("2. Every check and its result"),
    "sec_notes": N_("3. Notes"),
    "tool": N_("Verifier and version"),
    "libraries": N_("Library versions"),
    "col_no": N_("No."),
    "col_check": N_("Check"),
    "col_subject": N_("Subject (file/record/field)"),
    "col_verdict": N_("Verdict"),
    # One per Verdict, keyed by its value.
    "PASS": N_("PASS"),
    "FAIL": N_("FAIL"),
    "NOT CHECKED": N_("NOT CHECKED"),
    "UNTRUSTED": N_("UNTRUSTED"),
    "note_method": N_(
        "Each check was recomputed independently by the verifier: every file's SHA-256 and "
        "SM3 digest, the manifest signatures, the RFC 3161 time-stamp (signature, message "
        "imprint, certificate chain), the Merkle path, the chain transaction and block time, "
        "every WARC record's digests, the custody-log hash chain, and an offline replay of "
        "the WARC compared with the screenshot. The manual procedure with stock tools "
        "(sha256sum, openssl, ...) must reach the same verdicts."
    ),
    "note_unsigned": N_("This report is not signed by the verifier."),
    "none": N_("None"),
    # TRANSLATORS: after the outcome; the number is the command's exit status.
    "exit_code": N_("(exit {code})"),
}

# What the bundle's time-stamp and anchor are to the trust configuration used.
_STANDING_LABELS: dict[str, str] = {
    "timestamp": N_("The bundle's time-stamp"),
    "anchor": N_("The bundle's blockchain anchor"),
}

_VERDICT_COLOURS = {
    Verdict.PASS: colors.HexColor("#1b5e20"),
    Verdict.FAIL: colors.HexColor("#b71c1c"),
    Verdict.NOT_CHECKED: colors.HexColor("#8d6e00"),
    Verdict.UNTRUSTED: colors.HexColor("#6a1b9a"),
}


@dataclass(frozen=True, slots=True)
class VerificationReportInput:
    """Everything the verification report shows, gathered by the facade."""

    result: VerificationReport
    setup: tuple[tuple[str, str], ...]
    """(key, value) pairs: trust roots, chain endpoint, registry, options."""
    verified_at: datetime
    tool_version: str
    library_versions: tuple[tuple[str, str], ...]
    verifier_name: str = ""
    language: str = "zh"
    signed: bool = False
    timestamp_standing: TrustStanding | None = None
    """The bundle's time-stamp against the trust configuration (None: no token)."""
    anchor_standing: TrustStanding | None = None
    """The bundle's anchor against the trust configuration (None: not anchored)."""


def render_verification_report(data: VerificationReportInput, out_path: Path) -> Path:
    """Write the verification report PDF to ``out_path`` (atomically) and return it."""
    if data.language not in ("zh", "en"):
        raise ReportError(f"unsupported report language {data.language!r} (zh or en)")
    fonts = load_fonts()
    story = _Layout(data, fonts).story()
    out_path = Path(out_path)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
    except OSError as exc:
        raise ReportError(f"cannot write {out_path}: {exc.strerror or exc}") from exc
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        doc = SimpleDocTemplate(
            str(tmp),
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN,
            title=_t(data.language, "title"),
            subject=f"manifest sha256 {data.result.manifest_sha256 or '-'}",
            creator=f"evidence-toolkit {data.tool_version}",
            # Otherwise every page starts with Helvetica selected: an unembedded font.
            initialFontName=fonts.regular,
            initialFontSize=9,
            invariant=1,
            lang="zh-CN" if data.language == "zh" else "en",
        )
        doc.build(story)
        os.replace(tmp, out_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"cannot write {out_path}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.info("wrote verification report %s", out_path)
    return out_path


def load_expert_signer(
    key_pem: bytes, cert_pem: bytes, passphrase: bytes | None = None
) -> ReportSigner:
    """The expert's own key (PEM, PKCS#8 or traditional, optionally encrypted) and
    certificate (PEM; further certificates in the file are its chain).

    Raises :class:`ReportError` with one line naming what is wrong.
    """
    try:
        key = serialization.load_pem_private_key(key_pem, password=passphrase or None)
    except TypeError as exc:
        # cryptography says "Password was not given but private key is encrypted" or the reverse.
        hint = (
            "the key is encrypted: set EVIDENCE_EXPERT_KEY_PASSPHRASE"
            if not passphrase
            else "the key is not encrypted: unset EVIDENCE_EXPERT_KEY_PASSPHRASE"
        )
        raise ReportError(f"cannot load the signing key: {hint}") from exc
    except ValueError as exc:
        detail = str(exc).split(". ")[0].splitlines()[0] if str(exc) else "not a PEM private key"
        raise ReportError(
            f"cannot load the signing key (wrong passphrase, or not a PEM key): {detail}"
        ) from exc
    except UnsupportedAlgorithm as exc:
        raise ReportError(f"cannot load the signing key: {type(exc).__name__}: {exc}") from exc
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    ):
        raise ReportError(f"cannot sign with a {type(key).__name__}: use an EC, Ed25519 or RSA key")
    try:
        certificates = x509.load_pem_x509_certificates(cert_pem)
    except ValueError as exc:
        raise ReportError("the signing certificate is not a PEM certificate") from exc
    certificate, chain = certificates[0], tuple(certificates[1:])
    if certificate.public_key() != key.public_key():
        raise ReportError(
            "the signing certificate is not the certificate of the signing key "
            "(the first certificate in the file must be the expert's own)"
        )
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    label = str(names[0].value) if names else certificate.subject.rfc4514_string()
    return ReportSigner(key=key, certificate=certificate, chain=chain, label=label)


def sign_verification_report(
    pdf: Path,
    signer: ReportSigner,
    *,
    timestamper: PdfTimestamper | None = None,
    tsa_roots_pem: bytes | None = None,
) -> Path:
    """PAdES-sign the verification report in place as the expert (field ``Expert``).

    With ``timestamper`` (and its roots) the signature carries an RFC 3161
    timestamp; without, it is signed with no timestamp (PAdES B-B).
    """
    from reports.signing import sign_pdf

    return sign_pdf(
        pdf,
        pdf,
        key=signer.key,
        certificate=signer.certificate,
        chain=signer.chain,
        field_name=EXPERT_FIELD,
        signer_label=signer.label,
        timestamper=timestamper,
        tsa_roots=tsa_roots_pem,
    )


def _t(language: str, key: str, **values: object) -> str:
    return translate(language, _TEXT[key], **values)


class _Layout:
    def __init__(self, data: VerificationReportInput, fonts: ReportFonts) -> None:
        self.data = data
        self.lang = data.language
        self.fonts = fonts
        self.catalogue = i18n.translation(data.language)
        self.title = ParagraphStyle(
            "title", fontName=fonts.regular, fontSize=17, leading=22, alignment=1, spaceAfter=10
        )
        self.heading = ParagraphStyle(
            "heading",
            fontName=fonts.regular,
            fontSize=12,
            leading=16,
            spaceBefore=10,
            spaceAfter=6,
        )
        self.body = ParagraphStyle("body", fontName=fonts.regular, fontSize=8.5, leading=11.5)
        self.mono = ParagraphStyle(
            "mono", fontName=fonts.mono, fontSize=7.5, leading=10, wordWrap="CJK"
        )
        self.cell = ParagraphStyle(
            "cell", fontName=fonts.regular, fontSize=7.5, leading=10, wordWrap="CJK"
        )

    def t(self, key: str, **values: object) -> str:
        return _t(self.lang, key, **values)

    def p(self, value: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(escape(value), style or self.body)

    def story(self) -> list[object]:
        result = self.data.result
        checks = result.checks
        passed = sum(c.verdict is Verdict.PASS for c in checks)
        failed = sum(c.verdict is Verdict.FAIL for c in checks)
        unchecked = sum(c.verdict is Verdict.NOT_CHECKED for c in checks)
        untrusted = sum(c.verdict is Verdict.UNTRUSTED for c in checks)
        outcome = (
            "outcome_untrusted"
            if result.exit_code == 2 and untrusted
            else f"outcome_{result.exit_code}"
        )
        verified = self.data.verified_at.astimezone(BEIJING)
        rows = [
            (self.t("bundle"), self.p(result.bundle, self.mono)),
            (
                self.catalogue.pgettext("verification report", "Manifest SHA-256"),
                self.p(result.manifest_sha256 or self.t("none"), self.mono),
            ),
            (
                self.t("verified_at"),
                self.p(
                    f"{verified:%Y-%m-%d %H:%M:%S} (UTC+8) / {isoformat(self.data.verified_at)}"
                ),
            ),
        ]
        if self.data.verifier_name:
            rows.append((self.t("verifier"), self.p(self.data.verifier_name)))
        rows.append(
            (
                self.t("outcome"),
                self.p(
                    f"{self.t(outcome)} — "
                    f"{self.t('counts', p=passed, f=failed, n=unchecked, u=untrusted)} "
                    f"{self.t('exit_code', code=result.exit_code)}"
                ),
            )
        )
        story: list[object] = [Paragraph(escape(self.t("title")), self.title)]
        story.append(self.kv(rows))
        story.append(Paragraph(escape(self.t("sec_setup")), self.heading))
        setup = [
            (self.t("tool"), self.p(f"evidence-toolkit {self.data.tool_version}")),
            (
                self.t("libraries"),
                self.p(", ".join(f"{k} {v}" for k, v in self.data.library_versions)),
            ),
        ]
        gettext = self.catalogue.gettext
        for key, value in self.data.setup:
            setup.append(
                (setup_label(key, gettext), self.p(setup_value(value, gettext), self.mono))
            )
        setup += self.standing_rows()
        story.append(self.kv(setup))
        story.append(Paragraph(escape(self.t("sec_results")), self.heading))
        story.append(self.results_table(checks))
        story.append(Paragraph(escape(self.t("sec_notes")), self.heading))
        story.append(self.p(self.t("note_method")))
        if not self.data.signed:
            story.append(Spacer(1, 4))
            story.append(self.p(self.t("note_unsigned")))
        return story

    def standing_rows(self) -> list[tuple[str, Paragraph]]:
        """The time-stamp and anchor titled as the item report titles them."""
        rows = []
        if self.data.timestamp_standing is not None:
            rows.append(
                (
                    translate(self.lang, _STANDING_LABELS["timestamp"]),
                    self.p(timestamp_title(self.lang, self.data.timestamp_standing)),
                )
            )
        if self.data.anchor_standing is not None:
            rows.append(
                (
                    translate(self.lang, _STANDING_LABELS["anchor"]),
                    self.p(anchor_title(self.lang, self.data.anchor_standing)),
                )
            )
        return rows

    def check_cell(self, check: str) -> Paragraph:
        """The check's name in the report's language over its id (what experts grep for)."""
        label = escape(check_label(check, self.catalogue.gettext))
        return Paragraph(
            f'{label}<br/><font name="{self.fonts.mono}" size="6.5">{escape(check)}</font>',
            self.cell,
        )

    def reason(self, check: CheckResult) -> str:
        """The reason in the report's language; a reason written as free text is shown as
        recorded, marked as such, never dropped."""
        gettext = self.catalogue.gettext
        if check.reasons:
            return render_reasons(
                check.reasons, gettext, lambda value: reason_value(value, gettext)
            )
        return Reason.of(ReasonCode.ERROR, error=check.detail).render(gettext)

    def kv(self, rows: Sequence[tuple[str, Paragraph]]) -> Table:
        width = A4[0] - 2 * MARGIN
        table = Table(
            [[self.p(label), value] for label, value in rows],
            colWidths=[110, width - 110],
        )
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f0f0")),
                ]
            )
        )
        return table

    def results_table(self, checks: Sequence[CheckResult]) -> Table:
        width = A4[0] - 2 * MARGIN
        header = [self.p(self.t(k), self.cell) for k in ("col_no", "col_check", "col_subject")]
        header += [
            self.p(self.t("col_verdict"), self.cell),
            self.p(self.catalogue.pgettext("verification report", "Reason"), self.cell),
        ]
        data: list[list[Paragraph]] = [header]
        styles: list[tuple[object, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("FONTNAME", (0, 0), (-1, -1), self.fonts.regular),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e0e0e0")),
        ]
        for number, check in enumerate(checks, start=1):
            detail = self.reason(check)
            if len(detail) > MAX_DETAIL_CHARS:
                detail = detail[:MAX_DETAIL_CHARS] + " …"
            verdict_style = ParagraphStyle(
                f"v{number}", parent=self.cell, textColor=_VERDICT_COLOURS[check.verdict]
            )
            data.append(
                [
                    self.p(str(number), self.cell),
                    self.check_cell(check.check),
                    self.p(check.subject, self.mono),
                    self.p(self.t(check.verdict.value), verdict_style),
                    self.p(detail, self.cell),
                ]
            )
        table = Table(
            data,
            colWidths=[24, 92, 112, 44, width - 272],
            repeatRows=1,
        )
        table.setStyle(TableStyle(styles))
        return table
