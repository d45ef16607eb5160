"""The /ops chart's time axis: fitted to the runs it shows, ticks on round local times."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assignment_reminders.job.run_row import RunRow
from assignment_reminders.monitoring.ops_page import DAYS, chart, time_axis, time_ticks

NOW = datetime(2026, 12, 6, 7, 30, tzinfo=UTC)
OSLO = ZoneInfo("Europe/Oslo")


@pytest.mark.parametrize(
    ("earliest", "step"),
    [
        (timedelta(minutes=5), timedelta(hours=1)),  # at least an hour shown
        (timedelta(hours=9), timedelta(hours=2)),
        (timedelta(days=3), timedelta(hours=12)),
        (timedelta(days=10), timedelta(days=2)),
        (timedelta(days=29), timedelta(days=5)),
    ],
)
def test_the_time_axis_starts_a_little_before_the_earliest_run(
    earliest: timedelta, step: timedelta
) -> None:
    left, every = time_axis([NOW - earliest, NOW - earliest / 2], NOW)
    shown = max(earliest, timedelta(hours=1))
    assert NOW - left == min(shown * 1.05, timedelta(days=DAYS))
    assert every == step
    ticks = time_ticks(left, NOW, every, OSLO)
    assert 1 <= len(ticks) <= 9
    assert all(left <= t <= NOW and t.minute == 0 for t in ticks)
    assert all(b - a == every for a, b in itertools.pairwise(ticks))


def test_without_runs_the_axis_is_the_last_30_days() -> None:
    left, _ = time_axis([], NOW)
    assert NOW - left == timedelta(days=DAYS)


def test_one_day_s_runs_spread_across_the_chart() -> None:
    runs = [
        RunRow(id=i, status="success", started_at=NOW - timedelta(hours=h), duration_ms=6e4)
        for i, h in enumerate((10, 7, 4, 1))
    ]
    svg = chart(runs, NOW, 30, OSLO)
    xs = [float(x) for x in re.findall(r'<circle class="run[^"]*"[^>]* cx="([\d.]+)"', svg)]
    assert len(xs) == 4
    assert max(xs) - min(xs) > 0.6 * (900 - 64 - 52)  # not squeezed against the right edge
    labels = re.findall(r'class="time-tick"[^>]*>([^<]+)<', svg)
    assert "12-06" in labels  # local midnight is labelled with its date, other ticks with hours
    assert any(re.fullmatch(r"\d\d:00", label) for label in labels)
