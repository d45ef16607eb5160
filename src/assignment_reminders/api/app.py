"""``create_app(settings)``: the FastAPI application behind ``reminders serve``."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, Strict

from .. import __version__
from ..auth.tokens import TokenVerifier
from ..config import Settings
from ..db.database import connect, database_url
from ..db.migrations import pending
from ..exceptions import ReminderError
from ..job.distant_now import check_now, database_clock
from ..job.trigger import RunOutcome
from ..limits import MAX_NOW_DISTANCE_TEXT
from ..monitoring.redact import short_error
from ..monitoring.run_monitor import monitored_run
from . import activities as activities_api
from . import admin as admin_api
from . import errors, heap, openapi, ops_session
from .cors import add_cors
from .deps import CronCaller, IsoDateTime
from .http_metrics import HttpMetrics, HttpMetricsMiddleware
from .metrics import router as metrics_router
from .ops import router as ops_router
from .pool import ApiPool
from .workers import DbWorkers

logger = logging.getLogger(__name__)

RunJob = Callable[..., RunOutcome]


class CronRequest(BaseModel):
    """Optional body of the cron call (other members are ignored: schedulers add their own)."""

    now: IsoDateTime | None = Field(
        default=None,
        description="The moment reminders are computed for, with a UTC offset. Default: now."
        f" More than {MAX_NOW_DISTANCE_TEXT} from the database's clock, either way, is refused"
        " with a 422 naming `now` (nothing runs) unless `allow_distant_now` is true.",
    )
    allow_distant_now: Annotated[bool, Strict()] = Field(
        default=False,
        description=f"true: a `now` more than {MAX_NOW_DISTANCE_TEXT} from the database's"
        " clock is meant (drills, back-fills, simulations).",
    )


def create_app(
    settings: Settings, *, run_job: RunJob = monitored_run, settle_heap: bool = False
) -> FastAPI:
    """*settle_heap*: once started, tune the process's garbage collector for latency
    (api/heap.py; process-wide, so only for the process that serves: `reminders serve`)."""
    pool = ApiPool(settings)
    workers = DbWorkers(pool)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(pool.open)  # without waiting for the database: it may be down
        workers.start()
        if settle_heap:
            heap.settle()
        try:
            yield
        finally:
            await run_in_threadpool(workers.stop)
            await run_in_threadpool(pool.close)

    app = FastAPI(
        title="assignment-reminders",
        version=__version__,
        description="Exactly-once contact reminders for peer-mentoring programmes.",
        generate_unique_id_function=openapi.operation_id,
        lifespan=lifespan,
    )
    openapi.install(app)
    app.state.settings = settings
    app.state.pool = pool
    app.state.db_workers = workers
    app.state.http_metrics = HttpMetrics()
    app.add_middleware(HttpMetricsMiddleware, metrics=app.state.http_metrics)
    app.state.token_verifier = TokenVerifier.from_settings(settings.auth)
    add_cors(app, settings.http.cors_origins)

    errors.install(app)
    ops_session.install(app)  # /ops/sign-in, /ops/sign-out; browsers sent there

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
        except ReminderError as exc:  # the reason names the host: the log has it, not the body
            logger.warning("ready: %s", exc.message)
            return errors.problem(errors.NOT_READY, 503, "the database is unreachable")
        if missing:
            return errors.problem(errors.NOT_READY, 503, "migrations pending", pending=missing)
        return JSONResponse({"status": "ready"})

    @app.post(
        "/functions/v1/assignment-reminder-cron",
        tags=["cron"],
        responses={401: {}, 403: {}, 500: {"description": "the run failed"}, 503: {}},
    )
    async def assignment_reminder_cron(
        _caller: CronCaller,
        body: CronRequest | None = None,
    ) -> JSONResponse:
        """One invocation of the reminder job (what a scheduler calls).

        Needs the job's secret (``REMINDERS_CRON_SECRET``, as ``Authorization: Bearer`` or the
        ``apikey`` header) or a service_role JWT.

        200 with the run's outcome, ``status`` ``success`` or ``skipped`` (another run holds the
        lock); when the run failed, 500 with a problem body whose ``outcome`` member is the
        outcome (``status`` ``failed``). 422 naming ``now`` when it is more than 24 hours from
        the database's clock and ``allow_distant_now`` is not true: nothing runs.
        """
        now: datetime | None = body.now if body else None
        if body is not None and now is not None and not body.allow_distant_now:
            database_now = await workers.run(database_clock)  # the edge reads it, once
            check_now(now, database_now=database_now, meant='"allow_distant_now": true')
        outcome = await run_in_threadpool(run_job, settings, now=now, trigger_source="http")
        if outcome.ok:
            return JSONResponse(outcome.to_dict())
        detail = short_error(outcome.error) or outcome.note or "the run failed"
        reported = {**outcome.to_dict(), "error": short_error(outcome.error)}  # no row values
        return errors.problem(errors.RUN_FAILED, 500, detail, outcome=reported)

    app.include_router(metrics_router)
    app.include_router(ops_router)
    app.include_router(activities_api.router)
    app.include_router(admin_api.router)
    return app
