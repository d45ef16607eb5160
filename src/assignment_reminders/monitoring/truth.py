"""One evaluation of the job's state: the headline and the incidents, from the same findings.

:func:`judge` is what ``/ops``, ``reminders status`` and ``reminders check`` all call. It runs the
checks (:mod:`.checks`) over one snapshot of the execution log, derives the headline from those
findings, and lays the stored incidents (:mod:`.alerts`) over them, so the banner and the
incident list never disagree, whether or not a check has recorded the findings yet:

* a finding with its open incident: **open** (acknowledged or not, muted or not);
* a finding with no incident yet (no check has recorded it): **new**, shown as such;
* an open incident whose finding is gone: **clearing** (the next check resolves it);
* a resolved incident (the page's last days): **resolved**.

The headline, first match wins (``docs/monitoring.md`` shows the page in each state):

* **late**: a run in progress past the overrun limit (``overrun``);
* **failing**: the newest run that did work failed (``failure``), a release found the lock gone
  (``unlock_failed``), or two runs overlapped (``overlapping_runs``);
* **down**: two or more expected runs missed, or no success within the fixed limit
  (``missed_run``);
* **late**: one expected run missed (``missed_run``), or the lock stuck (``stuck_lock``);
* **running**: a run is in progress, within the overrun limit;
* **up**: nothing found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..figures import duration
from ..job.run_row import RunRow
from ..job.run_status import RunStatus
from .alerts import Alert
from .checks import (
    ALL_KINDS,
    FAILURE,
    MISSED_RUN,
    OVERLAPPING_RUNS,
    OVERRUN,
    STUCK_LOCK,
    UNLOCK_FAILED,
    Finding,
    Snapshot,
    Thresholds,
    evaluate,
)
from .ops_state import DOWN, FAILING, LATE, RUNNING, UP, Headline
from .redact import short_error


class IncidentState(StrEnum):
    OPEN = "open"
    NEW = "new"
    CLEARING = "clearing"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Incident:
    """One line of the incident list: a stored incident, a finding not recorded yet, or both."""

    kind: str
    subject: str
    message: str
    state: IncidentState
    opened_at: datetime  # a new one: now
    resolved_at: datetime | None = None
    alert: Alert | None = None  # None: not recorded yet

    @property
    def id(self) -> int | None:
        return self.alert.id if self.alert is not None else None

    def to_dict(self) -> dict[str, Any]:
        a = self.alert
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "message": self.message,
            "state": self.state.value,
            "opened_at": self.opened_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "acknowledged_by": a.acknowledged_by if a else None,
            "acknowledged_at": a.acknowledged_at.isoformat() if a and a.acknowledged_at else None,
            "acknowledged_note": a.acknowledged_note if a else None,
            "muted_by": a.muted_by if a else None,
        }


@dataclass(frozen=True)
class Truth:
    headline: Headline
    findings: tuple[Finding, ...]
    incidents: tuple[Incident, ...]  # open, new and clearing first (oldest first), then resolved

    @property
    def current(self) -> tuple[Incident, ...]:
        """The incidents that are not resolved."""
        return tuple(i for i in self.incidents if i.state is not IncidentState.RESOLVED)


def judge(
    snapshot: Snapshot,
    stored: Sequence[Alert],
    now: datetime,
    thresholds: Thresholds,
    kinds: Sequence[str] = ALL_KINDS,
) -> Truth:
    """The headline and the incident list of *snapshot* as of *now*; *stored* are the open
    incidents (and any resolved ones to show). Only the checks of *kinds* when given (a run's
    end, the watchdog): then the headline and list speak of those kinds only."""
    findings = tuple(evaluate(snapshot, now, thresholds, kinds))
    return Truth(
        headline=headline(snapshot, findings, now, thresholds),
        findings=findings,
        incidents=incidents(findings, stored, now),
    )


def incidents(
    findings: Sequence[Finding], stored: Sequence[Alert], now: datetime
) -> tuple[Incident, ...]:
    open_by_key = {(a.kind, a.subject): a for a in stored if a.resolved_at is None}
    found = {(f.kind, f.subject) for f in findings}
    current = [
        Incident(a.kind, a.subject, a.message, IncidentState.OPEN, a.opened_at, alert=a)
        if (a.kind, a.subject) in found
        else Incident(a.kind, a.subject, a.message, IncidentState.CLEARING, a.opened_at, alert=a)
        for a in open_by_key.values()
    ]
    current += [
        Incident(f.kind, f.subject, f.message, IncidentState.NEW, now)
        for f in findings
        if (f.kind, f.subject) not in open_by_key
    ]
    current.sort(key=lambda i: (i.opened_at, i.id or 0))
    resolved = [
        Incident(
            a.kind,
            a.subject,
            a.message,
            IncidentState.RESOLVED,
            a.opened_at,
            resolved_at=a.resolved_at,
            alert=a,
        )
        for a in stored
        if a.resolved_at is not None
    ]
    resolved.sort(key=lambda i: (i.opened_at, i.id or 0), reverse=True)
    return (*current, *resolved)


def _row(s: Snapshot, run_id: object) -> RunRow | None:
    return next((r for r in s.recent if r.id == run_id), None)


def _first(findings: Sequence[Finding], *kinds: str) -> Finding | None:
    return next((f for f in findings if f.kind in kinds), None)


def headline(s: Snapshot, findings: Sequence[Finding], now: datetime, t: Thresholds) -> Headline:
    return _problem(s, findings, now, t) or _quiet(s, now)


def _problem(
    s: Snapshot, findings: Sequence[Finding], now: datetime, t: Thresholds
) -> Headline | None:
    if (overrun := _first(findings, OVERRUN)) is not None:
        row = _row(s, overrun.details.get("run_id"))
        started = row.started_at if row else now
        source = row.trigger_source if row else None
        return Headline(
            LATE,
            f"run {overrun.details.get('run_id')} ({source or '?'}) started"
            f" {duration(now - started)} ago: past the {duration(t.overrun_after)} overrun limit",
        )
    if (failure := _first(findings, FAILURE)) is not None:
        row = _row(s, failure.details.get("run_id"))
        error = (short_error(row.error) or row.note if row else None) or "failed"
        when = duration(now - row.started_at) if row else "?"
        return Headline(FAILING, f"run {failure.details.get('run_id')} failed {when} ago: {error}")
    if (other := _first(findings, UNLOCK_FAILED, OVERLAPPING_RUNS)) is not None:
        return Headline(FAILING, short_error(other.message) or other.kind)
    if (missed := _first(findings, MISSED_RUN)) is not None:
        return _missed(s, missed, now, t)
    if (stuck := _first(findings, STUCK_LOCK)) is not None:
        return Headline(LATE, short_error(stuck.message) or stuck.kind)
    return None


def _quiet(s: Snapshot, now: datetime) -> Headline:
    running = next((r for r in s.recent if r.status == RunStatus.RUNNING), None)
    if running is not None:
        return Headline(
            RUNNING,
            f"run {running.id} ({running.trigger_source or '?'}) started"
            f" {duration(now - running.started_at)} ago",
        )
    if s.last_success_at is None:
        return Headline(UP, "no run yet" if s.first_started_at is None else "no success yet")
    return Headline(UP, f"last success {duration(now - s.last_success_at)} ago")


def _missed(s: Snapshot, missed: Finding, now: datetime, t: Thresholds) -> Headline:
    since = s.last_success_at or s.first_started_at
    assert since is not None  # a missed_run finding has one
    what = "last success" if s.last_success_at else "no success since the first run"
    expected = t.expected_after(since)
    if expected is None:  # a fixed limit
        limit = t.missed_after or t.missed_grace
        return Headline(
            DOWN, f"{what} {duration(now - since)} ago, more than the {duration(limit)} limit"
        )
    local = expected.astimezone(t.schedule.zone)
    if int(missed.details.get("missed") or 1) >= 2:
        return Headline(
            DOWN,
            f"{what} {duration(now - since)} ago; the runs expected since"
            f" {local:%Y-%m-%d %H:%M %Z} did not succeed",
        )
    return Headline(
        LATE,
        f"expected at {local:%Y-%m-%d %H:%M %Z} ({duration(now - expected)} ago);"
        f" no successful run since (grace {duration(t.missed_grace)})",
    )
