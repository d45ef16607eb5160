"""Retention: execution log rows (and resolved alerts) older than the configured age go.

Run by the job itself after each run that did work, as its own small statement outside the run's
lock and transaction. ``reminder_dispatches.run_id`` references the log ``ON DELETE SET NULL``:
the ledger keeps every reminder, it only forgets which run made it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from ..db.database import Connection
from ..db.gateway import fetch_value, named
from ..exceptions import DatabaseError
from ..figures import counted
from ..job.run_status import RunStatus

_PRUNE_ALERTS = named("prune_alerts")
_PRUNE_EXECUTION_LOGS = named("prune_execution_logs")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pruned:
    runs: int
    alerts: int


def prune(conn: Connection, *, now: datetime, retention_days: int) -> Pruned:
    cutoff = now - timedelta(days=retention_days)
    runs = fetch_value(conn, _PRUNE_EXECUTION_LOGS, {"cutoff": cutoff}, kind=int)
    alerts = fetch_value(conn, _PRUNE_ALERTS, {"cutoff": cutoff}, kind=int)
    assert runs is not None
    assert alerts is not None
    pruned = Pruned(runs=runs, alerts=alerts)
    if pruned.runs or pruned.alerts:
        logger.info(
            "retention: pruned %s and %s older than %s",
            counted(pruned.runs, "execution log row"),
            counted(pruned.alerts, "resolved alert"),
            counted(retention_days, "day"),
        )
    return pruned


def prune_after_run(conn: Connection, *, status: str, now: datetime, retention_days: int) -> None:
    """The job's own retention step: after a run that did work, never after a skip."""
    if status not in (RunStatus.SUCCESS, RunStatus.FAILED):
        return
    try:
        prune(conn, now=now, retention_days=retention_days)
    except (psycopg.Error, DatabaseError) as exc:  # housekeeping: it never fails the run
        logger.error("retention: pruning failed: %s", type(exc).__name__)
