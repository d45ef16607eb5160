"""``GET /metrics``: Prometheus text format, read from the database at scrape time."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from ..config import Settings
from ..db.database import connect, database_url
from ..monitoring.metrics import JobMetrics, JobMetricsCollector, read_job_metrics
from .http_metrics import HttpMetrics
from .ops_auth import OpsToken
from .pool import ApiPool, PoolCollector

router = APIRouter(tags=["ops"], dependencies=[OpsToken])


def _scrape(
    settings: Settings, http: HttpMetrics | None = None, pool: ApiPool | None = None
) -> bytes:
    def read() -> tuple[JobMetrics, datetime]:
        now = datetime.now(UTC)
        with connect(database_url(settings), purpose="metrics") as conn:
            return read_job_metrics(conn, settings.job_name, now), now

    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobMetricsCollector(read))
    if pool is not None:
        registry.register(PoolCollector(pool))
    process = generate_latest(http.registry) if http is not None else b""
    return generate_latest(registry) + process


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text: whether the database could be read, runs by status, the run in progress,
    run duration, lock acquisition time, reminders created, deliveries by channel and outcome,
    the delivery backlog, the last success, this process's HTTP request durations and its
    database connection pool (``reminders_db_pool_*``). Always 200 when authorized: a database
    that is down shows as ``reminders_database_up 0``."""
    state = request.app.state
    body = await run_in_threadpool(_scrape, state.settings, state.http_metrics, state.pool)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
