"""Five-field cron expressions evaluated in an IANA time zone: ``next_after(moment)``.

The expressions are evaluated by cronsim, the parser Healthchecks.io uses, which follows Debian
cron: ``*``, lists, ranges, steps, ``JAN``..``DEC``, ``SUN``..``SAT`` (Sunday is 0 or 7), ``L``
(last day), ``W``, ``#``; day-of-month and day-of-week combine with OR when both are restricted.
We add the macros ``@hourly @daily @weekly @monthly @yearly``.

Summer time, as Debian cron does it (tested at both changes in Europe/Oslo):

* an expression with a fixed minute and hour (``30 2 * * *``) fires by the wall clock. A time
  skipped in spring fires at the first minute after the jump (02:30 becomes 03:00); a time that
  happens twice in autumn fires once, the first time.
* an expression with ``*`` in the minute or hour field (``*/15 * * * *``) fires by elapsed time:
  every 15 minutes on both days, through the jump and through the repeated hour.

The default, 06:00 Europe/Oslo, is clear of both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

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
_PROBE: Final = datetime(2026, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    zone: ZoneInfo
    fields: str  # the five fields cronsim reads (macros expanded)

    @classmethod
    def parse(cls, expression: str, time_zone: str) -> CronSchedule:
        try:
            zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(
                f"not a known IANA time zone: {time_zone!r}", field="time_zone"
            ) from None
        text = MACROS.get(expression.strip().lower(), expression.strip())
        if len(text.split()) != 5:
            raise InputError(
                f"a cron expression has 5 fields (minute hour day month weekday),"
                f" got {expression!r}",
                field="schedule",
            )
        try:
            CronSim(text, _PROBE.astimezone(zone))
        except CronSimError as exc:
            raise InputError(f"cron expression {expression!r}: {exc}", field="schedule") from None
        return cls(expression=expression, zone=zone, fields=text)

    def previous_at_or_before(self, moment: datetime) -> datetime | None:
        """The last fire time at or before *moment* (aware), in UTC; None if there is none."""
        try:
            start = (moment.replace(microsecond=0) + _SECOND).astimezone(self.zone)
            fire = next(CronSim(self.fields, start, reverse=True))
        except StopIteration:
            return None
        return fire.astimezone(UTC)

    def next_after(self, after: datetime) -> datetime:
        """The first fire time strictly after *after* (aware), in UTC."""
        try:
            fire = next(CronSim(self.fields, after.astimezone(self.zone)))
        except StopIteration:
            raise InputError(
                f"cron expression {self.expression!r} never fires", field="schedule"
            ) from None
        return fire.astimezone(UTC)
