"""``create_app(settings)``: the FastAPI application behind ``reminders serve``."""

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from .. import __version__
from ..config import Settings
from ..database import connect, database_url
from ..exceptions import (
    AuthError,
    DatabaseError,
    InputError,
    LockError,
    PermissionDeniedError,
    ReminderError,
    SigningKeysUnavailableError,
)
from ..migrations import pending
from ..tokens import TokenVerifier
from ..trigger import RunOutcome, run_once
from . import activities as activities_api
from . import admin as admin_api
from .cors import add_cors
from .deps import CronCaller
from .metrics import router as metrics_router
from .ops import router as ops_router

RunJob = Callable[..., RunOutcome]


class CronRequest(BaseModel):
    """Optional body of the cron call."""

    now: AwareDatetime | None = Field(
        default=None,
        description="The moment reminders are computed for, with a UTC offset. Default: now.",
    )


def create_app(settings: Settings, *, run_job: RunJob = run_once) -> FastAPI:
    app = FastAPI(
        title="assignment-reminders",
        version=__version__,
        description="Exactly-once contact reminders for peer-mentoring programmes.",
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier.from_settings(settings.auth)
    add_cors(app, settings.cors_origins)

    @app.exception_handler(AuthError)
    async def _auth_error(request: Request, exc: AuthError) -> JSONResponse:
        code = 403 if isinstance(exc, PermissionDeniedError) else 401
        headers = {} if code == 403 else {"WWW-Authenticate": "Bearer"}
        return JSONResponse({"detail": exc.message}, status_code=code, headers=headers)

    @app.exception_handler(SigningKeysUnavailableError)
    async def _keys_unavailable(request: Request, exc: SigningKeysUnavailableError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=503)

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(
            {"detail": [{"loc": ["body", exc.field or ""], "msg": exc.message}]}, status_code=422
        )

    @app.exception_handler(DatabaseError)
    async def _db_error(request: Request, exc: DatabaseError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=503)

    @app.exception_handler(LockError)
    async def _lock_error(request: Request, exc: LockError) -> JSONResponse:
        # e.g. a session lock through a transaction pooler: the message names the fix
        return JSONResponse({"status": "failed", "detail": exc.message}, status_code=503)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        """The process is up. Never touches the database."""
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"])
    def ready() -> JSONResponse:
        """The database is reachable and every migration is applied."""
        try:
            with connect(database_url(settings), purpose="ready") as conn:
                missing = [f"{m.version}_{m.name}" for m in pending(conn)]
        except ReminderError as exc:
            return JSONResponse({"status": "unavailable", "detail": exc.message}, status_code=503)
        if missing:
            return JSONResponse(
                {"status": "unavailable", "detail": "migrations pending", "pending": missing},
                status_code=503,
            )
        return JSONResponse({"status": "ready"})

    @app.post(
        "/functions/v1/assignment-reminder-cron",
        tags=["cron"],
        responses={401: {}, 403: {}, 503: {}, 500: {"description": "the run failed"}},
    )
    async def assignment_reminder_cron(
        _caller: CronCaller,
        body: CronRequest | None = None,
    ) -> JSONResponse:
        """One invocation of the reminder job (what a scheduler calls).

        Needs the job's secret (``REMINDERS_CRON_SECRET``, as ``Authorization: Bearer`` or the
        ``apikey`` header) or a service_role JWT.

        200 with ``status`` ``success`` or ``skipped`` (another run holds the lock);
        500 with ``status`` ``failed`` when the run failed.
        """
        now: datetime | None = body.now if body else None
        outcome = await run_in_threadpool(run_job, settings, now=now, trigger_source="http")
        return JSONResponse(outcome.to_dict(), status_code=200 if outcome.ok else 500)

    app.include_router(metrics_router)
    app.include_router(ops_router)
    app.include_router(activities_api.router)
    app.include_router(admin_api.router)
    return app
