"""The artifact store's backend: move a local store into S3 and prove every digest.

``migrate`` copies every object of the local store (``<home>/store``) to an
S3 location. It is resumable: an object already there is checked (size and
recorded SHA-256; a different object under the name is a conflict, never
overwritten) and skipped. Then it proves the copy: every object is read back
from the server (not from any cache) and re-hashed, its SHA-256 against its
name and its SM3 against the database's record and the local copy. The local
store is never changed; switching to S3 is setting ``EVIDENCE_STORE_URL``.

``check`` re-verifies the store in use the same way: every stored object and
every object the database records.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import select

from evidence.model.errors import ConfigurationError, IntegrityError, NotFoundError
from evidence.model.hashing import Digests
from evidence.model.s3_store import S3ArtifactStore
from evidence.model.store import ArtifactStore
from evidence.model.store_settings import StoreKind
from evidence.model.tables import Artifact, EvidenceItem
from evidence.services._context import ServiceContext

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

Progress = Callable[[str, int, int], None]
"""``(phase, done, total)`` after each object; phase is ``copy``, ``prove`` or ``check``."""


class ObjectFault(enum.StrEnum):
    """What is wrong with one stored object."""

    MISSING = "missing"
    """The database records it (or the source had it) but the store does not hold it."""
    DAMAGED = "damaged"
    """Its bytes no longer hash to its name (SHA-256)."""
    SM3_MISMATCH = "sm3-mismatch"
    """Its SHA-256 is right but its SM3 differs from the recorded one."""
    CONFLICT = "conflict"
    """The target already holds other content under its name; it was not overwritten."""
    SOURCE_DAMAGED = "source-damaged"
    """The local copy is damaged: it was not copied."""


@dataclass(frozen=True, slots=True)
class ObjectProblem:
    sha256: str
    fault: ObjectFault
    detail: str


@dataclass(frozen=True, slots=True)
class StoreCheckReport:
    """``evidence store check``: every object re-read and re-hashed."""

    kind: StoreKind
    location: str
    objects_checked: int
    bytes_checked: int
    recorded: int
    """Objects the database records (artifacts and manifests)."""
    object_lock: bool | None
    """Whether the bucket has S3 Object Lock; None for the local store."""
    problems: tuple[ObjectProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """``evidence store migrate``: what was copied and what the read-back proved."""

    source: str
    target: str
    objects: int
    copied: int
    already_there: int
    bytes_copied: int
    proved: int
    """Objects read back from the target whose SHA-256 (and SM3) matched."""
    sm3_compared: int
    """Of those, how many had an SM3 recorded in the database to compare against."""
    object_lock: bool
    problems: tuple[ObjectProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class StorageService:
    def __init__(self, ctx: ServiceContext, *, jobs: int = 4) -> None:
        self._ctx = ctx
        self._jobs = jobs

    def recorded_digests(self) -> dict[str, str]:
        """SHA-256 -> SM3 of every object the database records (artifacts, manifests)."""
        recorded: dict[str, str] = {}
        with self._ctx.session() as session:
            for sha, sm3 in session.exec(select(Artifact.sha256, Artifact.sm3)).all():
                recorded[sha] = sm3
            rows = session.exec(select(EvidenceItem.manifest_sha256, EvidenceItem.manifest_sm3))
            for manifest_sha, manifest_sm3 in rows.all():
                if manifest_sha:
                    recorded[manifest_sha] = manifest_sm3 or recorded.get(manifest_sha, "")
        return recorded

    # -- check ---------------------------------------------------------------

    def check(self, *, progress: Progress | None = None) -> StoreCheckReport:
        """Re-read and re-hash every object of the store in use (S3: from the server)."""
        store = self._ctx.store
        recorded = self.recorded_digests()
        names = sorted(set(store.stored_digests()) | set(recorded))
        outcomes = self._each(
            names, lambda sha: _prove(store, sha, recorded.get(sha)), "check", progress
        )
        problems = tuple(_with_recovery(store, p) for _, p in outcomes if p is not None)
        return StoreCheckReport(
            kind=self._ctx.settings.store.kind,
            location=store.location,
            objects_checked=len(names),
            bytes_checked=sum(d.size for d, _ in outcomes if d is not None),
            recorded=len(recorded),
            object_lock=_lock_state(store),
            problems=problems,
        )

    # -- migrate -------------------------------------------------------------

    def migrate(
        self,
        target_url: str,
        *,
        endpoint_url: str | None = None,
        create_bucket: bool = False,
        progress: Progress | None = None,
    ) -> MigrationReport:
        """Copy the local store to ``target_url`` (``s3://bucket/prefix``), then prove it."""
        settings = self._ctx.settings
        if not (settings.store_dir / "objects").is_dir():
            raise ConfigurationError(f"there is no local store to migrate at {settings.store_dir}")
        source = ArtifactStore(settings.store_dir)
        names = sorted(source.stored_digests())
        if not names:
            raise ConfigurationError(
                f"the local store at {settings.store_dir} holds no objects: nothing to migrate"
            )
        target = S3ArtifactStore(
            settings.store.with_target(target_url, endpoint_url),
            cache_root=settings.home / "store-cache",
            clock=self._ctx.clock,
        )
        if create_bucket:
            target.ensure_bucket(object_lock=True)
        recorded = self.recorded_digests()
        copies = self._each(names, lambda sha: _copy(source, target, sha), "copy", progress)
        problems = [p for _, p in copies if isinstance(p, ObjectProblem)]
        bad = {p.sha256 for p in problems}
        local_sm3 = {sha: d.sm3 for sha, (d, _) in zip(names, copies, strict=True) if d}
        missing = sorted(set(recorded) - set(names))
        problems += [
            ObjectProblem(
                sha, ObjectFault.MISSING, "recorded in the database, not in the local store"
            )
            for sha in missing
        ]
        to_prove = [sha for sha in names if sha not in bad]
        proofs = self._each(
            to_prove,
            lambda sha: _prove(target, sha, recorded.get(sha) or local_sm3.get(sha)),
            "prove",
            progress,
        )
        problems += [p for _, p in proofs if p is not None]
        copied = [d for d, outcome in copies if d is not None and outcome is True]
        return MigrationReport(
            source=source.location,
            target=target.location,
            objects=len(names),
            copied=len(copied),
            already_there=sum(1 for d, outcome in copies if d is not None and outcome is False),
            bytes_copied=sum(d.size for d in copied),
            proved=sum(1 for d, p in proofs if d is not None and p is None),
            sm3_compared=sum(1 for sha in to_prove if recorded.get(sha)),
            object_lock=target.object_lock_enabled(),
            problems=tuple(problems),
        )

    def _each(
        self,
        names: list[str],
        work: Callable[[str], _T],
        phase: str,
        progress: Progress | None,
    ) -> list[_T]:
        """``work`` on every name, a few at a time, in order.

        The first failure (the store unreachable) cancels what has not started
        and propagates: nothing is left running behind the error.
        """
        results: list[_T] = []
        pool = ThreadPoolExecutor(self._jobs, thread_name_prefix=f"store-{phase}")
        try:
            futures = [pool.submit(work, name) for name in names]
            for index, future in enumerate(futures, start=1):
                results.append(future.result())
                if progress is not None:
                    progress(phase, index, len(names))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return results


def _copy(
    source: ArtifactStore, target: S3ArtifactStore, sha256: str
) -> tuple[Digests | None, bool | ObjectProblem]:
    """Re-hash the local copy and send it: (digests, True if copied / False if already there)."""
    try:
        digests = source.verify(sha256)
    except IntegrityError as exc:
        return None, ObjectProblem(sha256, ObjectFault.SOURCE_DAMAGED, exc.message)
    try:
        copied = target.upload_file(source.path_for(sha256), digests)
    except IntegrityError as exc:
        return None, ObjectProblem(sha256, ObjectFault.CONFLICT, exc.message)
    return digests, copied


def _prove(
    store: ArtifactStore, sha256: str, recorded_sm3: str | None
) -> tuple[Digests | None, ObjectProblem | None]:
    """Read ``sha256`` back from ``store`` and compare; a StoreError (unreachable) propagates."""
    try:
        digests = store.verify(sha256)
    except NotFoundError as exc:
        return None, ObjectProblem(sha256, ObjectFault.MISSING, exc.message)
    except IntegrityError as exc:
        return None, ObjectProblem(sha256, ObjectFault.DAMAGED, exc.message)
    if recorded_sm3 and digests.sm3 != recorded_sm3:
        detail = f"SM3 {digests.sm3} where {recorded_sm3} is recorded"
        return digests, ObjectProblem(sha256, ObjectFault.SM3_MISMATCH, detail)
    return digests, None


def _with_recovery(store: ArtifactStore, problem: ObjectProblem) -> ObjectProblem:
    """A damaged object on a locked (versioned) bucket: name its intact locked version."""
    if problem.fault is not ObjectFault.DAMAGED or not isinstance(store, S3ArtifactStore):
        return problem
    if not store.object_lock_enabled():
        return problem
    version = store.intact_version(problem.sha256)
    if version is None:
        return problem
    key = store.key_for(problem.sha256)
    detail = (
        f"{problem.detail}; an intact locked version is kept: copy version {version} of "
        f"{key} back over it"
    )
    return ObjectProblem(problem.sha256, problem.fault, detail)


def _lock_state(store: ArtifactStore) -> bool | None:
    return store.object_lock_enabled() if isinstance(store, S3ArtifactStore) else None
