"""What people do to incidents: acknowledge one, and mute alerts with a maintenance window.

Acknowledging says "someone is on it": who, when and an optional note, once per incident; the
incident still resolves when its finding goes away. A maintenance window (start, end, reason)
mutes alerts: an incident opened or resolved while one is open is recorded as usual (with the
window's id on an opened one) and said in the log, but not sent to the webhook or email
(:func:`.sinks.notify`). Both are recorded in ``reminders.monitoring_alerts`` /
``reminders.maintenance_windows`` and logged (logger ``assignment_reminders.alerts``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from ..db.database import Connection
from ..db.gateway import Params, Statement, fetch_all, fetch_one, named, transaction
from ..exceptions import InputError, NotFoundError
from ..logs import log_context
from .alerts import Alert, IncidentRow

logger = logging.getLogger("assignment_reminders.alerts")

_ACKNOWLEDGE = named("acknowledge_incident")
_INCIDENT = named("incident_by_id")
_OPEN_WINDOW = named("open_maintenance_window")
_CLOSE_WINDOW = named("close_maintenance_window")
_WINDOW = named("maintenance_window_by_id")
_WINDOWS = named("maintenance_windows")

R = TypeVar("R")

NAME_MAX_LENGTH = 200
NOTE_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 500


@dataclass(frozen=True)
class Window:
    id: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    opened_by: str
    opened_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at and (
            self.closed_at is None or now < self.closed_at
        )

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "reason": self.reason,
            "opened_by": self.opened_by,
            "opened_at": self.opened_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "closed_by": self.closed_by,
            "active": self.active(now),
        }


def _name(by: str, field: str = "by") -> str:
    name = by.strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise InputError(f"{field} must be 1 to {NAME_MAX_LENGTH} characters", field=field)
    return name


def _once(
    conn: Connection,
    change: Statement,
    current: Statement,
    params: Params,
    *,
    row: Callable[..., R],
    what: str,
    done: str,
    done_by: Callable[[R], tuple[str | None, datetime | None]],
) -> R:
    """*change* (the row it changed), within the caller's transaction; when it changed nothing,
    *current* says why: NotFoundError (*what* does not exist) or InputError (*what* was already
    *done*, by whom and when: whoever did it first stays)."""
    changed = fetch_one(conn, change, params, row=row)
    if changed is not None:
        return changed
    found = fetch_one(conn, current, params, row=row)
    if found is None:
        raise NotFoundError(f"{what} does not exist", field="id")
    by, at = done_by(found)
    raise InputError(
        f"{what} was already {done} by {by} at {at.isoformat() if at else None}", field="id"
    )


def acknowledge(
    conn: Connection, job_name: str, incident_id: int, *, by: str, note: str | None, now: datetime
) -> Alert:
    """Acknowledge incident *incident_id* once (NotFoundError, or InputError when it already
    was: whoever acknowledged first stays)."""
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise InputError(f"note must be at most {NOTE_MAX_LENGTH} characters", field="note")
    params = {"job_name": job_name, "id": incident_id, "by": _name(by), "note": note, "now": now}
    with transaction(conn, "the acknowledgement"):
        row = _once(
            conn,
            _ACKNOWLEDGE,
            _INCIDENT,
            params,
            row=IncidentRow,
            what=f"incident {incident_id}",
            done="acknowledged",
            done_by=lambda r: (r.acknowledged_by, r.acknowledged_at),
        )
    alert = row.alert()
    with log_context(alert_kind=alert.kind, incident_id=alert.id):
        logger.info(
            "incident %d (%s) acknowledged by %s%s",
            alert.id,
            alert.kind,
            alert.acknowledged_by,
            f": {note}" if note else "",
        )
    return alert


def check_window(starts_at: datetime, ends_at: datetime, *, now: datetime) -> None:
    """InputError unless a window from *starts_at* to *ends_at* ends after *now* and after it
    starts (the CLI asks before it opens the database, :func:`open_window` again)."""
    if ends_at <= now:  # first: --start defaults to now, and then this is what is wrong
        raise InputError("--end must be in the future", field="end")
    if ends_at <= starts_at:
        raise InputError("--end must be after --start", field="end")


def open_window(
    conn: Connection,
    job_name: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    by: str,
    now: datetime,
) -> Window:
    check_window(starts_at, ends_at, now=now)
    text = reason.strip()
    if not text or len(text) > REASON_MAX_LENGTH:
        raise InputError(f"reason must be 1 to {REASON_MAX_LENGTH} characters", field="reason")
    params = {
        "job_name": job_name,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "reason": text,
        "by": _name(by),
        "now": now,
    }
    with transaction(conn, "the maintenance window"):
        window = fetch_one(conn, _OPEN_WINDOW, params, row=Window)
    assert window is not None
    with log_context(maintenance_window=window.id):
        logger.info(
            "maintenance window %d opened by %s: %s to %s (%s); alerts in it are recorded,"
            " not sent",
            window.id,
            window.opened_by,
            window.starts_at.isoformat(),
            window.ends_at.isoformat(),
            window.reason,
        )
    return window


def close_window(
    conn: Connection, job_name: str, window_id: int, *, by: str, now: datetime
) -> Window:
    params = {"job_name": job_name, "id": window_id, "by": _name(by), "now": now}
    with transaction(conn, "the maintenance window"):
        window = _once(
            conn,
            _CLOSE_WINDOW,
            _WINDOW,
            params,
            row=Window,
            what=f"maintenance window {window_id}",
            done="closed",
            done_by=lambda w: (w.closed_by, w.closed_at),
        )
    with log_context(maintenance_window=window.id):
        logger.info("maintenance window %d closed by %s", window.id, window.closed_by)
    return window


def list_windows(
    conn: Connection, job_name: str, *, now: datetime, everything: bool = False
) -> list[Window]:
    """The windows not over by *now* (every one with *everything*), soonest first."""
    params = {"job_name": job_name, "now": now, "all": everything}
    return fetch_all(conn, _WINDOWS, params, row=Window)
