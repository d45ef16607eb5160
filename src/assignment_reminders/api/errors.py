"""One error body for every 4xx and 5xx the API answers: RFC 9457 problem details.

Every body is ``application/problem+json``::

    {"type": "tag:assignment-reminders,2026:problem/validation", "title": "Invalid input",
     "status": 422, "detail": "2 fields are invalid",
     "errors": [{"field": "items[1].occurred_on", "message": "..."}]}

``type`` names the kind of problem (``about:blank`` when the HTTP status says it all), ``title``
is the same for every problem of that type, ``detail`` is about this occurrence, ``errors``
names each refused field (dotted path into the body, query or path; ``[n]`` for list items; a
batch item also carries its own ``status``). Extension members (``pending``, ``outcome``) are
documented where they are used.

Nothing here echoes what the caller sent beyond field names, and every string is made safe to
encode, so building an error body cannot itself fail. :func:`install` registers the handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from ..exceptions import (
    AuthError,
    ConfigurationError,
    DatabaseError,
    FieldRejection,
    InputError,
    ItemsRejectedError,
    LockError,
    NotFoundError,
    PermissionDeniedError,
    SigningKeysUnavailableError,
)
from ..monitoring.redact import without_database_urls

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "tag:assignment-reminders,2026:problem/"
MAX_FIELD_ERRORS = 100
MAX_TEXT = 500
NOT_JSON = "the body is not valid JSON"
"""The one message for a body that cannot be read: not UTF-8, or not JSON."""
NOT_OBJECT = "must be a JSON object"
NOT_OBJECT_BODY = "the body must be a JSON object (sent as Content-Type: application/json)"
# pydantic's types for "not an object where one is expected": a list, a string, or a form body
_NOT_OBJECT_TYPES = frozenset({"model_attributes_type", "model_type", "dict_type"})
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


@dataclass(frozen=True)
class ProblemType:
    """A kind of problem: its ``type`` URI and its ``title``."""

    slug: str
    title: str

    @property
    def uri(self) -> str:
        return TYPE_PREFIX + self.slug if self.slug else "about:blank"


BLANK = ProblemType("", "")
"""``about:blank``: the HTTP status says it all (unknown route, wrong method); title = phrase."""
UNAUTHORIZED = ProblemType("unauthorized", "Missing or invalid bearer token")
FORBIDDEN = ProblemType("forbidden", "Not allowed")
NOT_FOUND = ProblemType("not-found", "No such record")
VALIDATION = ProblemType("validation", "Invalid input")
"""The request does not match the OpenAPI document (a type, a bound, a format, an unreadable
body)."""
RULE_BROKEN = ProblemType("rule-broken", "The request breaks a rule")
"""The request matches the document but breaks a rule it cannot express: a date before the
assignment started or in the future, a ``now`` too far from the database's clock."""
ITEMS_REJECTED = ProblemType("items-rejected", "Items of the batch were refused; nothing written")
DATABASE_UNAVAILABLE = ProblemType("database-unavailable", "The database is unavailable")
LOCK_UNAVAILABLE = ProblemType("lock-unavailable", "The job lock cannot be used")
CORS_REFUSED = ProblemType("cors-refused", "Cross-origin request not allowed")
SIGNING_KEYS_UNAVAILABLE = ProblemType(
    "signing-keys-unavailable", "The project's signing keys cannot be fetched"
)
NOT_READY = ProblemType("not-ready", "The service is not ready")
RUN_FAILED = ProblemType("run-failed", "The run failed")
MISCONFIGURED = ProblemType("misconfigured", "The service is misconfigured")
INTERNAL = ProblemType("internal", "Internal error")


class FieldProblem(BaseModel):
    """One refused field."""

    field: str = Field(description="Dotted path of the field, e.g. items[1].occurred_on.")
    message: str
    status: int | None = Field(
        default=None, description="Batch items only: this item's own status (403, 404, 422)."
    )


class Problem(BaseModel):
    """The body of every 4xx and 5xx answer (RFC 9457, ``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


def safe_text(value: object, limit: int = MAX_TEXT) -> str:
    """*value* as text any encoder accepts: lone surrogates replaced, at most *limit* chars."""
    text = value if isinstance(value, str) else repr(value) if isinstance(value, int) else "?"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.encode("utf-8", "replace").decode("utf-8")


def field_name(loc: Sequence[object]) -> str:
    """``("body", "items", 1, "occurred_on")`` -> ``items[1].occurred_on``; ``("body",)`` ->
    ``body``. Parts that are neither text nor integers (none are expected) become ``?``."""
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS and len(parts) > 1:
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + safe_text(part, 100)
    return name or "body"


def problem(
    kind: ProblemType,
    status: int,
    detail: str,
    *,
    errors: Iterable[Mapping[str, object]] = (),
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """The ``application/problem+json`` response for one problem."""
    body: dict[str, Any] = {
        "type": kind.uri,
        "title": kind.title if kind.slug else _phrase(status),
        "status": status,
        "detail": safe_text(detail),
    }
    listed = [
        {k: safe_text(v) if isinstance(v, str) else v for k, v in e.items()}
        for e in list(errors)[:MAX_FIELD_ERRORS]
    ]
    if listed:
        body["errors"] = listed
    body.update(extensions)
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=MEDIA_TYPE
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _validation_errors(errors: Iterable[Any]) -> list[dict[str, object]]:
    """pydantic's errors reduced to field and message. Its ``input`` and ``ctx`` may hold
    anything the caller sent (bytes, lone surrogates, huge numbers): they are never read."""
    out: list[dict[str, object]] = []
    for error in errors:
        if not isinstance(error, Mapping):
            continue
        if error.get("type") == "json_invalid":
            out.append({"field": "body", "message": NOT_JSON})
            continue
        loc = error.get("loc")
        field = field_name(loc if isinstance(loc, Sequence) else ())
        message = error.get("msg")
        if error.get("type") in _NOT_OBJECT_TYPES:
            message = NOT_OBJECT_BODY if field == "body" else NOT_OBJECT
        out.append(
            {
                "field": field,
                "message": safe_text(message) if isinstance(message, str) else "invalid value",
            }
        )
    return out


def _summary(errors: Sequence[Mapping[str, object]]) -> str:
    if len(errors) == 1:
        return f"{errors[0]['field']}: {errors[0]['message']}"
    return f"{len(errors)} fields are invalid"


def _field_error(field: str | None, message: str) -> list[dict[str, object]]:
    return [{"field": field, "message": message}] if field else []


def rejection(r: FieldRejection) -> dict[str, object]:
    return {"field": r.field, "message": r.message, "status": r.status}


def install(app: FastAPI) -> None:
    """Route every error of *app* through :func:`problem`."""

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        if isinstance(exc, PermissionDeniedError):
            return problem(FORBIDDEN, 403, exc.message)
        return problem(UNAUTHORIZED, 401, exc.message, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        return problem(RULE_BROKEN, 422, exc.message, errors=_field_error(exc.field, exc.message))

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return problem(NOT_FOUND, 404, exc.message, errors=_field_error(exc.field, exc.message))

    @app.exception_handler(ItemsRejectedError)
    async def _rejected(request: Request, exc: ItemsRejectedError) -> JSONResponse:
        errors = [rejection(r) for r in exc.rejections]
        detail = f"{len(errors)} item(s) refused; nothing was written"
        return problem(ITEMS_REJECTED, exc.status, detail, errors=errors)

    @app.exception_handler(DatabaseError)
    async def _database(request: Request, exc: DatabaseError) -> JSONResponse:
        # A connection error names the host and the user: the log gets it, the body does not.
        logger.warning("%s %s: %s", request.method, request.url.path, exc.message)
        return problem(DATABASE_UNAVAILABLE, 503, "the database is unavailable; see the log")

    @app.exception_handler(psycopg.OperationalError)
    async def _database_lost(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        # A connection lost or refused that no caller wrapped: the same 503 as DatabaseError.
        logger.warning("%s %s: database fault: %s", request.method, request.url.path, exc)
        return problem(DATABASE_UNAVAILABLE, 503, "the database is unavailable; see the log")

    @app.exception_handler(SigningKeysUnavailableError)
    async def _signing_keys(request: Request, exc: SigningKeysUnavailableError) -> JSONResponse:
        return problem(SIGNING_KEYS_UNAVAILABLE, 503, exc.message)

    @app.exception_handler(LockError)
    async def _lock(request: Request, exc: LockError) -> JSONResponse:
        # e.g. a session lock through a transaction pooler: the message names the fix, the
        # database's address (user, host) stays in the log
        logger.warning("%s %s: %s", request.method, request.url.path, exc.message)
        return problem(LOCK_UNAVAILABLE, 503, without_database_urls(exc.message))

    @app.exception_handler(ConfigurationError)
    async def _misconfigured(request: Request, exc: ConfigurationError) -> JSONResponse:
        # e.g. REMINDERS_LOCK_ROLE names no role: the operator's to fix, said in the log
        logger.error("%s %s: %s", request.method, request.url.path, exc.message)
        return problem(MISCONFIGURED, 500, "the service is misconfigured; see the log")

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        try:
            errors = _validation_errors(exc.errors())
        except Exception:  # never let the error handler itself fail
            logger.exception("could not describe a validation error")
            errors = []
        detail = _summary(errors) if errors else "the request is invalid"
        return problem(VALIDATION, 422, detail, errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
            # FastAPI's 400 for a body it cannot decode (not UTF-8, a 5,000-digit number):
            # the same documented 422 as `{bad`, naming body
            errors = [{"field": "body", "message": NOT_JSON}]
            return problem(VALIDATION, 422, f"body: {NOT_JSON}", errors=errors)
        detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
        return problem(BLANK, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises after this response, so the traceback is still logged.
        return problem(INTERNAL, 500, "an unexpected error occurred; it has been logged")
