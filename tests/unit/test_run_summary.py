"""A run's one line says its counts as people read them: grouped, each noun in its number."""

from __future__ import annotations

from assignment_reminders.figures import counted
from assignment_reminders.job.counts import RunCounts


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
