"""Cases, items, their files, report and bundle, and the custody log: agency-scoped."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, SecretStr
from starlette.background import BackgroundTask

from evidence import (
    CAPTURE_ROLES,
    CASE_READER_ROLES,
    AccessDeniedError,
    CaseInfo,
    CustodyAction,
    Principal,
    Role,
    Toolkit,
)
from evidence.api.access import Caller, Kit, agency_case, agency_item, require
from evidence.api.errors import BadRequestError, ExportSignerRequiredError

router = APIRouter()


class CaseRequest(BaseModel):
    number: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=500)
    cause: str = Field(default="", max_length=2000)
    place: str = Field(default="", max_length=500)
    purpose: str = Field(default="", max_length=500)
    officers: list[str] = Field(default_factory=list, max_length=50)
    """Enforcement IDs of the officers assigned to the case."""


def _case_json(case: CaseInfo) -> dict[str, Any]:
    return dict(jsonable_encoder(asdict(case)))


def _access(kit: Toolkit, caller: Principal, request: str, **where: str) -> None:
    kit.identity.record(caller, CustodyAction.ACCESS, details={"request": request, **where})


@router.get("/cases")
def list_cases(caller: Caller, kit: Kit) -> list[dict[str, Any]]:
    require(caller, CASE_READER_ROLES)
    _access(kit, caller, "cases.list")
    return [_case_json(c) for c in kit.list_cases() if c.agency == caller.agency_name]


@router.post("/cases", status_code=201)
def create_case(body: CaseRequest, caller: Caller, kit: Kit) -> dict[str, Any]:
    """A case of the caller's agency; an officer creating it is assigned to it."""
    require(caller, CAPTURE_ROLES)
    acting = kit.acting_as(caller.actor)
    try:
        acting.create_case(
            body.number, body.title, cause=body.cause, agency=caller.agency_name,
            place=body.place, purpose=body.purpose,
        )  # fmt: skip
        officers = list(body.officers)
        if caller.role is Role.OFFICER and caller.enforcement_id:
            officers.append(caller.enforcement_id)
        case = acting.get_case(body.number)
        for enforcement_id in dict.fromkeys(officers):
            case = acting.assign_officer(body.number, enforcement_id)
    finally:
        acting.close()
    return _case_json(case)


@router.get("/cases/{number}")
def get_case(number: str, caller: Caller, kit: Kit) -> dict[str, Any]:
    require(caller, CASE_READER_ROLES)
    case = agency_case(kit, caller, number)
    _access(kit, caller, "cases.get", case=number)
    return {**_case_json(case), "items": [_item_json(i) for i in kit.list_items(number)]}


def _item_json(item: Any) -> dict[str, Any]:
    return dict(jsonable_encoder(asdict(item)))


@router.get("/items/{item_id}")
def get_item(item_id: str, caller: Caller, kit: Kit) -> dict[str, Any]:
    require(caller, CASE_READER_ROLES)
    item = agency_item(kit, caller, item_id)
    kit.identity.record(caller, CustodyAction.VIEW, item_id=item.id, details={"request": "item"})
    artifacts = [asdict(a) for a in kit.artifacts.list_artifacts(item.id)]
    return {**_item_json(item), "artifacts": artifacts}


@router.get("/items/{item_id}/manifest")
def get_manifest(item_id: str, caller: Caller, kit: Kit) -> Response:
    require(caller, CASE_READER_ROLES)
    item = agency_item(kit, caller, item_id)
    data = kit.artifacts.manifest(item.id)
    kit.identity.record(
        caller, CustodyAction.VIEW, item_id=item.id, details={"request": "manifest"}
    )
    return Response(data, media_type="application/json")


def _safe_name(name: str) -> str:
    """An artifact name as recorded: relative, no ``..``, no backslash or NUL."""
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(p in ("", ".", "..") for p in parts)
        or len(name) > 300
    ):
        raise BadRequestError("not an artifact name")
    return name


@router.get("/items/{item_id}/artifacts/{name:path}")
def get_artifact(item_id: str, name: str, caller: Caller, kit: Kit) -> Response:
    require(caller, CASE_READER_ROLES)
    item = agency_item(kit, caller, item_id)
    info, data = kit.artifacts.read_artifact(item.id, _safe_name(name))
    details = {"request": "artifact", "artifact": info.name}
    kit.identity.record(caller, CustodyAction.VIEW, item_id=item.id, details=details)
    headers = {"Content-Disposition": "attachment", "X-Content-SHA256": info.sha256}
    return Response(data, media_type=info.media_type, headers=headers)


class BundleRequest(BaseModel):
    """The exporting officer's key passphrase (never stored or logged) and for whom."""

    passphrase: SecretStr = Field(min_length=1, max_length=1024)
    reason: str = Field(min_length=1, max_length=500)


def _made_file(
    kit: Kit, caller: Principal, item_id: str, kind: str, export: BundleRequest | None = None
) -> FileResponse:
    work = Path(tempfile.mkdtemp(prefix="evidence-api-"))
    acting = kit.acting_as(caller.actor)
    try:
        if export is None:
            path = acting.report(item_id, work / f"{item_id}.pdf", reason="service download")
        else:
            signer = acting.report_signer(
                caller.enforcement_id, export.passphrase.get_secret_value()
            )
            path = acting.export(
                item_id, work / f"{item_id}.zip", exported_by=signer, reason=export.reason
            )
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        acting.close()
    media = "application/pdf" if kind == "report" else "application/zip"
    return FileResponse(
        path, media_type=media, filename=path.name,
        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True),
    )  # fmt: skip


@router.get("/items/{item_id}/report")
def get_report(item_id: str, caller: Caller, kit: Kit) -> FileResponse:
    """The item's PDF report (made now; its making is in the custody log)."""
    require(caller, CASE_READER_ROLES)
    return _made_file(kit, caller, agency_item(kit, caller, item_id).id, "report")


@router.get("/items/{item_id}/bundle")
def get_bundle(item_id: str, caller: Caller, kit: Kit) -> Response:
    """Refused with directions: a bundle's index is signed by the exporting officer."""
    require(caller, CASE_READER_ROLES)
    agency_item(kit, caller, item_id)
    raise ExportSignerRequiredError(
        "a bundle is signed by the exporting officer: POST to this address "
        '{"passphrase": ..., "reason": ...} as an officer user'
    )


@router.post("/items/{item_id}/bundle")
def post_bundle(item_id: str, body: BundleRequest, caller: Caller, kit: Kit) -> FileResponse:
    """The item's evidence bundle (zip; made now), its index signed by the calling officer
    with their key (the passphrase unlocks it for this request only); the export and its
    reason are in the custody log."""
    require(caller, CASE_READER_ROLES)
    item = agency_item(kit, caller, item_id)
    if not caller.enforcement_id:
        raise AccessDeniedError(
            "a bundle is signed by the exporting officer: only a user linked to an officer exports"
        )
    return _made_file(kit, caller, item.id, "bundle", body)


@router.get("/items/{item_id}/custody")
def get_custody(item_id: str, caller: Caller, kit: Kit) -> list[dict[str, Any]]:
    """The item's custody events, oldest first."""
    require(caller, CASE_READER_ROLES)
    item = agency_item(kit, caller, item_id)
    _access(kit, caller, "custody", item=item.id)
    return [dict(jsonable_encoder(asdict(line))) for line in kit.custody_lines(item.id)]
