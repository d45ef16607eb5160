"""What ``reminders status`` shows: the job's state and its incidents (the one evaluation that
``/ops`` and ``reminders check`` make: monitoring/truth.py), recent runs, who holds the lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..config import Settings
from ..db.database import Connection
from ..db.gateway import fetch_all, named
from ..figures import moment
from ..job.joblog import PgExecutionLog
from ..job.run_row import RunRow
from ..locking.holder import LockHolder, held_by
from ..locking.lock import LOCK_KEY
from ..tables import render, shorten
from .alerts import Alert
from .checks import overlapping_run_ids
from .monitor import RECENT_ROWS, read_truth
from .ops_state import Headline
from .truth import Incident, IncidentState

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
    ("due_rows_read", "due rows"),
    ("duration_ms", "ms"),
    ("lock_acquire_ms", "lock ms"),
    ("holder_pid", "holder pid"),
)

_RECENT_RUNS = named("recent_runs")


@dataclass(frozen=True)
class Status:
    runs: list[dict[str, Any]]
    holder: LockHolder | None
    holder_since: datetime | None
    alerts: list[Alert] = field(default_factory=list)  # the stored open incidents
    headline: Headline | None = None
    incidents: list[Incident] = field(default_factory=list)  # open, new and clearing

    def to_dict(self) -> dict[str, Any]:
        """For ``--json``: ``echo_json`` writes its moments as ISO 8601 and rounds its figures."""
        return {
            "runs": [dict(r) for r in self.runs],
            "lock_holder": None
            if self.holder is None
            else {
                "pid": self.holder.pid,
                "application_name": self.holder.application_name,
                "client_addr": self.holder.client_addr,
                "since": self.holder_since,
            },
            "open_alerts": [a.to_dict() for a in self.alerts],
            "state": None if self.headline is None else self.headline.to_dict(),
            "incidents": [i.to_dict() for i in self.incidents],
        }

    def render(self, *, width: int | None = None, colour: bool = False) -> str:
        """The lock, the open alerts and the runs, each line at most *width* characters
        (cut with ``…``; ``--json`` has every character), status words coloured on request."""
        if self.holder is None:
            lock = "lock: free"
        else:
            h = self.holder
            who = held_by(h.pid, h.application_name, h.client_addr, self.holder_since)
            lock = f"lock: held by {who}"
        alerts = "\n".join(shorten(f"  {_incident_line(i)}", width) for i in self.incidents)
        state = (
            shorten(f"state: {self.headline.state.upper()}: {self.headline.why}", width) + "\n"
            if self.headline is not None
            else ""
        )
        runs = render(self.runs, RUN_COLUMNS, width=width, colour=colour)
        lock = shorten(lock, width)
        return f"{state}{lock}\n\nopen alerts:\n{alerts or '  (none)'}\n\nrecent runs:\n{runs}"


def _incident_line(i: Incident) -> str:
    """``failure: run 17 ... (since ..., incident 4, acknowledged by kari)``."""
    said = [f"since {moment(i.opened_at)}" if i.id is not None else "new: the next check alerts it"]
    if i.id is not None:
        said.append(f"incident {i.id}")
    if i.state is IncidentState.CLEARING:
        said.append("clearing: the next check resolves it")
    a = i.alert
    if a is not None and a.acknowledged_by:
        said.append(f"acknowledged by {a.acknowledged_by}")
    if a is not None and a.muted_by is not None:
        said.append(f"muted by maintenance window {a.muted_by}")
    return f"{i.kind}: {i.message} ({', '.join(said)})"


def _overlapped(ids: list[int] | None) -> str | None:
    return "with " + ", ".join(map(str, ids)) if ids else None


def read_status(conn: Connection, settings: Settings, *, now: datetime, limit: int = 20) -> Status:
    """The state and the incidents as of *now*; the newest *limit* runs, each run that
    overlapped another (a double run: the ``overlapping_runs`` alert) naming those runs in
    ``overlapped``."""
    job_name = settings.job_name
    snapshot, truth = read_truth(conn, settings, now=now)
    rows = snapshot.recent[:limit]  # the same query's newest runs
    # read again only for more, and only when the snapshot did not already hold every run (it
    # reads at least RECENT_ROWS)
    if len(rows) < limit and len(snapshot.recent) >= RECENT_ROWS:
        rows = fetch_all(conn, _RECENT_RUNS, {"job_name": job_name, "limit": limit}, row=RunRow)
    overlaps = overlapping_run_ids(rows, now)
    runs = [{**r.as_dict(), "overlapped": _overlapped(overlaps.get(r.id))} for r in rows]
    holder, since = PgExecutionLog(conn).lock_holder(job_name, LOCK_KEY)
    return Status(
        runs=runs,
        holder=holder,
        holder_since=since,
        alerts=[i.alert for i in truth.current if i.alert is not None],
        headline=truth.headline,
        incidents=list(truth.current),
    )
