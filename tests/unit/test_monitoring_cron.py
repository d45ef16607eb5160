"""Cron expressions in a time zone: the next fire time, with the moment passed in."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from assignment_reminders.config import Settings
from assignment_reminders.delivery.states import DrainResult
from assignment_reminders.exceptions import InputError
from assignment_reminders.job.run_status import RunStatus
from assignment_reminders.job.trigger import RunOutcome
from assignment_reminders.monitoring.cron import CronSchedule
from assignment_reminders.monitoring.service import BuiltinCron

OSLO = "Europe/Oslo"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_default_fires_at_six_oslo_time_in_winter_and_summer() -> None:
    daily = CronSchedule.parse("0 6 * * *", OSLO)
    assert daily.next_after(at("2026-11-28T04:00:00+00:00")) == at("2026-11-28T05:00:00+00:00")
    assert daily.next_after(at("2026-11-28T05:00:00+00:00")) == at("2026-11-29T05:00:00+00:00")
    assert daily.next_after(at("2026-07-01T03:59:00+00:00")) == at("2026-07-01T04:00:00+00:00")


def test_a_skipped_wall_time_fires_after_the_spring_jump_and_a_repeated_one_once() -> None:
    s = CronSchedule.parse("30 2 * * *", OSLO)
    # 2026-03-29 02:30 does not exist in Oslo: fires at the first minute after the jump, 03:00
    # CEST = 01:00 UTC (Debian cron and cronsim; the old home-made parser said 03:30).
    assert s.next_after(at("2026-03-28T23:00:00+00:00")) == at("2026-03-29T01:00:00+00:00")
    assert s.next_after(at("2026-03-29T01:00:00+00:00")) == at("2026-03-30T00:30:00+00:00")
    # 2026-10-25 02:30 happens twice: the first one (CEST, 00:30 UTC), then the next day.
    first = s.next_after(at("2026-10-24T23:00:00+00:00"))
    assert first == at("2026-10-25T00:30:00+00:00")
    assert s.next_after(first) == at("2026-10-26T01:30:00+00:00")


def fires(expression: str, start: str, count: int) -> list[str]:
    schedule = CronSchedule.parse(expression, OSLO)
    moment, local = at(start), []
    for _ in range(count):
        moment = schedule.next_after(moment)
        local.append(moment.astimezone(schedule.zone).strftime("%H:%M%z"))
    return local


def test_a_wildcard_hour_fires_by_elapsed_time_through_both_changes() -> None:
    # Spring: 02:00-02:59 does not exist; every half hour of real time still fires once.
    assert fires("*/30 * * * *", "2026-03-29T00:00:00+00:00", 4) == [
        "01:30+0100",
        "03:00+0200",
        "03:30+0200",
        "04:00+0200",
    ]
    # Autumn: 02:00-02:59 happens twice, and fires twice, once per real half hour.
    assert fires("*/30 * * * *", "2026-10-25T00:00:00+00:00", 4) == [
        "02:30+0200",
        "02:00+0100",
        "02:30+0100",
        "03:00+0100",
    ]


def test_the_default_schedule_is_clear_of_both_changes() -> None:
    assert fires("0 6 * * *", "2026-03-28T12:00:00+00:00", 2) == ["06:00+0200", "06:00+0200"]
    assert fires("0 6 * * *", "2026-10-24T00:00:00+00:00", 2) == ["06:00+0200", "06:00+0100"]


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/15 * * * *", "2026-11-28T10:07:00+00:00", "2026-11-28T10:15:00+00:00"),
        ("0 9 * * MON-FRI", "2026-11-28T12:00:00+00:00", "2026-11-30T09:00:00+00:00"),
        ("0 0 1 JAN *", "2026-11-28T12:00:00+00:00", "2027-01-01T00:00:00+00:00"),
        ("0 12 13 * 5", "2026-11-28T00:00:00+00:00", "2026-12-04T12:00:00+00:00"),
        ("0 0 29 2 *", "2026-11-28T00:00:00+00:00", "2028-02-29T00:00:00+00:00"),
        ("@hourly", "2026-11-28T10:07:00+00:00", "2026-11-28T11:00:00+00:00"),
        ("0 0 * * 7", "2026-11-28T12:00:00+00:00", "2026-11-29T00:00:00+00:00"),
        ("0 0 L * *", "2026-11-28T12:00:00+00:00", "2026-11-30T00:00:00+00:00"),
    ],
)
def test_fields_ranges_steps_names_and_macros(expression: str, after: str, expected: str) -> None:
    assert CronSchedule.parse(expression, "UTC").next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    ("expression", "zone"),
    [
        ("0 6 * *", OSLO),
        ("0 0 6 * * *", OSLO),
        ("61 * * * *", OSLO),
        ("0 6 * * *", "Mars/Olympus"),
        ("*/0 * * * *", OSLO),
    ],
)
def test_bad_schedules_are_refused(expression: str, zone: str) -> None:
    with pytest.raises(InputError):
        CronSchedule.parse(expression, zone)


def test_a_schedule_that_never_fires_is_refused() -> None:
    with pytest.raises(InputError, match="day-of-month"):
        CronSchedule.parse("0 0 31 2 *", "UTC").next_after(datetime(2026, 1, 1, tzinfo=UTC))


def test_the_previous_fire_time_is_at_or_before_the_moment() -> None:
    daily = CronSchedule.parse("0 6 * * *", OSLO)
    assert daily.previous_at_or_before(at("2026-11-30T05:00:00+00:00")) == at(
        "2026-11-30T05:00:00+00:00"
    )
    assert daily.previous_at_or_before(at("2026-11-30T04:59:59.500000+00:00")) == at(
        "2026-11-29T05:00:00+00:00"
    )
    assert daily.previous_at_or_before(at("2026-03-29T12:00:00+00:00")) == at(
        "2026-03-29T04:00:00+00:00"  # 06:00 CEST, the day summer time starts
    )


def test_the_built_in_cron_logs_what_its_run_delivered(caplog: pytest.LogCaptureFixture) -> None:
    times = iter([at("2026-11-28T04:59:00+00:00")])  # then a day later: the 06:00 run is due
    cron = BuiltinCron(
        Settings.from_env({}),
        CronSchedule.parse("0 6 * * *", OSLO),
        run_job=lambda *args, **kwargs: ran(),
        check=lambda *args, **kwargs: None,
        clock=lambda: next(times, at("2026-11-29T04:59:00+00:00")),
    )

    def ran() -> Any:
        cron._stop.set()  # one run, then the loop ends
        return RunOutcome(uuid4(), RunStatus.SUCCESS, 4, delivery=DrainResult(sent=2, dead=1))

    with caplog.at_level(logging.INFO, logger="assignment_reminders.monitoring.service"):
        cron._cron_loop()
    assert caplog.messages == [
        "scheduled run: success (run 4); delivery: 2 delivered, 0 failed (to be retried),"
        " 1 dead, 0 cancelled"
    ]
    assert cron.next_fire == at("2026-11-29T05:00:00+00:00")  # the next day's, not caught up
