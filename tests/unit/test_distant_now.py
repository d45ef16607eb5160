"""A run's ``now`` against the database's clock (distant_now.py): the limit, both ways, and
what the refusal says. No database: the clock is passed in, as the edges pass it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from assignment_reminders.exceptions import InputError
from assignment_reminders.job.distant_now import check_now, distant_now_problem
from assignment_reminders.limits import MAX_NOW_DISTANCE

CLOCK = datetime(2026, 12, 6, 4, 30, tzinfo=UTC)
TINY = timedelta(microseconds=1)


@pytest.mark.parametrize("sign", [1, -1])
def test_up_to_24_hours_either_way_is_taken_unasked(sign: int) -> None:
    assert distant_now_problem(CLOCK + sign * MAX_NOW_DISTANCE, database_now=CLOCK) is None


@pytest.mark.parametrize(("sign", "way"), [(1, "after"), (-1, "before")])
def test_a_microsecond_more_is_refused_either_way(sign: int, way: str) -> None:
    now = CLOCK + sign * (MAX_NOW_DISTANCE + TINY)
    problem = distant_now_problem(now, database_now=CLOCK)
    assert problem is not None
    assert f"24.0 hours {way} the database's clock" in problem
    assert "the limit is 24 hours either way" in problem


def test_the_offset_is_part_of_the_moment() -> None:
    """12:00 at +14:00 is 17.5 hours after the clock; 12:00 at UTC is 31.5 hours after."""
    assert (
        distant_now_problem(datetime.fromisoformat("2026-12-07T12:00:00+14:00"), database_now=CLOCK)
        is None
    )
    assert (
        distant_now_problem(datetime.fromisoformat("2026-12-07T12:00:00+00:00"), database_now=CLOCK)
        is not None
    )


def test_the_issues_moment_is_named_with_its_distance_in_days() -> None:
    now = datetime.fromisoformat("9999-12-31T23:59:59+14:00")
    with pytest.raises(InputError) as refused:
        check_now(now, database_now=CLOCK, meant="--allow-distant-now")
    assert refused.value.field == "now"
    assert refused.value.message == (
        "2,912,103 days after the database's clock"
        " (2026-12-06T04:30:00+00:00); the limit is 24 hours either way:"
        " give --allow-distant-now if it is meant"
    )


def test_the_earliest_moment_is_refused_without_overflow() -> None:
    now = datetime.min.replace(day=2, tzinfo=timezone(timedelta(hours=-14)))
    with pytest.raises(InputError, match="days before the database's clock"):
        check_now(now, database_now=CLOCK, meant='"allow_distant_now": true')
