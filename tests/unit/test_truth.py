"""One evaluation: the headline and the incident list agree, whether or not a check recorded."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assignment_reminders.job.run_row import RunRow
from assignment_reminders.monitoring.alerts import Alert
from assignment_reminders.monitoring.checks import FAILURE, MISSED_RUN, Snapshot, Thresholds
from assignment_reminders.monitoring.truth import IncidentState, judge

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
STATUSES = ("success", "failed", "skipped", "running")


def row(i: int, status: str, started: datetime, minutes: float, **extra: Any) -> RunRow:
    return RunRow(
        **{
            "id": i,
            "status": status,
            "trigger_source": "builtin-cron",
            "started_at": started,
            "finished_at": None if status == "running" else started + timedelta(minutes=minutes),
            "lock_acquire_ms": 1.0,
            "error": "RuntimeError: boom" if status == "failed" else None,
            "note": None,
            "holder_pid": 4242 if status == "skipped" else None,
            "lock_backend_pid": 100 + i,
            "unlock_ok": None if status in ("running", "skipped") else True,
            **extra,
        }
    )


def snapshot(rows: list[RunRow]) -> Snapshot:
    newest_first = sorted(rows, key=lambda r: (r.started_at, r.id), reverse=True)
    successes = [r.finished_at for r in rows if r.status == "success" and r.finished_at]
    return Snapshot(
        job_name="job",
        recent=newest_first,
        running=[r for r in rows if r.status == "running"],
        last_success_at=max(successes, default=None),
        first_started_at=min((r.started_at for r in rows), default=None),
    )


def alert(i: int, kind: str, subject: str = "job", **extra: Any) -> Alert:
    return Alert(id=i, kind=kind, subject=subject, message=f"{kind} {i}", opened_at=NOW, **extra)


def test_a_failed_run_no_check_recorded_is_a_new_incident_under_a_failing_banner() -> None:
    s = snapshot([row(17, "failed", NOW - timedelta(hours=1), 2)])
    truth = judge(s, [], NOW, Thresholds())
    assert truth.headline.state == "failing"
    assert "run 17 failed" in truth.headline.why
    [incident] = truth.current
    assert (incident.kind, incident.state, incident.id) == (FAILURE, IncidentState.NEW, None)


def test_an_open_incident_whose_finding_is_gone_is_clearing_and_the_banner_is_up() -> None:
    s = snapshot([row(18, "success", NOW - timedelta(hours=1), 2)])
    stale = [alert(4, FAILURE), alert(5, MISSED_RUN)]
    truth = judge(s, stale, NOW, Thresholds())
    assert truth.headline.state == "up"
    assert [(i.id, i.state) for i in truth.current] == [
        (4, IncidentState.CLEARING),
        (5, IncidentState.CLEARING),
    ]


def test_an_acknowledged_open_incident_stays_open_and_keeps_its_acknowledgement() -> None:
    s = snapshot([row(17, "failed", NOW - timedelta(hours=1), 2)])
    acked = alert(4, FAILURE, acknowledged_by="kari", acknowledged_at=NOW)
    truth = judge(s, [acked], NOW, Thresholds())
    [incident] = truth.current
    assert incident.state is IncidentState.OPEN
    assert incident.to_dict()["acknowledged_by"] == "kari"


@pytest.mark.parametrize("seed", range(300))
def test_the_banner_is_up_or_running_exactly_when_no_incident_is_open_or_new(seed: int) -> None:
    rng = random.Random(seed)
    rows = []
    at = NOW - timedelta(hours=rng.uniform(1, 80))
    for i in range(rng.randint(0, 8)):
        status = rng.choice(STATUSES[:3]) if at < NOW - timedelta(hours=1) else "running"
        rows.append(row(i + 1, status, at, rng.uniform(0.5, 5)))
        at += timedelta(hours=rng.uniform(0.2, 30))
        if at >= NOW:
            break
    if rows and rng.random() < 0.3:
        rows.append(row(99, "running", NOW - timedelta(minutes=rng.uniform(1, 90)), 0))
    s = snapshot(rows)
    stored = [alert(1, FAILURE)] if rng.random() < 0.5 else []
    truth = judge(s, stored, NOW, Thresholds())
    active = [i for i in truth.current if i.state in (IncidentState.OPEN, IncidentState.NEW)]
    assert (truth.headline.state in ("up", "running")) == (not active), (truth, rows)
    assert {(i.kind, i.subject) for i in active} == {(f.kind, f.subject) for f in truth.findings}
