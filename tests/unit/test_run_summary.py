"""What a run and the monitoring say to people: counts grouped, each noun in its number; durations
in their two largest units."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

from assignment_reminders.cli.job import run_line
from assignment_reminders.delivery.states import DrainResult
from assignment_reminders.figures import counted, duration, numbered
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.run_status import RunStatus
from assignment_reminders.job.trigger import RunOutcome
from assignment_reminders.monitoring.doctor import clock_detail


def test_counted_groups_thousands_and_says_one_in_the_singular() -> None:
    assert counted(1, "escalation") == "1 escalation"
    assert counted(0, "reminder") == "0 reminders"
    assert counted(1373, "due row") == "1,373 due rows"
    assert counted(2, "entry", "entries") == "2 entries"


def test_the_run_line_names_what_it_counts() -> None:
    counts = RunCounts(
        due_rows_read=1373, reminders_created=945, escalations_created=1, duplicates_suppressed=1200
    )
    assert counts.summary() == (
        "1,373 due rows read, 945 reminders, 1 escalation, 1,200 already sent"
    )


def test_the_run_line_says_what_its_delivery_step_did_only_when_one_ran() -> None:
    outcome = RunOutcome(
        invocation_id=uuid4(),
        status=RunStatus.SUCCESS,
        run_id=3,
        counts=RunCounts(due_rows_read=2, reminders_created=2),
        lock_acquire_ms=1.3,
        delivery=DrainResult(claimed=3, sent=1200, retried=1, cancelled=1),
    )
    assert run_line(outcome) == (
        "success: run 3, 2 due rows read, 2 reminders, 0 escalations, 0 already sent, lock 1.3 ms;"
        " delivery: 1,200 delivered, 1 failed (to be retried), 0 dead, 1 cancelled"
    )
    assert outcome.to_dict()["delivery"] == {
        "delivered": 1200,
        "retried": 1,
        "dead": 0,
        "cancelled": 1,
    }
    no_step = replace(outcome, delivery=None)
    assert run_line(no_step).endswith(", lock 1.3 ms")
    assert no_step.to_dict()["delivery"] is None


def test_a_duration_is_said_in_its_two_largest_units() -> None:
    assert duration(timedelta(seconds=40)) == "40 s"
    assert duration(timedelta(minutes=12, seconds=59)) == "12 min"
    assert duration(timedelta(hours=1)) == "1 h"
    assert duration(timedelta(hours=24, minutes=29)) == "24 h 29 min"
    assert duration(timedelta(hours=49, minutes=59)) == "2 d 1 h"
    assert duration(timedelta(days=3)) == "3 d"
    assert duration(timedelta(seconds=-5)) == "0 s"


def test_numbered_names_one_or_many() -> None:
    assert numbered("run", [3]) == "run 3"
    assert numbered("run", [3, 5]) == "runs 3, 5"


def test_the_clock_check_says_agree_ahead_or_behind_never_a_signed_zero() -> None:
    assert clock_detail(-0.0002, 0.0011) == (
        "database clock agrees with this host's to the millisecond (round trip 0.001 s)"
    )
    assert clock_detail(0.0, 0.0) == (
        "database clock agrees with this host's to the millisecond (round trip 0.000 s)"
    )
    assert clock_detail(1.2346, 0.002).startswith("database clock 1.235 s ahead of this host's")
    assert clock_detail(-60.0, 0.002).startswith("database clock 60.000 s behind this host's")
