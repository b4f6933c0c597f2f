"""What a PDF holds besides its pages' text and images, found by walking every object.

An evidence report is text and pictures. Whatever runs when it is opened or
clicked (JavaScript, ``/OpenAction``, ``/AA``, launch, submit or import
actions), brings other files along (embedded files, attachments, rich
media), or hides its content (encryption, XFA forms) has no place in one:
our writer puts none of it there, so each is named as a finding.

Every indirect object is visited, with the direct objects inside it, so a
script is found wherever it hangs, referenced or not. The same walk counts
the signature values (dictionaries with ``/ByteRange`` and ``/Contents``),
so a signature is judged even when the form does not list it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

from evidence.verification.context import one_line

if TYPE_CHECKING:
    import pikepdf

__all__ = ["PdfInventory", "inventory"]

MAX_DEPTH = 64
"""Direct objects nested deeper than this are not a report's."""

_KEYS = {
    "/JS": "JavaScript (/JS)",
    "/JavaScript": "a document JavaScript name tree",
    "/OpenAction": "an /OpenAction (runs on opening)",
    "/AA": "additional actions (/AA, run on events)",
    "/EmbeddedFiles": "an /EmbeddedFiles name tree",
    "/EF": "an embedded file (/EF)",
    "/XFA": "an XFA form",
}
"""Keys that are a finding wherever they appear."""

_ACTIONS = {
    "/JavaScript": "a JavaScript action",
    "/Launch": "a /Launch action (starts a program)",
    "/SubmitForm": "a /SubmitForm action (sends form data out)",
    "/ImportData": "an /ImportData action",
    "/GoToR": "a /GoToR action (opens another file)",
    "/GoToE": "a /GoToE action (opens an embedded file)",
    "/RichMediaExecute": "a /RichMediaExecute action",
    "/Rendition": "a /Rendition action (plays media)",
}
"""Values of an action's ``/S`` that are findings."""

_KINDS = {
    ("/Type", "/EmbeddedFile"): "an embedded file stream",
    ("/Subtype", "/FileAttachment"): "a file attachment annotation",
    ("/Subtype", "/RichMedia"): "a rich media annotation",
    ("/Subtype", "/Screen"): "a screen (media) annotation",
    ("/Subtype", "/Movie"): "a movie annotation",
    ("/Subtype", "/Sound"): "a sound annotation",
}


@dataclass(frozen=True, slots=True)
class PdfInventory:
    findings: tuple[str, ...]
    """What should not be there, each with the first object it was found in."""
    signature_values: int
    """Dictionaries holding a signature (``/ByteRange`` and ``/Contents``)."""
    damage: tuple[str, ...]
    """What qpdf had to work around while reading the objects (a whole file has none)."""


def inventory(pdf: pikepdf.Pdf) -> PdfInventory:
    """Walk every object of ``pdf``; an object that cannot be read is a finding too."""
    import pikepdf

    walk = _Walk()
    if pdf.is_encrypted:
        walk.found("encryption", "the trailer's /Encrypt")
    for obj in pdf.objects:
        if obj is None:
            continue  # a null object (or one qpdf could not read: a warning says so)
        where = f"object {obj.objgen[0]}"
        try:
            walk.visit(obj, where, 0)
        except pikepdf.PdfError as exc:
            walk.found(f"an object that cannot be read ({one_line(exc)})", where)
    return PdfInventory(
        tuple(f"{what} (in {where})" for what, where in walk.findings.items()),
        walk.signatures,
        tuple(str(w) for w in pdf.get_warnings()),
    )


class _Walk:
    def __init__(self) -> None:
        self.findings: dict[str, str] = {}
        self.signatures = 0

    def found(self, what: str, where: str) -> None:
        self.findings.setdefault(what, where)

    def visit(self, obj: pikepdf.Object, where: str, depth: int) -> None:
        import pikepdf

        if depth > MAX_DEPTH:
            self.found(f"objects nested more than {MAX_DEPTH} levels deep", where)
            return
        if isinstance(obj, pikepdf.Array):
            for item in obj:
                if _direct_container(item):
                    self.visit(item, where, depth + 1)
        elif isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            self._visit_dictionary(obj, where, depth)

    def _visit_dictionary(self, obj: pikepdf.Object, where: str, depth: int) -> None:
        keys = set(obj.keys())
        for key in sorted(keys & _KEYS.keys()):
            self.found(_KEYS[key], where)
        action = _name(obj.get("/S"))
        if action in _ACTIONS:
            self.found(_ACTIONS[action], where)
        for (key, kind), what in _KINDS.items():
            if _name(obj.get(key)) == kind:
                self.found(what, where)
        if {"/ByteRange", "/Contents"} <= keys:
            self.signatures += 1
        for key in sorted(keys):
            child = obj.get(key)
            if _direct_container(child):
                self.visit(child, where, depth + 1)


def _direct_container(obj: object) -> TypeGuard[pikepdf.Object]:
    """A dictionary or array written inside its parent (indirect ones are visited on their own)."""
    import pikepdf

    return isinstance(obj, pikepdf.Dictionary | pikepdf.Array) and not obj.is_indirect


def _name(value: object) -> str | None:
    import pikepdf

    return str(value) if isinstance(value, pikepdf.Name) else None
