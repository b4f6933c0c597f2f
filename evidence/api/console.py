"""The web console under ``/console``: server-rendered pages over the same agency rules as the API.

Signing in sets an HttpOnly, SameSite=Strict session cookie holding the same
session token ``POST /api/v1/auth/login`` gives. Every POST form carries a CSRF
token: before sign-in a random value also set as a cookie (double submit);
after it, an HMAC of the session token. A POST without the right token is 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import SecretStr

from evidence import (
    CASE_READER_ROLES,
    AccessDeniedError,
    AuthenticationError,
    EvidenceError,
    LoginRateLimitedError,
    NotFoundError,
    Principal,
    Toolkit,
)
from evidence.api import cases as case_routes
from evidence.api import jobs as job_routes
from evidence.api.access import require
from evidence.api.console_text import language_of, translator

SESSION_COOKIE = "evidence_console"
LOGIN_CSRF_COOKIE = "evidence_console_csrf"
LANGUAGE_COOKIE = "evidence_lang"
MAX_FORM_BYTES = 64 * 1024
JOB_REFRESH_S = 2
JOB_STARTED = "This job has already started or finished."

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Every console page: no framing, no foreign scripts or form targets, never cached."""


def moment(value: object) -> str:
    """An ISO time from the JSON views shown to the second, in UTC: ``2026-12-05 07:03:38 UTC``."""
    if not isinstance(value, str) or not value:
        return "—"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%d %H:%M:%S UTC")


_templates.filters["moment"] = moment


class CsrfRejectedError(EvidenceError):
    """A console form arrived without the CSRF token of its session (HTTP 403)."""


class BundleFormIncompleteError(EvidenceError):
    """The bundle form came without the officer's key passphrase or the export's reason."""


class ConsoleSignInRequired(EvidenceError):
    """A console page was asked for without a valid session cookie (redirect to sign-in)."""


def csrf_of(session_token: str) -> str:
    """The CSRF token of a session: an HMAC keyed by the session token itself."""
    return hmac.new(session_token.encode(), b"console-csrf", hashlib.sha256).hexdigest()


def _kit(request: Request) -> Toolkit:
    kit: Toolkit = request.app.state.kit
    return kit


def _language(request: Request) -> str:
    return language_of(request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE))


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    language = _language(request)
    html = _templates.get_template(name).render(
        _=translator(language), lang=language, base="/console", **context
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") == language:
        response.set_cookie(
            LANGUAGE_COOKIE, language, httponly=True, samesite="strict", path="/console"
        )
    return response


def _signed_in(request: Request) -> tuple[Principal, str]:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise ConsoleSignInRequired("no console session")
    try:
        return _kit(request).identity.resolve(token), token
    except AuthenticationError:
        raise ConsoleSignInRequired("the console session has ended") from None


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise CsrfRejectedError("the form is too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


def _check_csrf(expected: str, given: str) -> None:
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise CsrfRejectedError("missing or wrong CSRF token")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _login_page(request: Request, status: int = 200, error: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = _render(request, "login.html", status, csrf=token, error=error)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/console",
        secure=_secure(request),
    )  # fmt: skip
    return response


async def login_form(request: Request) -> Response:
    return _login_page(request)


async def login(request: Request) -> Response:
    form = await _form(request)
    _check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE, ""), form.get("csrf", ""))
    client = request.client.host if request.client else ""
    try:
        issued = _kit(request).identity.authenticate(
            form.get("username", ""), form.get("password", ""), client=client
        )
    except LoginRateLimitedError:
        return _login_page(request, 429, "Too many failed sign-ins; try again in a minute.")
    except AuthenticationError:
        return _login_page(request, 401, "Wrong user name or password.")
    response = RedirectResponse("/console/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, issued.token, httponly=True, samesite="strict", path="/console",
        secure=_secure(request),
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


async def logout(request: Request) -> Response:
    _caller, token = _signed_in(request)
    _check_csrf(csrf_of(token), (await _form(request)).get("csrf", ""))
    _kit(request).identity.logout(token)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


def case_list(request: Request) -> Response:
    caller, token = _signed_in(request)
    require(caller, CASE_READER_ROLES)
    cases = case_routes.list_cases(caller, _kit(request))
    return _render(request, "cases.html", caller=caller, csrf=csrf_of(token), cases=cases)


def case_page(request: Request) -> Response:
    caller, token = _signed_in(request)
    number = request.path_params["number"]
    case = case_routes.get_case(number, caller, _kit(request))
    return _render(
        request, "case.html", caller=caller, csrf=csrf_of(token), case=case,
        idempotency_key=str(uuid.uuid4()),
    )  # fmt: skip


async def submit_capture(request: Request) -> Response:
    caller, token = _signed_in(request)
    form = await _form(request)
    _check_csrf(csrf_of(token), form.get("csrf", ""))
    number = request.path_params["number"]
    body = job_routes.CaptureJobRequest(
        case_number=number, url=form.get("url", "").strip() or "-",
        idempotency_key=form.get("idempotency_key", "") or str(uuid.uuid4()),
    )  # fmt: skip
    submitted = job_routes.submit_captures(body, caller, _kit(request))
    job_id = submitted["jobs"][0]["id"]
    return RedirectResponse(f"/console/jobs/{quote(job_id)}", status_code=303)


def job_page(request: Request) -> Response:
    caller, token = _signed_in(request)
    job = job_routes.job_status(request.path_params["job_id"], caller, _kit(request))
    refresh = 0 if job["finished"] else JOB_REFRESH_S
    return _render(
        request, "job.html", caller=caller, csrf=csrf_of(token), job=job, refresh=refresh
    )


async def cancel_job(request: Request) -> Response:
    """Cancel a job no worker has started; the job page again (409 page otherwise)."""
    caller, token = _signed_in(request)
    _check_csrf(csrf_of(token), (await _form(request)).get("csrf", ""))
    job_id = request.path_params["job_id"]
    job_routes.cancel_job(job_id, caller, _kit(request))
    return RedirectResponse(f"/console/jobs/{quote(job_id)}", status_code=303)


def item_page(request: Request) -> Response:
    caller, token = _signed_in(request)
    item = case_routes.get_item(request.path_params["item_id"], caller, _kit(request))
    screenshots = [
        a["name"] for a in item["artifacts"] if str(a.get("media_type", "")).startswith("image/")
    ]
    return _render(
        request, "item.html", caller=caller, csrf=csrf_of(token), item=item,
        screenshot=screenshots[0] if screenshots else "",
        stages=("capturing", "sealed", "timestamped", "anchored"),
    )  # fmt: skip


def item_file(request: Request) -> Response:
    """The screenshot, report or bundle of an item, for the signed-in console user."""
    caller, _token = _signed_in(request)
    kit, item_id = _kit(request), request.path_params["item_id"]
    what = request.path_params["what"]
    if what == "report":
        return case_routes.get_report(item_id, caller, kit)
    if what == "artifact":
        return case_routes.get_artifact(item_id, request.query_params.get("name", ""), caller, kit)
    raise NotFoundError("no such download")


async def export_bundle(request: Request) -> Response:
    """The item's bundle, its index signed by the signed-in officer (key passphrase in the form,
    used for this request only, never stored or logged)."""
    caller, token = _signed_in(request)
    form = await _form(request)
    _check_csrf(csrf_of(token), form.get("csrf", ""))
    if not form.get("passphrase") or not form.get("reason", "").strip():
        raise BundleFormIncompleteError("the passphrase and the reason are required")
    body = case_routes.BundleRequest(
        passphrase=SecretStr(form["passphrase"]), reason=form["reason"].strip()[:500]
    )
    return case_routes.post_bundle(request.path_params["item_id"], body, caller, _kit(request))


_MESSAGES: tuple[tuple[type[EvidenceError], int, str], ...] = (
    (CsrfRejectedError, 403, "The form has expired; reload the page and try again."),
    (AccessDeniedError, 403, "You may not do this."),
    (NotFoundError, 404, "Not found."),
)


async def _console_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EvidenceError)
    if isinstance(exc, ConsoleSignInRequired | AuthenticationError):
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/console")
        return response
    for kind, status, message in _MESSAGES:
        if isinstance(exc, kind):
            return _render(request, "error.html", status, message=message)
    if type(exc).__name__ == "JobStateError":  # not in the facade; the API matches it by name
        return _render(request, "error.html", 409, message=JOB_STARTED)
    return _render(request, "error.html", 400, message="The request was refused.")


def create_console(kit: Toolkit) -> FastAPI:
    """The console application, to be mounted at ``/console`` in the service."""
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    console.state.kit = kit
    console.add_exception_handler(EvidenceError, _console_error)
    routes = (
        ("/login", login_form, "GET"), ("/login", login, "POST"), ("/logout", logout, "POST"),
        ("/", case_list, "GET"), ("/cases/{number}", case_page, "GET"),
        ("/cases/{number}/capture", submit_capture, "POST"), ("/jobs/{job_id}", job_page, "GET"),
        ("/jobs/{job_id}/cancel", cancel_job, "POST"),
        ("/items/{item_id}", item_page, "GET"), ("/items/{item_id}/{what}", item_file, "GET"),
        ("/items/{item_id}/bundle", export_bundle, "POST"),
    )  # fmt: skip
    for path, endpoint, method in routes:
        console.add_route(path, endpoint, methods=[method])
    return console
