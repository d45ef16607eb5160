"""``GET /metrics``: Prometheus text format, read from the database at scrape time."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from ..config import Settings
from ..database import connect, database_url
from ..monitoring.metrics import JobMetrics, JobMetricsCollector, read_job_metrics

router = APIRouter(tags=["ops"])


def _scrape(settings: Settings) -> bytes:
    def read() -> tuple[JobMetrics, datetime]:
        with connect(database_url(settings), purpose="metrics") as conn:
            return read_job_metrics(conn, settings.job_name), datetime.now(UTC)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobMetricsCollector(read))
    return generate_latest(registry)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Runs by status, run duration, lock acquisition time, reminders created, deliveries by
    channel, dead deliveries, the delivery backlog, seconds since the last success."""
    body = await run_in_threadpool(_scrape, request.app.state.settings)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
