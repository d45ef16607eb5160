"""Prometheus metrics, read from the database at scrape time.

Every replica answers ``/metrics`` with the same figures, because they come from the execution
log (and the delivery table) rather than from one process's memory. Counters count the rows kept
by retention, so they drop when old rows are pruned; Prometheus treats that as a counter reset.
Runs still going are a gauge (``reminders_job_running``), never part of a counter. When the
database cannot be read the scrape still answers, with ``reminders_database_up 0`` and nothing
else from the database (:func:`database_down_families`).

Delivery figures come from ``reminders.reminder_deliveries`` (one row per reminder and external
channel; docs/delivery.md). In-app notifications are written with the reminder itself, so
``reminders_issued_total`` counts them.

No family name ends in ``_created``, ``_total``, ``_count``, ``_sum``, ``_bucket`` or ``_info``:
OpenMetrics reserves those suffixes for a family's own samples (a counter ``x`` exposes
``x_total`` and ``x_created``), so ``reminders_created`` would read as the creation time of a
counter ``reminders``. :data:`RESERVED_SUFFIXES` is checked over every family by the tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Final

import psycopg
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ..db.database import Connection
from ..db.gateway import Query, fetch_all, named
from ..delivery.states import CancelReason, DeliveryCount
from ..exceptions import ReminderError, first_line
from ..job.run_status import RunStatus
from .checks import ALL_KINDS

_DELIVERY_COUNTS = named("delivery_counts")
_DURATION_HISTOGRAM = named("duration_histogram")
_LOCK_HISTOGRAM = named("lock_histogram")
_OPEN_ALERT_COUNTS = named("open_alert_counts")
_RUNS_BY_STATUS = named("runs_by_status")

logger = logging.getLogger(__name__)

DURATION_BOUNDS: Final = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
LOCK_BOUNDS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
DELIVERED: Final = frozenset({"sent"})
DEAD: Final = frozenset({"dead"})
CANCELLED: Final = frozenset({"cancelled"})
SETTLED: Final = DELIVERED | DEAD | CANCELLED
FINISHED: Final = (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.SKIPPED)


RESERVED_SUFFIXES: Final = ("_created", "_total", "_count", "_sum", "_bucket", "_gcount", "_info")
"""What a metric family's own name must not end in (OpenMetrics' sample suffixes)."""


@dataclass(frozen=True)
class Histogram:
    buckets: list[tuple[float, int]]  # (upper bound in seconds, cumulative count)
    count: int
    total_seconds: float


@dataclass(frozen=True)
class JobMetrics:
    runs_by_status: dict[str, int]
    durations: Histogram
    lock_acquire: Histogram
    reminders_created: int
    escalations_created: int
    last_success_at: datetime | None
    deliveries: dict[tuple[str, str], int]  # (channel, status) -> rows
    open_alerts: dict[str, int]
    cancelled: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, reason)


def summarize_backlog(deliveries: dict[tuple[str, str], int]) -> dict[str, int]:
    """Deliveries not yet settled (neither sent, dead nor cancelled), by channel."""
    backlog: dict[str, int] = {}
    for (channel, status), n in deliveries.items():
        if status not in SETTLED:
            backlog[channel] = backlog.get(channel, 0) + n
    return backlog


@dataclass(frozen=True)
class BucketRow:
    """``duration_histogram``, ``lock_histogram``: the runs in one bucket, their seconds."""

    bucket: int
    runs: int
    seconds: float | None


@dataclass(frozen=True)
class _StatusRow:
    """``runs_by_status``: the runs of one status, what they created, the last one's end."""

    status: str
    runs: int
    reminders: Decimal
    escalations: Decimal
    last_finished_at: datetime | None


@dataclass(frozen=True)
class _KindCount:
    """``open_alert_counts``: open incidents of one kind."""

    kind: str
    n: int


def cumulative(bounds: Sequence[float], rows: Iterable[BucketRow]) -> Histogram:
    """Prometheus buckets from per-bucket counts (``bucket`` = bounds below the value)."""
    per_bucket = [0] * (len(bounds) + 1)
    total_seconds = 0.0
    for row in rows:
        per_bucket[row.bucket] += row.runs
        total_seconds += row.seconds or 0.0
    running, buckets = 0, []
    for le, n in zip(bounds, per_bucket, strict=False):
        running += n
        buckets.append((float(le), running))
    return Histogram(buckets=buckets, count=sum(per_bucket), total_seconds=total_seconds)


def _histogram(conn: Connection, query: Query, job: str, bounds: Sequence[float]) -> Histogram:
    rows = fetch_all(conn, query, {"job_name": job, "bounds": list(bounds)}, row=BucketRow)
    return cumulative(bounds, rows)


@dataclass(frozen=True)
class DeliveryCounts:
    by_status: dict[tuple[str, str], int]  # (channel, status) -> rows
    cancelled: dict[tuple[str, str], int]  # (channel, cancel reason) -> rows


def read_deliveries(conn: Connection, now: datetime) -> DeliveryCounts:
    by_status: dict[tuple[str, str], int] = {}
    cancelled: dict[tuple[str, str], int] = {}
    for r in fetch_all(conn, _DELIVERY_COUNTS, {"now": now}, row=DeliveryCount):
        key = (r.channel, r.status)
        by_status[key] = by_status.get(key, 0) + r.n
        if r.reason is not None:
            cancelled[(r.channel, r.reason)] = r.n
    return DeliveryCounts(by_status, cancelled)


def read_job_metrics(conn: Connection, job_name: str, now: datetime) -> JobMetrics:
    params = {"job_name": job_name}
    runs = {r.status: r for r in fetch_all(conn, _RUNS_BY_STATUS, params, row=_StatusRow)}
    alerts = fetch_all(conn, _OPEN_ALERT_COUNTS, params, row=_KindCount)
    success = runs.get(RunStatus.SUCCESS)
    deliveries = read_deliveries(conn, now)
    return JobMetrics(
        runs_by_status={status: r.runs for status, r in runs.items()},
        durations=_histogram(conn, _DURATION_HISTOGRAM, job_name, DURATION_BOUNDS),
        lock_acquire=_histogram(conn, _LOCK_HISTOGRAM, job_name, LOCK_BOUNDS),
        reminders_created=sum(int(r.reminders) for r in runs.values()),
        escalations_created=sum(int(r.escalations) for r in runs.values()),
        last_success_at=success.last_finished_at if success else None,
        deliveries=deliveries.by_status,
        open_alerts={r.kind: r.n for r in alerts},
        cancelled=deliveries.cancelled,
    )


def _histogram_family(name: str, doc: str, h: Histogram) -> HistogramMetricFamily:
    buckets = [(str(float(le)), float(n)) for le, n in h.buckets] + [("+Inf", float(h.count))]
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=h.total_seconds)


def families(m: JobMetrics, now: datetime) -> list[Metric]:
    """The metric families for one reading of the database, as of *now*."""
    runs = CounterMetricFamily(
        "reminders_job_runs", "Finished runs of the job by status.", labels=["status"]
    )
    for status in FINISHED:
        runs.add_metric([status], m.runs_by_status.get(status, 0))
    running = GaugeMetricFamily(
        "reminders_job_running", "Runs of the job started and not finished (0 or 1 normally)."
    )
    running.add_metric([], m.runs_by_status.get(RunStatus.RUNNING, 0))
    created = CounterMetricFamily(
        "reminders_issued",
        "Reminders the job created (issued for delivery), by kind.",
        labels=["kind"],
    )
    created.add_metric(["reminder"], m.reminders_created)
    created.add_metric(["escalation"], m.escalations_created)
    last_success = GaugeMetricFamily(
        "reminders_job_last_success_timestamp_seconds",
        "Unix time the last successful run finished (absent before the first one).",
    )
    if m.last_success_at is not None:
        last_success.add_metric([], m.last_success_at.timestamp())
    alerts = GaugeMetricFamily(
        "reminders_alerts_open", "Open monitoring incidents by kind.", labels=["kind"]
    )
    for kind in ALL_KINDS:
        alerts.add_metric([kind], m.open_alerts.get(kind, 0))
    out: list[Metric] = [
        database_up(True),
        runs,
        running,
        _histogram_family(
            "reminders_job_run_duration_seconds", "Duration of finished runs.", m.durations
        ),
        _histogram_family(
            "reminders_job_lock_acquire_seconds",
            "Time pg_try_advisory_lock took, every invocation.",
            m.lock_acquire,
        ),
        created,
        last_success,
        alerts,
        *_delivery_families(m),
    ]
    return out


def database_up(up: bool) -> Metric:
    family = GaugeMetricFamily(
        "reminders_database_up", "1 when this scrape could read the database, else 0."
    )
    family.add_metric([], 1.0 if up else 0.0)
    return family


def database_down_families() -> list[Metric]:
    """What a scrape reports when the database cannot be read: that, and nothing stale."""
    return [database_up(False)]


def _delivery_families(m: JobMetrics) -> list[Metric]:
    by_channel = CounterMetricFamily(
        "reminders_deliveries_queued", "Delivery rows queued, by channel.", labels=["channel"]
    )
    settled = CounterMetricFamily(
        "reminders_deliveries",
        "Deliveries settled, by channel and outcome (sent: accepted by the provider;"
        " dead: given up after the last attempt or refused for good; cancelled: not sent,"
        " the reminder no longer applied when claimed).",
        labels=["channel", "outcome"],
    )
    cancelled = CounterMetricFamily(
        "reminders_deliveries_cancelled",
        "Deliveries cancelled when claimed instead of sent, by channel and reason"
        " (gap_closed: a contact was registered; assignment_paused; assignment_ended).",
        labels=["channel", "reason"],
    )
    backlog = GaugeMetricFamily(
        "reminders_delivery_backlog", "Deliveries not yet settled, by channel.", labels=["channel"]
    )
    channels = sorted({c for c, _ in m.deliveries})
    pending = summarize_backlog(m.deliveries)
    for channel in channels:
        rows = {s: n for (c, s), n in m.deliveries.items() if c == channel}
        by_channel.add_metric([channel], sum(rows.values()))
        settled.add_metric([channel, "sent"], sum(n for s, n in rows.items() if s in DELIVERED))
        settled.add_metric([channel, "dead"], sum(n for s, n in rows.items() if s in DEAD))
        settled.add_metric(
            [channel, "cancelled"], sum(n for s, n in rows.items() if s in CANCELLED)
        )
        for reason in CancelReason:
            cancelled.add_metric([channel, reason.value], m.cancelled.get((channel, reason), 0))
        backlog.add_metric([channel], pending.get(channel, 0))
    return [by_channel, settled, cancelled, backlog]


class JobMetricsCollector(Collector):
    """Reads the database on every scrape through *read* (which opens and closes a connection).
    A database error makes the scrape report ``reminders_database_up 0``, not fail."""

    def __init__(self, read: Callable[[], tuple[JobMetrics, datetime]]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        try:
            metrics, now = self.read()
        except (ReminderError, psycopg.Error) as exc:
            logger.warning("metrics: the database could not be read: %s", first_line(exc))
            return database_down_families()
        return families(metrics, now)
