"""Capture jobs: submit one or a list (idempotency keys), status, cancel, live events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from evidence import (
    CAPTURE_ROLES,
    CASE_READER_ROLES,
    AccessDeniedError,
    CustodyAction,
    JobKind,
    JobRecord,
    NotFoundError,
    Principal,
    Role,
    Toolkit,
)
from evidence.api.access import Caller, Kit, agency_case, require

router = APIRouter()

EVENT_POLL_S = 0.5
EVENT_STREAM_MAX_S = 600.0


class CaptureJobRequest(BaseModel):
    case_number: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=8000)
    idempotency_key: str = Field(min_length=1, max_length=200)
    officer: str = Field(default="", max_length=100)
    """The acting officer's enforcement ID; an officer user always captures as themself."""
    place: str | None = Field(default=None, max_length=500)
    purpose: str | None = Field(default=None, max_length=500)
    then_timestamp: bool = True


class CaptureJobList(BaseModel):
    jobs: list[CaptureJobRequest] = Field(min_length=1, max_length=500)


def job_json(job: JobRecord) -> dict[str, Any]:
    return {
        **jsonable_encoder({k: v for k, v in asdict(job).items() if k != "payload"}),
        "kind": job.kind.value,
        "status": job.status.value,
        "payload": jsonable_encoder(asdict(job.payload)),
        "finished": job.finished,
    }


def _officer_of(caller: Principal, requested: str) -> str:
    if caller.role is Role.OFFICER:
        if requested and requested != caller.enforcement_id:
            raise AccessDeniedError("an officer captures as themself only")
        if not caller.enforcement_id:
            raise AccessDeniedError("this officer user is not linked to an officer record")
        return caller.enforcement_id
    return requested


def _submit(kit: Toolkit, caller: Principal, job: CaptureJobRequest) -> JobRecord:
    agency_case(kit, caller, job.case_number)
    payload = {
        "case_number": job.case_number, "url": job.url,
        "officer": _officer_of(caller, job.officer), "place": job.place,
        "purpose": job.purpose, "then_timestamp": job.then_timestamp,
    }  # fmt: skip
    # Keys are scoped by agency: another agency's key never finds this agency's job.
    key = f"{caller.agency_id}:{job.idempotency_key}"
    record = kit.jobs.submit(JobKind.CAPTURE, payload, key, caller.actor)
    details = {"job": record.id, "url": job.url, "case": job.case_number}
    kit.identity.record(caller, CustodyAction.JOB_SUBMIT, details=details)
    return record


@router.post("/jobs/capture", status_code=202)
def submit_captures(
    body: CaptureJobRequest | CaptureJobList, caller: Caller, kit: Kit
) -> dict[str, Any]:
    """Queue one capture or a list; the same idempotency key gives back the same job."""
    require(caller, CAPTURE_ROLES)
    requests = body.jobs if isinstance(body, CaptureJobList) else [body]
    return {"jobs": [job_json(_submit(kit, caller, job)) for job in requests]}


def agency_job(kit: Toolkit, caller: Principal, job_id: str) -> JobRecord:
    """A capture job of one of the caller's agency's cases; the same 404 otherwise."""
    try:
        job = kit.jobs.status(job_id)
        case_number = getattr(job.payload, "case_number", None)
        if job.kind is not JobKind.CAPTURE or case_number is None:
            raise NotFoundError(f"no job {job_id}")
        agency_case(kit, caller, case_number)
    except NotFoundError:
        raise NotFoundError(f"no job {job_id}") from None
    return job


@router.get("/jobs/{job_id}")
def job_status(job_id: str, caller: Caller, kit: Kit) -> dict[str, Any]:
    require(caller, CASE_READER_ROLES)
    return job_json(agency_job(kit, caller, job_id))


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, caller: Caller, kit: Kit) -> dict[str, Any]:
    """Cancel a job no worker has started (409 otherwise)."""
    require(caller, CAPTURE_ROLES)
    agency_job(kit, caller, job_id)
    job = kit.jobs.cancel(job_id)
    kit.identity.record(caller, CustodyAction.JOB_CANCEL, details={"job": job_id})
    return job_json(job)


async def _events(kit: Toolkit, job_id: str) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + EVENT_STREAM_MAX_S
    last = ""
    while True:
        job = await run_in_threadpool(kit.jobs.status, job_id)
        text = json.dumps(job_json(job), ensure_ascii=False, sort_keys=True)
        if text != last:
            last = text
            yield f"event: status\ndata: {text}\n\n"
        if job.finished:
            yield "event: end\ndata: {}\n\n"
            return
        if loop.time() > deadline:
            yield "event: timeout\ndata: {}\n\n"
            return
        await asyncio.sleep(EVENT_POLL_S)


@router.get("/jobs/{job_id}/events")
def job_events(job_id: str, caller: Caller, kit: Kit) -> StreamingResponse:
    """Server-sent events: the job's status whenever it changes, until it finishes."""
    require(caller, CASE_READER_ROLES)
    agency_job(kit, caller, job_id)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(_events(kit, job_id), media_type="text/event-stream", headers=headers)
