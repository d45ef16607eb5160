"""``GET /ops``: the operator page (monitoring/ops_page.py), read in one connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from ..config import Settings
from ..database import connect, database_url
from ..joblog import PgExecutionLog
from ..lock import LOCK_KEY
from ..monitoring.alerts import SQL, Alert
from ..monitoring.cron import CronSchedule
from ..monitoring.ops_page import DAYS, render_page
from ..monitoring.ops_state import OpsFacts
from ..queries import query
from .ops_auth import OpsToken

router = APIRouter(tags=["ops"], dependencies=[OpsToken])


def read_facts(settings: Settings, now: datetime) -> OpsFacts:
    schedule = CronSchedule.parse(settings.schedule.expression, settings.schedule.time_zone)
    params = {"job_name": settings.job_name, "since": now - timedelta(days=DAYS)}
    with connect(database_url(settings), purpose="ops") as conn:
        runs = conn.execute(query("run_history", SQL), params).fetchall()
        bounds = conn.execute(query("success_bounds", SQL), params).fetchone() or {}
        incidents = conn.execute(query("recent_incidents", SQL), params).fetchall()
        holder, since = PgExecutionLog(conn).lock_holder(settings.job_name, LOCK_KEY)
        # open rows and dead letters through their partial indexes, not the whole history
        waiting = conn.execute(query("delivery_backlog", "delivery.sql")).fetchall()
        dead = conn.execute(query("dead_letters", "delivery.sql")).fetchall()
    deliveries = {(r["channel"], "pending"): int(r["n"]) for r in waiting}
    deliveries |= {(r["channel"], "dead"): int(r["n"]) for r in dead}
    m = settings.monitoring
    return OpsFacts(
        job_name=settings.job_name,
        now=now,
        zone=schedule.zone,
        schedule=schedule.expression,
        scheduler_enabled=settings.schedule.enabled,
        previous_fire=schedule.previous_at_or_before(now),
        next_fire=schedule.next_after(now),
        runs=runs,
        last_success_at=bounds.get("last_success_at"),
        first_started_at=bounds.get("first_started_at"),
        holder=holder,
        holder_since=since if isinstance(since, datetime) else None,
        incidents=[Alert.from_row(r) for r in incidents],
        deliveries=deliveries,
        overrun_after=timedelta(seconds=m.overrun_after_seconds),
        missed_after=timedelta(seconds=m.missed_after_seconds),
    )


def _page(settings: Settings, now: datetime) -> str:
    return render_page(read_facts(settings, now))


@router.get("/ops", response_class=HTMLResponse)
async def ops(request: Request) -> HTMLResponse:
    """The operator page: a headline state (up, running, late, down, failing) and why; last
    success, schedule, next expected run, lock holder; recent runs, incidents, deliveries; a
    duration chart. HTML, no external assets, refreshes itself every minute."""
    html = await run_in_threadpool(_page, request.app.state.settings, datetime.now(UTC))
    return HTMLResponse(html)
