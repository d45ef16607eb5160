"""What ``reminders status`` shows: recent runs, who holds the lock now, and open alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .database import Connection
from .figures import rounded
from .gateway import fetch_all, named, record
from .joblog import PgExecutionLog
from .lock import LOCK_KEY, LockHolder
from .monitoring.alerts import Alert, open_alerts
from .monitoring.checks import overlapping_run_ids
from .tables import render, shorten

RUN_COLUMNS = (  # the most useful first: on a narrow terminal the last ones are left out
    ("id", "id"),
    ("status", "status"),
    ("started_at", "started"),
    ("note", "note"),
    ("error", "error"),
    ("overlapped", "overlapped"),
    ("reminders_created", "reminders"),
    ("escalations_created", "escalations"),
    ("duplicates_suppressed", "duplicates"),
    ("assignments_scanned", "scanned"),
    ("duration_ms", "ms"),
    ("lock_acquire_ms", "lock ms"),
    ("holder_pid", "holder pid"),
)

_RECENT_RUNS = named("recent_runs")


@dataclass(frozen=True)
class Status:
    runs: list[dict[str, Any]]
    holder: LockHolder | None
    holder_since: Any
    alerts: list[Alert] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": [{k: _json(v) for k, v in r.items()} for r in self.runs],
            "lock_holder": None
            if self.holder is None
            else {
                "pid": self.holder.pid,
                "application_name": self.holder.application_name,
                "client_addr": self.holder.client_addr,
                "since": _json(self.holder_since),
            },
            "open_alerts": [a.to_dict() for a in self.alerts],
        }

    def render(self, *, width: int | None = None, colour: bool = False) -> str:
        """The lock, the open alerts and the runs, each line at most *width* characters
        (cut with ``…``; ``--json`` has every character), status words coloured on request."""
        if self.holder is None:
            lock = "lock: free"
        else:
            lock = (
                f"lock: held by pid {self.holder.pid} ({self.holder.application_name or '?'}"
                f", {self.holder.client_addr or 'local socket'}) since {self.holder_since}"
            )
        alerts = "\n".join(
            shorten(f"  {a.kind}: {a.message} (since {a.opened_at})", width) for a in self.alerts
        )
        runs = render(self.runs, RUN_COLUMNS, width=width, colour=colour)
        lock = shorten(lock, width)
        return f"{lock}\n\nopen alerts:\n{alerts or '  (none)'}\n\nrecent runs:\n{runs}"


def _json(value: Any) -> Any:
    if isinstance(value, float):
        return rounded(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def read_status(conn: Connection, job_name: str, *, now: datetime, limit: int = 20) -> Status:
    """The newest *limit* runs; each run that overlapped another (a double run: the
    ``overlapping_runs`` alert) names those runs in ``overlapped``."""
    runs = fetch_all(conn, _RECENT_RUNS, {"job_name": job_name, "limit": limit}, row=record)
    overlaps = overlapping_run_ids(runs, now)
    for run in runs:
        ids = overlaps.get(run["id"])
        run["overlapped"] = "with " + ", ".join(map(str, ids)) if ids else None
    holder, since = PgExecutionLog(conn).lock_holder(job_name, LOCK_KEY)
    alerts = open_alerts(conn, job_name)
    return Status(runs=list(runs), holder=holder, holder_since=since, alerts=alerts)
