"""One monitoring pass: read the execution log, evaluate the checks, reconcile, notify.

``now`` is always a parameter: the checks never read the clock, so tests move time by passing it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ..config import Settings
from ..database import Connection, connect, database_url
from ..exceptions import DatabaseError, SchemaMissingError
from ..gateway import fetch_all, fetch_one, named, record
from .alerts import Alert, Changes, announce_failed_runs, open_alerts, reconcile
from .checks import (
    ALL_KINDS,
    FAILURE,
    Finding,
    Snapshot,
    Thresholds,
    evaluate,
    unannounced_failures,
)
from .sinks import Sink, notify, sinks_from_settings

_RECENT_RUNS = named("recent_runs")
_RUNNING_RUNS = named("running_runs")
_SUCCESS_BOUNDS = named("success_bounds")

RECENT_ROWS = 50


def actor(role: str) -> str:
    """Who opened or resolved an incident: ``check@host:pid``, ``watchdog@host:pid``..."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


def read_snapshot(conn: Connection, job_name: str, *, recent: int = RECENT_ROWS) -> Snapshot:
    params = {"job_name": job_name, "limit": recent}
    bounds = fetch_one(conn, _SUCCESS_BOUNDS, params, row=record)
    assert bounds is not None
    return Snapshot(
        job_name=job_name,
        recent=fetch_all(conn, _RECENT_RUNS, params, row=record),
        running=fetch_all(conn, _RUNNING_RUNS, params, row=record),
        last_success_at=bounds["last_success_at"],
        first_started_at=bounds["first_started_at"],
    )


@dataclass(frozen=True)
class CheckResult:
    findings: list[Finding]
    changes: Changes
    open: list[Alert]

    @property
    def healthy(self) -> bool:
        return not self.findings


def run_checks(
    conn: Connection,
    settings: Settings,
    *,
    now: datetime,
    sinks: Sequence[Sink],
    role: str = "check",
    kinds: Sequence[str] = ALL_KINDS,
) -> CheckResult:
    """Every check (or only *kinds*) once; alerts and recoveries go to *sinks*."""
    thresholds = Thresholds.from_settings(settings.monitoring)
    recent = max(RECENT_ROWS, thresholds.stuck_after_skips)
    snapshot = read_snapshot(conn, settings.job_name, recent=recent)
    findings = [f for f in evaluate(snapshot, now, thresholds) if f.kind in kinds]
    changes = reconcile(
        conn,
        job_name=settings.job_name,
        findings=findings,
        now=now,
        actor=actor(role),
        kinds=kinds,
    )
    if FAILURE in kinds:  # after the incidents: the open one covers the newest failures
        announced = announce_failed_runs(
            conn,
            job_name=settings.job_name,
            failed=unannounced_failures(snapshot),
            now=now,
            actor=actor(role),
        )
        changes = Changes(
            opened=[*changes.opened, *announced.opened],
            resolved=[*changes.resolved, *announced.resolved],
        )
    notify(sinks, changes)
    return CheckResult(findings, changes, open_alerts(conn, settings.job_name))


def check_once_for(
    settings: Settings, *, now: datetime, role: str = "check", kinds: Sequence[str] = ALL_KINDS
) -> CheckResult:
    """Open a connection, run the checks once with the configured sinks, close it."""
    with connect(database_url(settings), purpose="monitor") as conn:
        try:
            return run_checks(
                conn,
                settings,
                now=now,
                sinks=sinks_from_settings(settings),
                role=role,
                kinds=kinds,
            )
        except SchemaMissingError as exc:  # said for monitoring, as it is (not reworded)
            raise DatabaseError(
                "the monitoring tables are missing: run `reminders migrate`"
            ) from exc.__cause__
        except psycopg.Error as exc:  # outside a query (a commit): wrap it here
            raise DatabaseError(f"the monitoring checks failed: {type(exc).__name__}") from exc
