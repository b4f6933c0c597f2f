"""What a check is, what it can need, and where it writes what it found.

A check is a function with a declaration: its id, the file it concerns, the
facts it *needs* (without them it cannot say anything: the runner reports it
NOT CHECKED, naming the missing fact), the facts it *uses* when present, and
the facts it *provides* for later checks. Facts are typed values established
while checking — the files' digests, the manifest's bytes and parsed form, a
verified genTime, an anchor proven to hold the manifest — kept on the
:class:`Context` with the bundle source and the expert's options.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from evidence.model.errors import BundleError
from evidence.model.hashing import Digests, DualHasher
from evidence.model.manifest import Manifest
from evidence.model.records import AnchorReceipt, CheckResult, Verdict
from evidence.model.trust import TrustPolicy
from evidence.model.verification_messages import Reason, render_reasons
from evidence.verification.ids import CheckId
from evidence.verification.options import VerifyOptions
from reports.bundle.limits import MAX_SMALL_FILE
from reports.bundle.reader import BundleSource, read_chunks
from reports.bundle.wacz_reader import Datapackage

if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "Check",
    "CheckRun",
    "Context",
    "Fact",
    "Findings",
    "MemberDigests",
    "Outcome",
    "one_line",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MemberDigests:
    """Size, SHA-256 and SM3 of every file, from one streaming pass over the bundle."""

    by_name: Mapping[str, Digests | None]
    """None for a file that could not be read (already reported as such)."""

    def of(self, name: str) -> Digests | None:
        return self.by_name.get(name)


class Fact(enum.Enum):
    """What one check establishes for others; the value names it in NOT CHECKED reasons."""

    DIGESTS = ("the files' digests", MemberDigests)
    MANIFEST_BYTES = ("manifest.json", bytes)
    MANIFEST = ("the parsed manifest", Manifest)
    GEN_TIME = ("the verified time-stamp", datetime)
    ANCHOR = ("the anchor record proven to hold the manifest", AnchorReceipt)
    DATAPACKAGE = ("the WACZ's datapackage", Datapackage)
    BUNDLED_MANIFEST = ("the manifest of the bundled evidence", Manifest)
    BUNDLED_MANIFEST_SHA256 = ("the digest of the bundled manifest", str)

    def __init__(self, label: str, kind: type[object]) -> None:
        self.label = label
        self.kind = kind


class Findings:
    """The results one check produced, in the order it found them."""

    def __init__(self) -> None:
        self._results: list[CheckResult] = []

    def add(
        self,
        check: CheckId,
        subject: str,
        verdict: Verdict,
        detail: str | Reason | Sequence[Reason],
    ) -> None:
        """One result; a :class:`Reason` (or several, joined with "; ") gives both the
        English detail and the codes a report renders in its own language."""
        if isinstance(detail, str):
            self._results.append(CheckResult(check, subject, verdict, detail))
            return
        reasons = (detail,) if isinstance(detail, Reason) else tuple(detail)
        self._results.append(CheckResult(check, subject, verdict, render_reasons(reasons), reasons))

    def extend(self, results: Iterable[CheckResult]) -> None:
        self._results.extend(results)

    @property
    def results(self) -> tuple[CheckResult, ...]:
        return tuple(self._results)

    def failed(self, check: CheckId) -> bool:
        return any(r.check == check and r.verdict is Verdict.FAIL for r in self._results)

    def first_problem(self) -> CheckResult | None:
        return next((r for r in self._results if r.verdict is not Verdict.PASS), None)


@dataclass(frozen=True, slots=True)
class Check:
    """One check as the runner sees it; adding one is a module-level ``Check(...)`` and a
    line in the registry (:mod:`evidence.verification.runner`)."""

    id: CheckId
    """The id of its main result, and of the NOT CHECKED line when it cannot run."""
    run: Callable[[Context, Findings], None]
    subject: str
    """The file or field a NOT CHECKED or crash line names."""
    needs: frozenset[Fact] = frozenset()
    uses: frozenset[Fact] = frozenset()
    provides: frozenset[Fact] = frozenset()


@dataclass(frozen=True, slots=True)
class CheckRun:
    """One check and what it found (or why it could not run)."""

    check: Check
    results: tuple[CheckResult, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished run over one bundle (a WACZ runs one over the bundle it carries)."""

    runs: tuple[CheckRun, ...]
    setup: tuple[tuple[str, str], ...]
    manifest: Manifest | None
    manifest_sha256: str | None

    @property
    def results(self) -> tuple[CheckResult, ...]:
        """Every result, in the order the checks ran."""
        return tuple(r for run in self.runs for r in run.results)


class Context:
    """The bundle, the options, and the facts established so far."""

    def __init__(
        self,
        source: BundleSource,
        label: str,
        options: VerifyOptions,
        *,
        trust: TrustPolicy,
        nested: Callable[[BundleSource, str], Outcome],
    ) -> None:
        self.source = source
        self.label = label
        self.options = options
        self.names = frozenset(source.names())
        self.setup = options.setup()
        """What the checks ran against, for the verification report; checks add to it."""
        self.trust = trust
        """What the expert trusts: the trust configuration plus the command line."""
        self.signer_roots: list[x509.Certificate] | None = (
            [entry.certificate() for entry in trust.signer_roots] if trust.signer_roots else None
        )
        self.verify_nested = nested
        """Runs every bundle check over another source (the bundle inside a WACZ)."""
        self._facts: dict[Fact, object] = {}
        self.running: Check | None = None
        """The check now running, set by the runner: it may provide only what it declares."""

    def has(self, fact: Fact) -> bool:
        return fact in self._facts

    def provide(self, fact: Fact, value: object) -> None:
        if self.running is not None and fact not in self.running.provides:
            raise TypeError(f"{self.running.id} provides {fact.name} without declaring it")
        if not isinstance(value, fact.kind):
            raise TypeError(f"{fact.name} must be {fact.kind.__name__}, not {type(value)}")
        self._facts[fact] = value

    def _get(self, fact: Fact, kind: type[T]) -> T:
        value = self._facts.get(fact)
        if not isinstance(value, kind):
            raise LookupError(f"{fact.name} is not established: the check must declare it")
        return value

    @property
    def digests(self) -> MemberDigests:
        return self._get(Fact.DIGESTS, MemberDigests)

    @property
    def manifest_bytes(self) -> bytes:
        return self._get(Fact.MANIFEST_BYTES, bytes)

    @property
    def manifest(self) -> Manifest:
        return self._get(Fact.MANIFEST, Manifest)

    @property
    def gen_time(self) -> datetime:
        return self._get(Fact.GEN_TIME, datetime)

    @property
    def anchor(self) -> AnchorReceipt:
        return self._get(Fact.ANCHOR, AnchorReceipt)

    @property
    def datapackage(self) -> Datapackage:
        return self._get(Fact.DATAPACKAGE, Datapackage)

    @property
    def bundled_manifest(self) -> Manifest:
        return self._get(Fact.BUNDLED_MANIFEST, Manifest)

    @property
    def bundled_manifest_sha256(self) -> str:
        return self._get(Fact.BUNDLED_MANIFEST_SHA256, str)

    def manifest_sha256(self) -> str | None:
        """The digest the report is about: this bundle's manifest, or the one a WACZ carries."""
        if self.has(Fact.MANIFEST_BYTES):
            return hashlib.sha256(self.manifest_bytes).hexdigest()
        if self.has(Fact.BUNDLED_MANIFEST_SHA256):
            return self.bundled_manifest_sha256
        return None

    def read_small(self, name: str, out: Findings) -> bytes | None:
        """A metadata file's bytes, provided they are the bytes that were hashed.

        None when the file is absent or unreadable (already reported), too
        large, or changed since hashing (both reported here).
        """
        digests = self.digests.of(name) if name in self.names else None
        if digests is None:
            return None
        if digests.size > MAX_SMALL_FILE:
            out.add(CheckId.BUNDLE_SIZE, name, Verdict.FAIL, f"{digests.size} bytes is too large")
            return None
        with self.source.open(name) as stream:
            data = stream.read(MAX_SMALL_FILE + 1)
        # Guard against a file swapped between the hashing pass and this read.
        if hashlib.sha256(data).hexdigest() != digests.sha256:
            out.add(CheckId.BUNDLE_READ, name, Verdict.FAIL, "content changed while being read")
            return None
        return data

    def copy_out(self, name: str, target: Path) -> Path:
        """Copy a member to ``target`` (in a private temporary directory) for a tool to read.

        Raises :class:`BundleError` when the copy is not the file that was hashed.
        """
        digests = self.digests.of(name)
        if digests is None:
            raise BundleError(f"{name} is missing or unreadable")
        with self.source.open(name) as src, target.open("wb") as out:
            hasher = DualHasher()
            for chunk in read_chunks(src):
                hasher.update(chunk)
                out.write(chunk)
        # What a tool reads must be what was hashed and checked.
        if hasher.finalize().sha256 != digests.sha256:
            raise BundleError(f"{name} changed while being read")
        return target


def one_line(exc: BaseException) -> str:
    """An exception as one line of a result: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
