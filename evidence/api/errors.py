"""One JSON shape for every failure: ``{"error": code, "message": text}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from evidence import (
    AccessDeniedError,
    AuthenticationError,
    EvidenceError,
    LoginRateLimitedError,
    NotFoundError,
)

logger = logging.getLogger(__name__)


class UploadTooLargeError(EvidenceError):
    """An uploaded body is larger than the service accepts (HTTP 413)."""


class ExportSignerRequiredError(EvidenceError):
    """A bundle was asked for without the exporting officer who signs its index."""


class BadRequestError(EvidenceError):
    """A request the service refuses as malformed (HTTP 400), e.g. an unsafe artifact name."""


# Most specific first: the first class an error is an instance of decides.
_STATUS: tuple[tuple[type[EvidenceError], int, str], ...] = (
    (AuthenticationError, 401, "unauthenticated"),
    (AccessDeniedError, 403, "forbidden"),
    (NotFoundError, 404, "not_found"),
    (UploadTooLargeError, 413, "payload_too_large"),
    (LoginRateLimitedError, 429, "too_many_requests"),
    (BadRequestError, 400, "bad_request"),
)

_CONFLICTS = frozenset({"IdempotencyConflictError", "JobStateError", "ExportSignerRequiredError"})
_INVALID = frozenset({"InvalidPayloadError", "InvalidURLError"})


def error_body(code: str, message: str) -> dict[str, str]:
    return {"error": code, "message": message}


def _status_of(exc: EvidenceError) -> tuple[int, str]:
    for kind, status, code in _STATUS:
        if isinstance(exc, kind):
            return status, code
    name = type(exc).__name__
    if name in _CONFLICTS:
        return 409, "conflict"
    if name in _INVALID:
        return 422, "invalid"
    return 400, "refused"


async def _evidence_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EvidenceError)
    status, code = _status_of(exc)
    headers = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, LoginRateLimitedError):
        headers["Retry-After"] = str(exc.retry_after_s)
    return JSONResponse(error_body(code, exc.message), status_code=status, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    where = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()
    )
    return JSONResponse(error_body("malformed", where[:500]), status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # The database driver's failures mid-request (a lock past the busy timeout).
    logger.error("request failed: %s", exc.__class__.__name__, exc_info=exc)
    return JSONResponse(error_body("internal", "internal error; nothing was changed"), 500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(EvidenceError, _evidence_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
