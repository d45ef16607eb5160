"""Signing in to ``/ops`` from a browser: ``GET/POST /ops/sign-in``, ``POST /ops/sign-out``.

``GET /ops/sign-in`` shows a form for the ops token. ``POST /ops/sign-in`` (form field
``token``) compares it with ``REMINDERS_OPS_TOKEN`` in constant time and, when it matches, sets
the session cookie (api/ops_auth.py: signed, expiring, not the token) as ``Secure; HttpOnly;
SameSite=Strict`` and sends the browser on to ``/ops`` (303). ``POST /ops/sign-out`` clears it.

Cross-site requests: besides ``SameSite=Strict`` (the cookie never rides on another site's
request), both POSTs need an ``Origin`` (or, without one, a ``Referer``) whose host is the
request's ``Host``; anything else is refused with 403 and changes nothing. Behind a proxy, pass
the browser's ``Host`` through (nginx: ``proxy_set_header Host $host``).

These are pages for people, so they are left out of the OpenAPI document (their operationIds
are given here, not in api/openapi.py's table of documented operations).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..config import Settings
from ..exceptions import SignInRequiredError
from ..monitoring.ops_page import template
from . import errors
from .ops_auth import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SIGN_IN_PATH,
    SIGN_OUT_PATH,
    issue_session,
    tokens_match,
)

router = APIRouter(tags=["ops"], include_in_schema=False)

DESTINATIONS: Final = ("/ops", "/metrics")  # where a sign-in may lead: no open redirect
MAX_FORM_BYTES: Final = 4096
NO_STORE: Final = {"Cache-Control": "no-store"}
NOTES: Final = {
    "expired": "Your session has expired: sign in again.",
    "signed-out": "Signed out.",
}


def _destination(value: str | None) -> str:
    return value if value in DESTINATIONS else DESTINATIONS[0]


def _page(destination: str, note: str = "", error: str = "", status: int = 200) -> HTMLResponse:
    html = template("ops_sign_in.html").render(
        action=SIGN_IN_PATH, destination=destination, note=note, error=error
    )
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of this site: its ``Origin`` (else its ``Referer``)
    names the host the request was sent to. Neither, or ``Origin: null``: no."""
    host = request.headers.get("host", "").lower()
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    try:
        netloc = urlsplit(source).netloc.lower()
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        return False
    return bool(host) and source != "null" and netloc == host


def _cross_site() -> JSONResponse:
    return errors.problem(
        errors.FORBIDDEN,
        403,
        "cross-site request refused: the Origin (or Referer) header must name this site",
        errors=[{"field": "origin", "message": "not this site"}],
    )


async def _form(request: Request) -> dict[str, str] | None:
    """The urlencoded form's fields (the first value of each); None when its Content-Length
    is missing or over MAX_FORM_BYTES (then it is not read)."""
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        return None
    body = await request.body()
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return {name: values[0] for name, values in fields.items()}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get(SIGN_IN_PATH, response_class=HTMLResponse, operation_id="getOpsSignIn")
async def sign_in_form(request: Request) -> Response:
    """The sign-in form (with no ops token configured there is nothing to sign in to)."""
    destination = _destination(request.query_params.get("next"))
    if _settings(request).http.ops_token is None:
        return RedirectResponse(destination, status_code=303)
    return _page(destination, note=NOTES.get(request.query_params.get("reason", ""), ""))


@router.post(SIGN_IN_PATH, operation_id="signInToOps")
async def sign_in(request: Request) -> Response:
    token = _settings(request).http.ops_token
    if not same_origin(request):
        return _cross_site()
    form = await _form(request)
    if form is None:
        return errors.problem(
            errors.VALIDATION,
            413,
            f"token: the form must have a Content-Length of at most {MAX_FORM_BYTES} bytes",
            errors=[{"field": "token", "message": "too long"}],
        )
    destination = _destination(form.get("next"))
    if token is None:
        return RedirectResponse(destination, status_code=303)
    if not tokens_match(form.get("token", ""), token):
        if "text/html" not in request.headers.get("accept", ""):  # a script: the problem body
            return errors.problem(
                errors.UNAUTHORIZED,
                401,
                "token: that is not the ops token",
                errors=[{"field": "token", "message": "not the ops token"}],
            )
        return _page(destination, error="That is not the ops token.", status=401)
    response = RedirectResponse(destination, status_code=303, headers=NO_STORE)
    response.set_cookie(
        SESSION_COOKIE,
        issue_session(token, datetime.now(UTC)),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


def _cleared(response: Response) -> Response:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.post(SIGN_OUT_PATH, operation_id="signOutOfOps")
async def sign_out(request: Request) -> Response:
    if not same_origin(request):
        return _cross_site()
    return _cleared(
        RedirectResponse(f"{SIGN_IN_PATH}?reason=signed-out", status_code=303, headers=NO_STORE)
    )


def install(app: FastAPI) -> None:
    """The sign-in routes, and the redirect of a browser without a session to them."""
    app.include_router(router)

    @app.exception_handler(SignInRequiredError)
    async def _sign_in(request: Request, exc: SignInRequiredError) -> Response:
        target = f"{SIGN_IN_PATH}?next={quote(request.url.path, safe='/')}"
        response = RedirectResponse(
            target + ("&reason=expired" if exc.expired else ""), status_code=303, headers=NO_STORE
        )
        return _cleared(response) if exc.expired else response
