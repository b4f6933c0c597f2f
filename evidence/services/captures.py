"""Capture a page in a real browser and seal what it recorded into the store.

An item is recorded ``capturing`` before the browser starts, so a crash
leaves a trace (``doctor`` settles it); a failed capture becomes ``failed``
with its working files kept; a successful one becomes ``sealed`` in one
transaction, after every byte is durable in the store.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

from sqlmodel import Session, col, select

import capture
from evidence.model.capture_options import CaptureOptions, CaptureStep
from evidence.model.capture_record import CaptureRecord
from evidence.model.errors import AttributionError, EvidenceError, LifecycleError
from evidence.model.jobs import settle_capture_job
from evidence.model.manifest import (
    ARTIFACT_DIR,
    Manifest,
    ManifestEntry,
    canonical_json,
    capture_to_json,
)
from evidence.model.records import ActingOfficer, CustodyAction, isoformat
from evidence.model.tables import Artifact, Case, EvidenceItem, ItemStatus, Officer
from evidence.model.version import __version__, dependency_versions
from evidence.services._context import ServiceContext
from evidence.services.cases import case_row, item_info, item_row
from evidence.services.officers import acting_officer_record, acting_officer_row
from evidence.services.results import CaptureCircumstances, ItemInfo

logger = logging.getLogger(__name__)


def load_steps(path: Path) -> tuple[CaptureStep, ...]:
    """Read a navigation steps file (JSON or TOML); :class:`StepsFileError` if malformed."""
    return capture.load_steps(path)


class CaptureService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def capture(
        self,
        case_number: str,
        url: str,
        options: CaptureOptions | None = None,
        *,
        officer: str | None = None,
        place: str | None = None,
        purpose: str | None = None,
        job_key: str | None = None,
    ) -> ItemInfo:
        """Capture ``url`` in a real browser and seal the result into the store.

        ``officer`` is the acting officer's enforcement ID, one of the case's
        officers (default: the one set for this operating-system account with
        :meth:`OfficerService.set_default_officer`); without one, or on a case
        with no officers, :class:`AttributionError` is raised before anything is
        recorded. ``place`` and ``purpose`` (地点, 目的) default to the case's.

        The item is recorded as ``capturing`` before the browser starts; if the
        capture fails it becomes ``failed`` with its working files kept.

        ``job_key`` (a worker job's idempotency key) is recorded on the item: a retried
        job whose worker died mid-capture captures again into the same ``capturing``
        item, and the job is marked succeeded in the transaction that seals it.
        """
        url = capture.validate_url(url)
        options = self._effective_options(options or CaptureOptions())
        # Refused before an item exists: a refused URL is bad input, not a failed capture.
        capture.check_target(
            url,
            allow_private=options.safety.allow_private_targets,
            allowed_hosts=options.safety.allowed_private_hosts,
        )
        item_id = self._unfinished_job_item(job_key) if job_key else None
        if item_id is not None:  # an earlier attempt died mid-capture: start its files afresh
            shutil.rmtree(self._ctx.settings.work_dir / item_id, ignore_errors=True)
        else:
            item_id = self._record_start(
                case_number, url, options, CaptureCircumstances(officer, place, purpose), job_key
            )
        workdir = self._ctx.settings.work_dir / item_id
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            record = capture.capture_page(
                url, workdir, options, clock=self._ctx.clock, id_factory=self._ctx.new_id
            )
        except EvidenceError as exc:
            self.mark_failed(item_id, exc.message)
            raise
        except Exception as exc:
            self.mark_failed(item_id, f"{exc.__class__.__name__}: {exc}")
            raise
        return self.seal(item_id, case_number, record)

    def acting_officer(self, case_number: str, officer: str | None = None) -> ActingOfficer:
        """The officer a capture into the case would be attributed to (``officer`` or this
        account's default); :class:`AttributionError` when there is none."""
        with self._ctx.session() as session:
            case = case_row(session, case_number)
            return acting_officer_record(session, acting_officer_row(session, case, officer))

    def seal(self, item_id: str, case_number: str, record: CaptureRecord) -> ItemInfo:
        """Store the record's files and manifest and mark the ``capturing`` item sealed.

        Also the way to seal files that did not come from the browser (tests,
        imports): the item row must exist already.
        """
        self._check_attributed(item_id)
        entries = self._store_files(record)
        sealed_at = self._ctx.clock()
        with self._ctx.session() as session:
            case = case_row(session, case_number)
            item = item_row(session, item_id)
            acting = _acting_officer_of(session, item)
            manifest = replace(
                _manifest(case, item_id, record, entries, isoformat(sealed_at)),
                acting_officer=acting,
                place=item.place,
                purpose=item.purpose,
            )
            digests = self._ctx.store.put_bytes(manifest.to_bytes())
            for entry in entries:
                session.add(_artifact_row(self._ctx.new_id(), item_id, entry))
            item.status = ItemStatus.SEALED
            item.final_url = record.page.final_url
            item.page_title = record.page.title
            item.sealed_at = sealed_at
            item.manifest_sha256 = digests.sha256
            item.manifest_sm3 = digests.sm3
            item.capture_json = canonical_json(manifest.capture).decode("utf-8")
            session.add(item)
            self._ctx.custody(
                session,
                CustodyAction.SEAL,
                item_id=item_id,
                case_id=item.case_id,
                hash_after=digests.sha256,
                details={
                    "artifacts": len(entries),
                    "manifest_sm3": digests.sm3,
                    "final_url": record.page.final_url,
                },
                officer=acting.enforcement_id,
            )
            if item.job_key:
                settle_capture_job(session, item.job_key, item_id, sealed_at)
            # Artifacts, manifest, status and its custody event land in one transaction, after the
            # bytes are durable in the store: "sealed" is never half true.
            session.commit()
            info = item_info(session, item)
        shutil.rmtree(self._ctx.settings.work_dir / item_id, ignore_errors=True)
        logger.info("sealed item %s, manifest %s", item_id, digests.sha256)
        return info

    def mark_failed(self, item_id: str, reason: str) -> None:
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            item.status = ItemStatus.FAILED
            item.error = reason
            session.add(item)
            officer = session.get(Officer, item.officer_id) if item.officer_id else None
            self._ctx.custody(
                session,
                CustodyAction.CAPTURE_FAIL,
                item_id=item.id,
                case_id=item.case_id,
                reason=reason,
                officer=officer.enforcement_id if officer else "",
            )
            session.commit()

    def _effective_options(self, options: CaptureOptions) -> CaptureOptions:
        """The caller's options completed from the settings (browser, operator, allow-list)."""
        settings = self._ctx.settings
        browser, provenance, safety = options.browser, options.provenance, options.safety
        return replace(
            options,
            browser=replace(browser, chromium_path=browser.chromium_path or settings.chromium_path),
            provenance=replace(
                provenance,
                operator=provenance.operator or settings.operator,
                software_version=__version__,
            ),
            safety=replace(
                safety,
                allow_private_targets=(
                    safety.allow_private_targets or settings.allow_private_targets
                ),
                allowed_private_hosts=(
                    *safety.allowed_private_hosts,
                    *settings.allowed_private_hosts,
                ),
            ),
            environment=settings.capture.apply(options.environment),
        )

    def _unfinished_job_item(self, job_key: str) -> str | None:
        """The ``capturing`` item a job with ``job_key`` left (None: it made none yet)."""
        with self._ctx.session() as session:
            item = session.exec(
                select(EvidenceItem).where(col(EvidenceItem.job_key) == job_key)
            ).first()
            if item is None:
                return None
            if item.status is not ItemStatus.CAPTURING:
                raise LifecycleError(
                    f"job {job_key} already made item {item.id} ({item.status.value})"
                )
            return item.id

    def _record_start(
        self,
        case_number: str,
        url: str,
        options: CaptureOptions,
        given: CaptureCircumstances,
        job_key: str | None = None,
    ) -> str:
        with self._ctx.session() as session:
            case = case_row(session, case_number)
            # Refused before an item exists: a capture nobody answers for is not evidence.
            officer = acting_officer_row(session, case, given.officer)
            place = case.place if given.place is None else given.place.strip()
            purpose = case.purpose if given.purpose is None else given.purpose.strip()
            item = EvidenceItem(
                id=self._ctx.new_id(),
                case_id=case.id,
                requested_url=url,
                created_at=self._ctx.clock(),
                officer_id=officer.id,
                place=place,
                purpose=purpose,
                job_key=job_key,
            )
            session.add(item)
            session.flush()
            self._ctx.custody(
                session,
                CustodyAction.CAPTURE_START,
                item_id=item.id,
                case_id=case.id,
                details={
                    "url": url,
                    "device": options.rendering.device or "desktop",
                    "place": place,
                    "purpose": purpose,
                },
                officer=officer.enforcement_id,
            )
            session.commit()
            return item.id

    def _check_attributed(self, item_id: str) -> None:
        """Refuse to seal an item that names no acting officer (before any file is stored)."""
        with self._ctx.session() as session:
            item = item_row(session, item_id)
            if item.officer_id is None:
                raise AttributionError(
                    f"item {item.id} names no acting officer; it cannot be sealed"
                )

    def _store_files(self, record: CaptureRecord) -> list[ManifestEntry]:
        entries: list[ManifestEntry] = []
        for file in record.files:
            digests = self._ctx.store.put_file(file.path)
            entries.append(
                ManifestEntry(
                    path=f"{ARTIFACT_DIR}/{file.name}",
                    role=file.role,
                    media_type=file.media_type,
                    size=digests.size,
                    sha256=digests.sha256,
                    sm3=digests.sm3,
                )
            )
        return entries


def _acting_officer_of(session: Session, item: EvidenceItem) -> ActingOfficer:
    officer = session.get(Officer, item.officer_id) if item.officer_id else None
    if officer is None:
        raise AttributionError(f"item {item.id} names no acting officer; it cannot be sealed")
    return acting_officer_record(session, officer)


def _manifest(
    case: Case, item_id: str, record: CaptureRecord, entries: list[ManifestEntry], sealed_at: str
) -> Manifest:
    return Manifest(
        item_id=item_id,
        case_number=case.number,
        case_title=case.title,
        sealed_at=sealed_at,
        capture=capture_to_json(record),
        artifacts=tuple(entries),
        tool={
            "name": "evidence-toolkit",
            "version": __version__,
            "dependencies": dependency_versions(),
        },
        case_cause=case.cause,
        agency=case.agency,
        officers=tuple(o for o in case.officers.splitlines() if o),
    )


def _artifact_row(row_id: str, item_id: str, entry: ManifestEntry) -> Artifact:
    return Artifact(
        id=row_id,
        item_id=item_id,
        name=entry.path,
        role=entry.role,
        media_type=entry.media_type,
        size=entry.size,
        sha256=entry.sha256,
        sm3=entry.sm3,
    )
