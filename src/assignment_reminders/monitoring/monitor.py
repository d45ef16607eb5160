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
from ..db.database import Connection, connect, database_url
from ..db.gateway import fetch_all, fetch_one, named
from ..exceptions import DatabaseError, SchemaMissingError
from ..job.run_row import RunRow
from .alerts import (
    Alert,
    Changes,
    announce_failed_runs,
    open_alerts,
    recent_incidents,
    reconcile,
)
from .checks import ALL_KINDS, FAILURE, Finding, Snapshot, Thresholds, unannounced_failures
from .sinks import Sink, notify, sinks_from_settings
from .truth import Truth, judge

_RECENT_RUNS = named("recent_runs")
_RUNNING_RUNS = named("running_runs")
_SUCCESS_BOUNDS = named("success_bounds")

RECENT_ROWS = 50


def actor(role: str) -> str:
    """Who opened or resolved an incident: ``check@host:pid``, ``watchdog@host:pid``..."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class _Bounds:
    """``success_bounds``: the newest success's end, the oldest run's start."""

    last_success_at: datetime | None
    first_started_at: datetime | None


def read_snapshot(conn: Connection, job_name: str, *, recent: int = RECENT_ROWS) -> Snapshot:
    params = {"job_name": job_name, "limit": recent}
    bounds = fetch_one(conn, _SUCCESS_BOUNDS, params, row=_Bounds)
    assert bounds is not None
    return Snapshot(
        job_name=job_name,
        recent=fetch_all(conn, _RECENT_RUNS, params, row=RunRow),
        running=fetch_all(conn, _RUNNING_RUNS, params, row=RunRow),
        last_success_at=bounds.last_success_at,
        first_started_at=bounds.first_started_at,
    )


def read_truth(
    conn: Connection,
    settings: Settings,
    *,
    now: datetime,
    since: datetime | None = None,
    kinds: Sequence[str] = ALL_KINDS,
) -> tuple[Snapshot, Truth]:
    """The one evaluation (:func:`.truth.judge`) over what the database holds now: the
    snapshot, and the open incidents (with those resolved since *since* when given). Reads
    only: what ``/ops``, ``reminders status`` and ``reminders check`` show."""
    thresholds = Thresholds.from_settings(settings)
    recent = max(RECENT_ROWS, thresholds.stuck_after_skips)
    snapshot = read_snapshot(conn, settings.job_name, recent=recent)
    stored = (
        open_alerts(conn, settings.job_name)
        if since is None
        else recent_incidents(conn, settings.job_name, since)
    )
    return snapshot, judge(snapshot, stored, now, thresholds, kinds)


@dataclass(frozen=True)
class CheckResult:
    truth: Truth
    changes: Changes
    recorded: bool  # False: a dry run, nothing was opened, resolved or sent
    open: list[Alert] | None = None  # the stored open incidents after it (with_open only)

    @property
    def findings(self) -> list[Finding]:
        return list(self.truth.findings)

    @property
    def healthy(self) -> bool:
        return not self.truth.findings


def run_checks(
    conn: Connection,
    settings: Settings,
    *,
    now: datetime,
    sinks: Sequence[Sink],
    record: bool,
    role: str = "check",
    kinds: Sequence[str] = ALL_KINDS,
    with_open: bool = False,
) -> CheckResult:
    """Every check (or only *kinds*) once. With *record*, new incidents are opened and alerted
    to *sinks* and cleared ones resolved; without, nothing is written or sent (a dry run).
    *with_open* reads the open incidents after it (``reminders check --json``; not the run's
    end, the loop or the watchdog, which do not show them)."""

    def result(changes: Changes, recorded: bool) -> CheckResult:
        stored = open_alerts(conn, settings.job_name) if with_open else None
        return CheckResult(truth, changes, recorded, stored)

    snapshot, truth = read_truth(conn, settings, now=now, kinds=kinds)
    if not record:
        return result(Changes([], []), False)
    changes = reconcile(
        conn,
        job_name=settings.job_name,
        findings=[f for f in truth.findings if f.kind in kinds],
        now=now,
        actor=actor(role),
        kinds=kinds,
    )
    if FAILURE in kinds:  # after the incidents: the open one covers the newest failures
        changes += announce_failed_runs(
            conn,
            job_name=settings.job_name,
            failed=unannounced_failures(snapshot),
            now=now,
            actor=actor(role),
        )
    notify(sinks, changes)
    return result(changes, True)


def check_once_for(
    settings: Settings,
    *,
    now: datetime,
    record: bool,
    role: str = "check",
    kinds: Sequence[str] = ALL_KINDS,
    with_open: bool = False,
) -> CheckResult:
    """Open a connection, run the checks once with the configured sinks, close it."""
    with connect(database_url(settings), purpose="monitor") as conn:
        try:
            return run_checks(
                conn,
                settings,
                now=now,
                sinks=sinks_from_settings(settings),
                record=record,
                role=role,
                kinds=kinds,
                with_open=with_open,
            )
        except SchemaMissingError as exc:  # said for monitoring, as it is (not reworded)
            raise DatabaseError(
                "the monitoring tables are missing: run `reminders migrate`"
            ) from exc.__cause__
        except psycopg.Error as exc:  # outside a query (a commit): wrap it here
            raise DatabaseError(f"the monitoring checks failed: {type(exc).__name__}") from exc
