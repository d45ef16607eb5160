"""Five-field cron expressions evaluated in an IANA time zone: ``next_after(moment)``.

``minute hour day-of-month month day-of-week`` with ``*``, lists (``1,15``), ranges (``1-5``),
steps (``*/15``, ``8-18/2``), month and weekday names (``JAN``, ``MON``; Sunday is 0 or 7) and
the macros ``@hourly @daily @weekly @monthly @yearly``. As in Vixie cron, when both
day-of-month and day-of-week are restricted, a day matching either one fires.

Wall-clock times are in the schedule's zone. A time that does not exist that day (the hour
skipped when summer time starts) fires at the same offset after the jump (02:30 becomes 03:30);
a time that happens twice (the hour repeated in autumn) fires once, the first time. The default
06:00 Europe/Oslo is clear of both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..exceptions import InputError

MACROS: Final = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTH_NAMES = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC"
_DAY_NAMES = "SUN MON TUE WED THU FRI SAT"
MONTHS: Final = {m: i for i, m in enumerate(_MONTH_NAMES.split(" "), 1)}
WEEKDAYS: Final = {d: i for i, d in enumerate(_DAY_NAMES.split(" "))}
SEARCH_DAYS: Final = 366 * 8  # long enough for "29 2 *" (Feb 29) across a century gap year


def _field(text: str, low: int, high: int, names: dict[str, int], what: str) -> frozenset[int]:
    values: set[int] = set()

    def number(token: str) -> int:
        token = token.upper()
        if token in names:
            return names[token]
        if not token.isdigit():
            raise InputError(f"cron {what}: {token!r} is not a number", field="schedule")
        return int(token)

    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = number(step_text) if step_text else 1
        if step < 1:
            raise InputError(f"cron {what}: step must be at least 1", field="schedule")
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = number(first), number(last)
        else:
            start = number(body)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise InputError(f"cron {what}: {part!r} is outside {low}-{high}", field="schedule")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    zone: ZoneInfo
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day-of-month is *
    any_weekday: bool  # day-of-week is *

    @classmethod
    def parse(cls, expression: str, time_zone: str) -> CronSchedule:
        try:
            zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(
                f"not a known IANA time zone: {time_zone!r}", field="time_zone"
            ) from None
        text = MACROS.get(expression.strip().lower(), expression.strip())
        fields = text.split()
        if len(fields) != 5:
            raise InputError(
                f"a cron expression has 5 fields (minute hour day month weekday),"
                f" got {expression!r}",
                field="schedule",
            )
        minute, hour, day, month, weekday = fields
        weekdays = _field(weekday, 0, 7, WEEKDAYS, "day of week")
        return cls(
            expression=expression,
            zone=zone,
            minutes=_field(minute, 0, 59, {}, "minute"),
            hours=_field(hour, 0, 23, {}, "hour"),
            days=_field(day, 1, 31, {}, "day of month"),
            months=_field(month, 1, 12, MONTHS, "month"),
            weekdays=frozenset(d % 7 for d in weekdays),
            any_day=day.startswith("*"),
            any_weekday=weekday.startswith("*"),
        )

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def next_after(self, after: datetime) -> datetime:
        """The first fire time strictly after *after* (aware), in UTC."""
        local_day = after.astimezone(self.zone).date()
        times = [time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]
        for offset in range(SEARCH_DAYS):
            day = local_day + timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for at in times:
                fire = datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)
                if fire > after:
                    return fire
        raise InputError(f"cron expression {self.expression!r} never fires", field="schedule")
