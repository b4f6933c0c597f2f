"""Login and logout, who am I, and verification of an uploaded bundle."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from evidence import VERIFIER_ROLES, CustodyAction
from evidence.api.access import Caller, Kit, require
from evidence.api.errors import UploadTooLargeError

router = APIRouter()


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: str


@router.post("/auth/login", response_model=TokenResponse)
def login(body: LoginRequest, request: Request, kit: Kit) -> TokenResponse:
    """A short-lived session token; 401 for any wrong credential, 429 after 5 failures/min."""
    client = request.client.host if request.client else ""
    issued = kit.identity.authenticate(body.username, body.password, client=client)
    return TokenResponse(access_token=issued.token, expires_at=issued.expires_at.isoformat())


@router.post("/auth/logout", status_code=204)
def logout(request: Request, caller: Caller, kit: Kit) -> None:
    _, _, token = request.headers.get("authorization", "").partition(" ")
    kit.identity.logout(token.strip())


@router.get("/me")
def me(caller: Caller) -> dict[str, Any]:
    return {**jsonable_encoder(asdict(caller)), "actor": caller.actor}


async def _receive_bounded(request: Request, target: Path, limit: int) -> int:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise UploadTooLargeError(f"the upload is larger than {limit} bytes")
    received = 0
    with target.open("wb") as out:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise UploadTooLargeError(f"the upload is larger than {limit} bytes")
            out.write(chunk)
    return received


@router.post("/verify")
async def verify(request: Request, caller: Caller, kit: Kit) -> dict[str, Any]:
    """Verify the bundle (zip) sent as the request body; the verdict of every check as JSON.

    The body is streamed to a private temporary file and refused (413) beyond the
    service's limit; the bundle is read with the same hostile-bundle defences as
    ``evidence verify``."""
    require(caller, VERIFIER_ROLES)
    work = Path(tempfile.mkdtemp(prefix="evidence-verify-"))
    try:
        bundle = work / "bundle.zip"
        size = await _receive_bounded(request, bundle, request.app.state.max_upload_bytes)
        acting = kit.acting_as(caller.actor)
        try:
            report = await run_in_threadpool(acting.verify, bundle, offline=True)
        finally:
            acting.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    kit.identity.record(caller, CustodyAction.ACCESS, details={"request": "verify", "size": size})
    return {
        "passed": report.passed,
        "exit_code": report.exit_code,
        "manifest_sha256": report.manifest_sha256,
        "checks": jsonable_encoder([asdict(check) for check in report.checks]),
    }
