"""The FastAPI application: the routers under ``/api/v1``, the error shape, the toolkit."""

from __future__ import annotations

from fastapi import FastAPI

from evidence import Toolkit, __version__
from evidence.api import errors
from evidence.api.cases import router as cases_router
from evidence.api.console import create_console
from evidence.api.jobs import router as jobs_router
from evidence.api.session import router as session_router

DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024


def create_app(kit: Toolkit, *, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> FastAPI:
    """The service over ``kit``; every route but login and the schema needs a bearer token."""
    app = FastAPI(
        title="Evidence agency service",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.kit = kit
    app.state.max_upload_bytes = max_upload_bytes
    errors.install(app)
    for router in (session_router, cases_router, jobs_router):
        app.include_router(router, prefix="/api/v1")
    app.mount("/console", create_console(kit))
    return app
