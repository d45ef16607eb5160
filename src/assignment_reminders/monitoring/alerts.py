"""Alert state in ``reminders.monitoring_alerts``: one open incident per (job, kind, subject).

:func:`reconcile` is the whole protocol. In one transaction it opens an incident for every
finding that has none (``INSERT ... ON CONFLICT DO NOTHING``-style on a partial unique index) and
resolves every open incident of the checked kinds whose finding went away. Only rows this call
inserted or resolved come back as ``opened``/``resolved``, so however many replicas, checks and
watchdogs run at once, each incident is announced once and recovered once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from ..db.database import Connection
from ..db.gateway import fetch_all, fetch_value, named, transaction
from .checks import ALL_KINDS, FailedRuns, Finding

_ACTIVE_WINDOW = named("active_window")
_ANNOUNCE_FAILED_RUNS = named("announce_failed_runs")
_OPEN_ALERTS = named("open_alerts")
_OPEN_FINDINGS = named("open_findings")
_RECENT_INCIDENTS = named("recent_incidents")
_RESOLVE_CLEARED = named("resolve_cleared")


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    subject: str
    message: str
    opened_at: datetime
    resolved_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_note: str | None = None
    muted_by: int | None = None  # the maintenance window it opened in: recorded, not sent

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
            "opened_at": self.opened_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "details": self.details,
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_note": self.acknowledged_note,
            "muted_by": self.muted_by,
        }


@dataclass(frozen=True)
class IncidentRow:
    """A row of ``reminders.monitoring_alerts`` as the incident queries return it (each returns
    these columns or a subset; ``inserted``: ``open_findings``' new rows)."""

    id: int
    kind: str
    subject: str
    message: str
    opened_at: datetime
    details: dict[str, Any] | None = None
    resolved_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_note: str | None = None
    muted_by: int | None = None
    opened_by: str | None = None
    last_seen_at: datetime | None = None
    inserted: bool = True

    def alert(self) -> Alert:
        return Alert(
            id=self.id,
            kind=self.kind,
            subject=self.subject,
            message=self.message,
            opened_at=self.opened_at,
            resolved_at=self.resolved_at,
            details=self.details or {},
            acknowledged_at=self.acknowledged_at,
            acknowledged_by=self.acknowledged_by,
            acknowledged_note=self.acknowledged_note,
            muted_by=self.muted_by,
        )


@dataclass(frozen=True)
class Changes:
    opened: list[Alert]
    resolved: list[Alert]
    muted_by: int | None = None  # a maintenance window was open: recorded, not sent

    def __add__(self, other: Changes) -> Changes:
        return Changes(
            opened=[*self.opened, *other.opened],
            resolved=[*self.resolved, *other.resolved],
            muted_by=self.muted_by or other.muted_by,
        )


def active_window(conn: Connection, job_name: str, now: datetime) -> int | None:
    """The maintenance window *now* falls in (its id), if any."""
    return fetch_value(conn, _ACTIVE_WINDOW, {"job_name": job_name, "now": now}, kind=int)


def _findings_json(findings: Iterable[Finding]) -> Jsonb:
    return Jsonb(
        [
            {"kind": f.kind, "subject": f.subject, "message": f.message, "details": f.details}
            for f in findings
        ]
    )


def reconcile(
    conn: Connection,
    *,
    job_name: str,
    findings: Sequence[Finding],
    now: datetime,
    actor: str,
    kinds: Sequence[str] = ALL_KINDS,
) -> Changes:
    """Bring the stored incidents of *kinds* in line with *findings* (all of those kinds)."""
    params: dict[str, Any] = {
        "job_name": job_name,
        "findings": _findings_json(findings),
        "now": now,
        "actor": actor,
        "kinds": list(kinds),
    }
    with transaction(conn, "the alert state"):
        params["muted_by"] = muted_by = active_window(conn, job_name, now)
        opened = fetch_all(conn, _OPEN_FINDINGS, params, row=IncidentRow) if findings else []
        resolved = fetch_all(conn, _RESOLVE_CLEARED, params, row=IncidentRow)
    return Changes(
        opened=[r.alert() for r in opened if r.inserted],
        resolved=[r.alert() for r in resolved],
        muted_by=muted_by,
    )


def announce_failed_runs(
    conn: Connection, *, job_name: str, failed: FailedRuns, now: datetime, actor: str
) -> Changes:
    """Mark the failed runs of *failed* announced, each once whoever checks: the ones the open
    `failure` incident covers silently, each one a success already followed as an incident of
    its own, opened and resolved at once (so both are sent)."""
    if not failed.covered and not failed.recovered:
        return Changes(opened=[], resolved=[])
    params: dict[str, Any] = {
        "job_name": job_name,
        "covered": failed.covered,
        "findings": _findings_json(failed.recovered),
        "now": now,
        "actor": actor,
    }
    with transaction(conn, "the alert state"):
        params["muted_by"] = muted_by = active_window(conn, job_name, now)
        rows = fetch_all(conn, _ANNOUNCE_FAILED_RUNS, params, row=IncidentRow)
    resolved = [r.alert() for r in rows]
    opened = [dataclasses.replace(a, resolved_at=None) for a in resolved]
    return Changes(opened=opened, resolved=resolved, muted_by=muted_by)


def open_alerts(conn: Connection, job_name: str) -> list[Alert]:
    rows = fetch_all(conn, _OPEN_ALERTS, {"job_name": job_name}, row=IncidentRow)
    return [r.alert() for r in rows]


def recent_incidents(conn: Connection, job_name: str, since: datetime) -> list[Alert]:
    """The open incidents and those resolved since *since* (the page's last days)."""
    params = {"job_name": job_name, "since": since}
    return [r.alert() for r in fetch_all(conn, _RECENT_INCIDENTS, params, row=IncidentRow)]
