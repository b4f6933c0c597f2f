"""What the verifier found, as codes and values rather than sentences.

Each check result keeps its English sentence (``detail``, what the command
line and ``--json`` have always shown) and, beside it, the :class:`Reason`s it
was made from: a :class:`ReasonCode` and its values (paths, digests, times).
The verification report renders those reasons in its own language through the
message catalogue, so a Chinese report never reprints an English sentence.
The English templates live in :mod:`evidence.model.verification_reasons`;
check names and the report's other words live here.

A reason whose text comes from elsewhere (a library's error message) is kept
whole as ``{error}``: translation may frame it, never drop it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from evidence.model.coded_text import values_from_json
from evidence.model.i18n import N_
from evidence.model.verification_reasons import TEMPLATES, ReasonCode

__all__ = [
    "CHECK_LABELS",
    "Reason",
    "ReasonCode",
    "Translate",
    "check_label",
    "render_reasons",
]

Translate = Callable[[str], str]
"""English template in, template in the reader's language out (gettext)."""

# Check id (evidence.verification.ids.CheckId, by value) -> what it checks, for a reader.
# The model cannot import the verifier; tests/test_verification_report_language.py
# checks that every id has its label.
CHECK_LABELS: dict[str, str] = {
    "bundle.read": N_("Every file of the bundle read and hashed"),
    "bundle.size": N_("Bundle size"),
    "manifest": N_("Manifest present"),
    "manifest.format": N_("Manifest format"),
    "checksums.sha256": N_("SHA-256 checksum list"),
    "checksums.sm3": N_("SM3 checksum list"),
    "artifact.present": N_("Exhibit present"),
    "artifact.read": N_("Exhibit readable"),
    "artifact.digest": N_("Exhibit size and digests"),
    "artifact.extra": N_("Unlisted exhibit"),
    "manifest.signature": N_("Officer's signature on the manifest"),
    "signers.list": N_("List of signers (signers.txt)"),
    "index.member": N_("Signed file index: file"),
    "index.signature": N_("Signed file index: signature"),
    "index.timestamp": N_("Signed file index: time-stamp"),
    "timestamp.token": N_("Time-stamp token"),
    "timestamp.details": N_("Time-stamp details"),
    "time.order": N_("Capture before time-stamp"),
    "anchor": N_("Blockchain anchor record"),
    "anchor.record": N_("Anchor record format"),
    "anchor.leaf": N_("Anchored leaf is the manifest"),
    "anchor.merkle": N_("Merkle path"),
    "anchor.registry": N_("Registry contract"),
    "anchor.chain_id": N_("Chain ID"),
    "time.anchor": N_("Block time against time-stamp"),
    "anchor.chain": N_("Anchor transaction on the chain"),
    "warc.record": N_("WARC record digests"),
    "custody.chain": N_("Custody log hash chain"),
    "custody.anchor": N_("Custody log anchoring"),
    "report.format": N_("Report PDF format"),
    "report.identity": N_("Report names this item"),
    "report.content": N_("Report has no active content"),
    "report.signature": N_("Report signature"),
    "screenshot.replay": N_("Screenshot against WARC replay"),
    "video.frames": N_("Session video frames"),
    "wacz.datapackage": N_("WACZ datapackage"),
    "wacz.digest": N_("WACZ file digest"),
    "wacz.signature": N_("WACZ signature"),
    "evidence.bundle": N_("Evidence bundle inside the WACZ"),
    "wacz.warc": N_("WACZ WARC is the evidence WARC"),
    "wacz.manifest_link": N_("WACZ links the evidence manifest"),
}


def check_label(check: str, translate: Translate) -> str:
    """The check's name for a reader; an unknown (newer) id is shown as recorded."""
    label = CHECK_LABELS.get(check)
    return translate(label) if label is not None else check


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a check gives for its verdict: what (``code``) and its particulars."""

    code: ReasonCode
    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, code: ReasonCode, **values: object) -> Reason:
        return cls(code, tuple(sorted((k, str(v)) for k, v in values.items())))

    def render(
        self, translate: Translate | None = None, value_text: Translate | None = None
    ) -> str:
        """The reason as a sentence; English unless ``translate`` is given.

        ``value_text`` renders the values in the reader's language too, where a check
        passed an English phrase as a value (it must leave data unchanged).
        """
        template = TEMPLATES[self.code]
        values = dict(self.values)
        if translate is not None:
            template = translate(template)
            if value_text is not None:
                values = {key: value_text(value) for key, value in values.items()}
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            # A translation that lost a placeholder must not hide the reason.
            return TEMPLATES[self.code].format(**dict(self.values))

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code.value, "values": dict(self.values)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Reason | None:
        """``None`` for a code this toolkit does not know (a newer verifier's)."""
        try:
            code = ReasonCode(str(raw.get("code", "")))
        except ValueError:
            return None
        values = values_from_json(raw)
        return None if values is None else cls(code, values)


def render_reasons(
    reasons: Iterable[Reason],
    translate: Translate | None = None,
    value_text: Translate | None = None,
) -> str:
    """Several reasons of one result as one text, joined as the check joined them."""
    # TRANSLATORS: between two findings of one clean-environment check.
    separator = "; " if translate is None else translate(N_("; "))
    return separator.join(r.render(translate, value_text) for r in reasons)
