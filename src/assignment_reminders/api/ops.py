"""``GET /ops``: the operator page (run durations, open alerts, delivery backlog)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from ..config import Settings
from ..database import connect, database_url
from ..monitoring.alerts import SQL, open_alerts
from ..monitoring.ops_page import DAYS, render_page
from ..queries import query
from .ops_auth import OpsToken

router = APIRouter(tags=["ops"], dependencies=[OpsToken])


def _page(settings: Settings, now: datetime) -> str:
    with connect(database_url(settings), purpose="ops") as conn:
        runs = conn.execute(
            query("run_history", SQL),
            {"job_name": settings.job_name, "since": now - timedelta(days=DAYS)},
        ).fetchall()
        alerts = open_alerts(conn, settings.job_name)
        backlog = conn.execute(query("delivery_backlog", "delivery.sql")).fetchall()
    return render_page(
        job_name=settings.job_name,
        runs=runs,
        alerts=alerts,
        backlog={r["channel"]: int(r["n"]) for r in backlog},
        now=now,
        limit_minutes=settings.monitoring.overrun_after_seconds / 60,
    )


@router.get("/ops", response_class=HTMLResponse)
async def ops(request: Request) -> HTMLResponse:
    """Run durations over the last 30 days against the overrun limit, open alerts, backlog."""
    html = await run_in_threadpool(_page, request.app.state.settings, datetime.now(UTC))
    return HTMLResponse(html)
