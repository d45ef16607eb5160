"""The headline (/ops, status, check): each state and its reason, from the runs, the schedule and
the thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assignment_reminders.job.run_row import RunRow
from assignment_reminders.monitoring.checks import Snapshot, Thresholds
from assignment_reminders.monitoring.ops_page import axis, chart
from assignment_reminders.monitoring.truth import judge

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 13:00 in Oslo; 06:00 Oslo was 05:00 UTC


def run(status: str, hours_ago: float, minutes: float = 2, **extra: Any) -> RunRow:
    started = NOW - timedelta(hours=hours_ago)
    return RunRow(
        **{
            "id": extra.pop("id", 1),
            "status": status,
            "trigger_source": "builtin-cron",
            "started_at": started,
            "duration_ms": None if status == "running" else minutes * 60_000,
            "finished_at": None if status == "running" else started + timedelta(minutes=minutes),
            "error": None,
            "note": None,
            **extra,
        }
    )


def snapshot(runs: list[RunRow], last_success_hours: float | None = None) -> Snapshot:
    last = NOW - timedelta(hours=last_success_hours) if last_success_hours is not None else None
    newest_first = sorted(runs, key=lambda r: r.started_at, reverse=True)
    return Snapshot(
        job_name="assignment-reminder-cron",
        recent=newest_first,
        running=[r for r in runs if r.status == "running"],
        last_success_at=last,
        first_started_at=min((r.started_at for r in runs), default=None),
    )


@pytest.mark.parametrize(
    ("runs", "last_success", "state", "why"),
    [
        ([run("success", 7)], 6.9, "up", "last success 6 h 54 min ago"),
        ([run("success", 7), run("running", 0.1, id=2)], 6.9, "running", "run 2 (builtin-cron)"),
        ([run("running", 1, id=3)], None, "late", "past the 30 min overrun limit"),
        (
            [run("success", 7), run("failed", 1, id=4, error="KeyError: 'kari@example.org'")],
            6.9,
            "failing",
            "run 4 failed 1 h ago: KeyError: '…'",
        ),
        ([run("success", 50)], 49.9, "down", "last success 2 d 1 h ago"),
        ([run("success", 31)], 30.9, "late", "expected at 2026-11-30 06:00 CET"),
        ([run("success", 25)], 24.9, "late", "expected at 2026-11-30 06:00 CET"),
        ([run("success", 25), run("skipped", 6.9, id=5)], 24.9, "late", "no successful run"),
        ([run("success", 7), run("running", 0.1, id=2)], 30.9, "late", "expected at"),
        ([], None, "up", "no run yet"),
    ],
)
def test_the_headline_says_the_state_and_why(
    runs: list[RunRow], last_success: float | None, state: str, why: str
) -> None:
    headline = judge(snapshot(runs, last_success), [], NOW, Thresholds()).headline
    assert headline.state == state
    assert why in headline.why


def test_a_fixed_missed_after_limit_says_down_with_the_limit() -> None:
    fixed = Thresholds(missed_after=timedelta(hours=26))
    headline = judge(snapshot([run("success", 31)], 30.9), [], NOW, fixed).headline
    assert (headline.state, headline.why) == (
        "down",
        "last success 30 h 54 min ago, more than the 26 h limit",
    )


def test_a_run_before_the_expected_time_plus_grace_is_not_late_yet() -> None:
    at_six_twenty = datetime(2026, 11, 30, 5, 20, tzinfo=UTC)
    s = snapshot([run("success", 25)], 24.9)
    assert judge(s, [], at_six_twenty, Thresholds()).headline.state == "up"


@pytest.mark.parametrize(
    ("longest", "top"),
    [(0, 1), (40, 50), (150, 180), (4 * 60, 300), (42 * 60, 3000), (3 * 3600, 4 * 3600)],
)
def test_the_axis_fits_the_longest_run(longest: float, top: float) -> None:
    assert axis(longest)[0] == top


def test_the_limit_line_is_drawn_only_when_it_is_on_the_axis() -> None:
    short = chart([run("success", 5, minutes=3)], NOW, 30)
    assert 'class="limit"' not in short and "30 min limit: above every run" in short
    long = chart([run("success", 5, minutes=42)], NOW, 30)
    assert 'class="limit"' in long
