"""``cron_execution_logs``: one row per invocation of the job, written on the work connection."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from ..db.database import Connection
from ..db.gateway import IdRow, execute, fetch_all, fetch_one, named
from ..locking.holder import LockHolder
from .counts import RunCounts
from .run_status import RunStatus

_ANNOTATE_RUN = named("annotate_run")
_FAIL_ORPHANED_RUNS = named("fail_orphaned_runs")
_FINISH_RUN = named("finish_run")
_INSERT_RUNNING = named("insert_running")
_INSERT_SKIPPED = named("insert_skipped")
_LOCK_HOLDER = named("lock_holder")
_LOCK_HOLDER_SINCE = named("lock_holder_since")
_RECORD_OVERLAPS = named("record_overlaps")
_RECORD_UNLOCK = named("record_unlock")
_RUN_LEDGER_COUNTS = named("run_ledger_counts")

SKIP_LOCK_HELD = "advisory_lock_held"


@dataclass(frozen=True)
class _Since:
    """``lock_holder_since``: when the holder's own run started."""

    started_at: datetime


@dataclass(frozen=True)
class _Orphan:
    """``fail_orphaned_runs``: a run declared dead."""

    id: int
    invocation_id: UUID


@dataclass(frozen=True)
class _Overlaps:
    """``record_overlaps``: the runs whose writes overlapped the winner's."""

    overlapped_with: list[int]


@dataclass(frozen=True)
class _LedgerCounts:
    """``run_ledger_counts``: the counts the ledger's triggers keep on a run's row."""

    reminders_created: int
    escalations_created: int


@dataclass(frozen=True)
class RunStart:
    job_name: str
    invocation_id: UUID
    trigger_source: str
    started_at: datetime
    lock_key: int
    lock_acquire_ms: float
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)


class ExecutionLog(Protocol):
    """What the cron trigger writes. :class:`PgExecutionLog` is the real one."""

    def lock_holder(
        self, job_name: str, lock_key: int
    ) -> tuple[LockHolder | None, datetime | None]: ...

    def record_skipped(
        self,
        start: RunStart,
        *,
        finished_at: datetime,
        duration_ms: float,
        note: str,
        holder: LockHolder | None,
        holder_since: datetime | None,
    ) -> int: ...

    def fail_orphaned_runs(self, job_name: str, run_id: int, now: datetime) -> list[int]:
        """Fail the rows other than *run_id* still 'running' (``holder_died``, naming run
        *run_id*); their ids."""
        ...

    def start_running(self, start: RunStart, lock_backend_pid: int | None) -> int: ...

    def finish(
        self,
        run_id: int,
        *,
        status: RunStatus,
        finished_at: datetime,
        duration_ms: float,
        counts: RunCounts,
        note: str | None,
        error: str | None,
    ) -> bool: ...

    def record_unlock(self, run_id: int, unlock_ok: bool) -> None: ...

    def add_note(self, run_id: int, note: str) -> bool:
        """Append *note* to a finished run's note; False when the run has no row (deleted)."""
        ...

    def record_overlaps(self, run_id: int, job_name: str, token: int) -> list[int]:
        """After the lock winner's row is written: the runs whose ledger writes committed after
        its fencing bump (token) began; both rows name each other. Returns their ids."""
        ...

    def ledger_counts(self, run_id: int) -> tuple[int, int] | None:
        """(reminders, escalations) the ledger holds with this run id, as its row counts them."""
        ...


class PgExecutionLog:
    """The execution log in PostgreSQL. Each call is its own (autocommit) statement."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock_holder(
        self, job_name: str, lock_key: int
    ) -> tuple[LockHolder | None, datetime | None]:
        holder = fetch_one(self.conn, _LOCK_HOLDER, {"lock_key": lock_key}, row=LockHolder)
        if holder is None:
            return None, None
        since = fetch_one(
            self.conn, _LOCK_HOLDER_SINCE, {"job_name": job_name, "pid": holder.pid}, row=_Since
        )
        return holder, since.started_at if since else holder.backend_start

    def record_skipped(
        self,
        start: RunStart,
        *,
        finished_at: datetime,
        duration_ms: float,
        note: str,
        holder: LockHolder | None,
        holder_since: datetime | None,
    ) -> int:
        row = fetch_one(
            self.conn,
            _INSERT_SKIPPED,
            {
                **_start_params(start),
                "note": note,
                "finished_at": finished_at,
                "duration_ms": duration_ms,
                "holder_pid": holder.pid if holder else None,
                "holder_application_name": holder.application_name if holder else None,
                "holder_client_addr": holder.client_addr if holder else None,
                "holder_since": holder_since,
            },
            row=IdRow,
        )
        assert row is not None
        return row.id

    def fail_orphaned_runs(self, job_name: str, run_id: int, now: datetime) -> list[int]:
        rows = fetch_all(
            self.conn,
            _FAIL_ORPHANED_RUNS,
            {"job_name": job_name, "run_id": run_id, "now": now},
            row=_Orphan,
        )
        return [r.id for r in rows]

    def start_running(self, start: RunStart, lock_backend_pid: int | None) -> int:
        row = fetch_one(
            self.conn,
            _INSERT_RUNNING,
            {**_start_params(start), "lock_backend_pid": lock_backend_pid},
            row=IdRow,
        )
        assert row is not None
        return row.id

    def finish(
        self,
        run_id: int,
        *,
        status: RunStatus,
        finished_at: datetime,
        duration_ms: float,
        counts: RunCounts,
        note: str | None,
        error: str | None,
    ) -> bool:
        row = fetch_one(
            self.conn,
            _FINISH_RUN,
            {
                "id": run_id,
                "status": status,
                "note": note,
                "error": error,
                "finished_at": finished_at,
                "duration_ms": duration_ms,
                "due_rows_read": counts.due_rows_read,
                "duplicates_suppressed": counts.duplicates_suppressed,
            },
            row=IdRow,
        )
        return row is not None

    def record_unlock(self, run_id: int, unlock_ok: bool) -> None:
        execute(self.conn, _RECORD_UNLOCK, {"id": run_id, "unlock_ok": unlock_ok})

    def add_note(self, run_id: int, note: str) -> bool:
        row = fetch_one(self.conn, _ANNOTATE_RUN, {"id": run_id, "note": note}, row=IdRow)
        return row is not None

    def record_overlaps(self, run_id: int, job_name: str, token: int) -> list[int]:
        row = fetch_one(
            self.conn,
            _RECORD_OVERLAPS,
            {"run_id": run_id, "job_name": job_name, "token": token},
            row=_Overlaps,
        )
        return [] if row is None else list(row.overlapped_with)

    def ledger_counts(self, run_id: int) -> tuple[int, int] | None:
        row = fetch_one(self.conn, _RUN_LEDGER_COUNTS, {"id": run_id}, row=_LedgerCounts)
        if row is None:
            return None
        return row.reminders_created, row.escalations_created


def _start_params(start: RunStart) -> dict[str, Any]:
    return {
        "job_name": start.job_name,
        "invocation_id": start.invocation_id,
        "trigger_source": start.trigger_source,
        "started_at": start.started_at,
        "lock_key": start.lock_key,
        "lock_acquire_ms": start.lock_acquire_ms,
        "host": start.host,
        "pid": start.pid,
    }
