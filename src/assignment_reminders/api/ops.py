"""``GET /ops``: the operator page (monitoring/ops_page.py), read in one connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from ..config import Settings
from ..db.database import connect, database_url
from ..db.gateway import fetch_all, named
from ..delivery.states import ChannelCount
from ..job.joblog import PgExecutionLog
from ..job.run_row import RunRow
from ..locking.lock import LOCK_KEY
from ..monitoring.cron import CronSchedule
from ..monitoring.monitor import read_truth
from ..monitoring.ops_page import DAYS, render_page
from ..monitoring.ops_state import OpsFacts
from .ops_auth import SESSION_COOKIE, SIGN_OUT_PATH, OpsToken

_DEAD_LETTERS = named("dead_letters")
_DELIVERY_BACKLOG = named("delivery_backlog")

_RUN_HISTORY = named("run_history")

router = APIRouter(tags=["ops"], dependencies=[OpsToken])


def read_facts(settings: Settings, now: datetime) -> OpsFacts:
    schedule = CronSchedule.parse(settings.schedule.expression, settings.schedule.time_zone)
    since = now - timedelta(days=DAYS)
    params = {"job_name": settings.job_name, "since": since}
    with connect(database_url(settings), purpose="ops") as conn:
        runs = fetch_all(conn, _RUN_HISTORY, params, row=RunRow)
        # the headline and the incidents: the evaluation `status` and `check` make too
        snapshot, truth = read_truth(conn, settings, now=now, since=since)
        holder, held_since = PgExecutionLog(conn).lock_holder(settings.job_name, LOCK_KEY)
        # open rows and dead letters through their partial indexes, not the whole history
        waiting = fetch_all(conn, _DELIVERY_BACKLOG, row=ChannelCount)
        dead = fetch_all(conn, _DEAD_LETTERS, row=ChannelCount)
    deliveries = {(r.channel, "pending"): r.n for r in waiting}
    deliveries |= {(r.channel, "dead"): r.n for r in dead}
    m = settings.monitoring
    return OpsFacts(
        job_name=settings.job_name,
        now=now,
        zone=schedule.zone,
        schedule=schedule.expression,
        builtin_cron=settings.schedule.enabled,
        previous_fire=schedule.previous_at_or_before(now),
        next_fire=schedule.next_after(now),
        runs=runs,
        last_success_at=snapshot.last_success_at,
        first_started_at=snapshot.first_started_at,
        holder=holder,
        holder_since=held_since,
        truth=truth,
        deliveries=deliveries,
        overrun_after=timedelta(seconds=m.overrun_after_seconds),
    )


def _page(settings: Settings, now: datetime, sign_out: str | None = None) -> str:
    return render_page(read_facts(settings, now), sign_out=sign_out)


@router.get(
    "/ops",
    response_class=HTMLResponse,
    responses={303: {"description": "A browser without a session: to /ops/sign-in."}},
)
async def ops(request: Request) -> HTMLResponse:
    """The operator page: a headline state (up, running, late, down, failing) and why; last
    success, schedule, next expected run, lock holder; recent runs, incidents, deliveries; a
    duration chart. HTML, no external assets, refreshes itself every minute. A browser without
    a session is sent to ``/ops/sign-in`` (303); scripts get 401."""
    settings: Settings = request.app.state.settings
    signed_in = settings.http.ops_token is not None and SESSION_COOKIE in request.cookies
    html = await run_in_threadpool(
        _page, settings, datetime.now(UTC), SIGN_OUT_PATH if signed_in else None
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
