"""The OpenAPI document, made for client generators.

* **Operation ids** are explicit: :data:`OPERATION_IDS` names every route; a route missing from it
  fails when the app is built (``generate_unique_id_function``), so ids never change by accident.
* **Security schemes**: ``bearerAuth`` (a Supabase access token, a JWT), ``apiKey`` (the
  ``apikey`` header; the cron endpoint takes ``REMINDERS_CRON_SECRET`` there) and ``opsToken``
  (``REMINDERS_OPS_TOKEN`` for ``/ops`` and ``/metrics``).
* **Every status has a response model**: successes their own, and every 4xx and 5xx the one
  error body, ``Problem`` (RFC 9457, ``application/problem+json``, api/errors.py), or a named
  extension of it (``NotReadyProblem`` with ``pending``, ``RunFailedProblem`` with ``outcome``).
  FastAPI's own ``HTTPValidationError`` is replaced: a 422 is a ``Problem`` too. A body the
  server cannot read (not UTF-8, not JSON) is that 422 as well, naming ``body``.
* **Integer limits are integers**: FastAPI's document model holds bounds as floats, which turns
  the id maximum 9223372036854775807 into 9.223372036854776e+18 (2**63, past the limit);
  :func:`_exact_bounds` puts back what pydantic wrote for our models.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from ..job.run_status import RunStatus
from .errors import MEDIA_TYPE, Problem

OPERATION_IDS: Final = {
    "health": "getHealth",
    "ready": "getReadiness",
    "assignment_reminder_cron": "runReminderJob",
    "metrics": "getMetrics",
    "ops": "getOpsPage",
    "register_direct": "registerActivity",
    "register_proxy": "registerProxyActivity",
    "register_bulk": "registerActivities",
    "register_coordinator_proxy": "registerCoordinatorActivity",
    "register_coordinator_proxy_bulk": "registerCoordinatorActivities",
    "delete_activity": "deleteActivity",
    "set_last_contact_date": "setLastContactDate",
    "last_contact_date_history": "getLastContactDateHistory",
}
"""Route function name -> operationId."""

SECURITY_SCHEMES: Final = {"HTTPBearer": "bearerAuth", "APIKeyHeader": "apiKey"}
"""FastAPI's scheme names (api/deps.py) -> the names the document uses."""

DESCRIPTIONS: Final = {
    401: "Missing or invalid credentials (`WWW-Authenticate: Bearer`).",
    403: "The caller may not do this (wrong role, or another organization's data).",
    404: "An id names nothing that exists.",
    422: "Invalid input (`validation`: the request does not match this document, a body that"
    " is not UTF-8 JSON included) or input that breaks a rule (`rule-broken`, `items-rejected`):"
    " `errors` names each refused field (`body` for an unreadable body).",
    500: "An unexpected error; it has been logged (the body says nothing more).",
    503: "The database, the job lock or the signing keys are unavailable.",
}

_USER: Final = (401, 403, 404, 422, 500, 503)
PROBLEMS: Final[dict[str, tuple[int, ...]]] = {
    "getHealth": (500,),
    "getReadiness": (500, 503),
    "runReminderJob": (401, 403, 422, 500, 503),
    "getMetrics": (401, 500),
    "getOpsPage": (401, 500, 503),
    "registerActivity": _USER,
    "registerProxyActivity": _USER,
    "registerActivities": _USER,
    "registerCoordinatorActivity": _USER,
    "registerCoordinatorActivities": _USER,
    "deleteActivity": _USER,
    "setLastContactDate": _USER,
    "getLastContactDateHistory": _USER,
}
"""The error statuses each operation documents (every one answers with a problem body)."""

SPECIAL_PROBLEMS: Final = {
    ("getReadiness", 503): "NotReadyProblem",
    ("runReminderJob", 500): "RunFailedProblem",
}


def operation_id(route: APIRoute) -> str:
    try:
        return OPERATION_IDS[route.name]
    except KeyError:
        raise RuntimeError(
            f"route {route.name!r} has no operationId: add it to api/openapi.py OPERATION_IDS"
        ) from None


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready"]


class RunCountsOut(BaseModel):
    due_rows_read: int
    reminders_created: int
    escalations_created: int
    duplicates_suppressed: int


class LockHolderOut(BaseModel):
    pid: int
    application_name: str | None
    client_addr: str | None
    backend_start: str | None


class DeliveryOut(BaseModel):
    """What the run's delivery step did (``reminders worker --json`` counts the same way)."""

    delivered: int = Field(description="Accepted by the receiver.")
    retried: int = Field(description="Failed; tried again after their backoff.")
    dead: int = Field(description="Failed for the last time.")
    cancelled: int = Field(
        description="Not sent: the gap closed, or the assignment was paused or ended."
    )


class RunOutcomeOut(BaseModel):
    """What one invocation of the reminder job did (``reminders run --json`` prints the same)."""

    invocation_id: str = Field(description="UUID of this invocation (the log lines carry it).")
    status: Literal[RunStatus.SUCCESS, RunStatus.SKIPPED, RunStatus.FAILED]
    run_id: int | None = Field(description="The cron_execution_logs row.")
    note: str | None = Field(description="e.g. advisory_lock_held when skipped.")
    error: str | None = Field(description="Failed runs: a short error, no row values.")
    counts: RunCountsOut
    lock_acquire_ms: float
    duration_ms: float
    unlock_ok: bool | None
    holder: LockHolderOut | None = Field(description="Skipped runs: who held the lock.")
    delivery: DeliveryOut | None = Field(
        description="The delivery step after the pass, when it ran (null: no channel is"
        " configured, REMINDERS_DELIVERY_BUDGET_SECONDS is 0, or the run ended before it)."
    )


class NotReadyProblem(Problem):
    """``/ready`` when it is not: the database is unreachable, or migrations are pending."""

    pending: list[str] | None = Field(default=None, description="Migrations not yet applied.")


class RunFailedProblem(Problem):
    """The cron endpoint when the run failed: the problem, and the run's outcome."""

    outcome: RunOutcomeOut


SUCCESS_MODELS: Final[dict[str, type[BaseModel]]] = {
    "getHealth": HealthOut,
    "getReadiness": ReadyOut,
    "runReminderJob": RunOutcomeOut,
}
TEXT_SUCCESS: Final = {
    "getMetrics": "text/plain; version=0.0.4; charset=utf-8",
    "getOpsPage": "text/html",
}

ERROR_BODY: Final = """
## Errors

Every 4xx and 5xx answer has one body shape, RFC 9457 problem details
(`application/problem+json`, schema `Problem`): `type` (a URI naming the kind of problem),
`title` (fixed per type), `status`, `detail` (this occurrence) and, for invalid input,
`errors: [{field, message}]` naming each refused field. It never echoes what was sent beyond
field names, and never names a database host or user.
"""


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _add_models(schemas: dict[str, Any], models: Iterable[type[BaseModel]]) -> None:
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas[model.__name__] = schema


def _rename_security(doc: dict[str, Any]) -> None:
    schemes = doc.setdefault("components", {}).setdefault("securitySchemes", {})
    for old, new in SECURITY_SCHEMES.items():
        if old in schemes:
            schemes[new] = schemes.pop(old)
    if "bearerAuth" in schemes:
        schemes["bearerAuth"]["bearerFormat"] = "JWT"
    for item in doc["paths"].values():
        for operation in item.values():
            if "security" in operation:
                operation["security"] = [
                    {SECURITY_SCHEMES.get(name, name): scopes for name, scopes in entry.items()}
                    for entry in operation["security"]
                ]


def _responses(op_id: str, responses: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {s: r for s, r in responses.items() if s.startswith("2")}
    success: dict[str, Any] = next(iter(out.values()))  # FastAPI documents the success
    if op_id in SUCCESS_MODELS:
        model = SUCCESS_MODELS[op_id].__name__
        success["content"] = {"application/json": {"schema": _ref(model)}}
    elif op_id in TEXT_SUCCESS:
        success["content"] = {TEXT_SUCCESS[op_id]: {"schema": {"type": "string"}}}
    for code in PROBLEMS[op_id]:
        schema = SPECIAL_PROBLEMS.get((op_id, code), "Problem")
        out[str(code)] = {
            "description": DESCRIPTIONS[code],
            "content": {MEDIA_TYPE: {"schema": _ref(schema)}},
        }
    return out


BOUNDS: Final = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def _api_models() -> dict[str, type[BaseModel]]:
    """Every pydantic model defined in this package's API modules, by class name."""
    found: dict[str, type[BaseModel]] = {}
    todo = list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if model.__module__.startswith(__package__ or "assignment_reminders.api"):
            found.setdefault(model.__name__, model)
    return found


def _copy_bounds(generated: Any, exact: Any) -> None:
    """Where *generated* holds a float bound and *exact* (the same place in pydantic's own
    schema) an integer, take the integer."""
    if isinstance(generated, dict) and isinstance(exact, dict):
        for key, value in generated.items():
            if key in BOUNDS and isinstance(value, float) and isinstance(exact.get(key), int):
                generated[key] = exact[key]
            elif key in exact:
                _copy_bounds(value, exact[key])
    elif isinstance(generated, list) and isinstance(exact, list):
        for g, e in zip(generated, exact, strict=False):
            _copy_bounds(g, e)


def _exact_bounds(schemas: dict[str, Any]) -> None:
    for name, model in _api_models().items():
        if name in schemas:
            for mode in ("validation", "serialization"):
                _copy_bounds(schemas[name], model.model_json_schema(mode=mode))


def document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=(app.description or "") + "\n" + ERROR_BODY,
        routes=app.routes,
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    _add_models(
        schemas,
        [Problem, NotReadyProblem, RunFailedProblem, *SUCCESS_MODELS.values()],
    )
    _exact_bounds(schemas)
    _rename_security(doc)
    for item in doc["paths"].values():
        for operation in item.values():
            operation["responses"] = _responses(operation["operationId"], operation["responses"])
    return doc


def install(app: FastAPI) -> None:
    """Serve :func:`document` at ``/openapi.json`` (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
