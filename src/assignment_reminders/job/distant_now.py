"""A run's ``now`` far from the database's clock is refused unless the caller says it is meant.

A run computes who is due as of ``now``. Given 9999-12-31T23:59:59+14:00 it created 307,533
reminders, with ``days_since_contact`` up to 2,912,123 (issue 18, item 7), and a moment a week
ahead reminds every mentor a week early. So ``reminders run --now`` and the cron endpoint's
``now`` are refused when they are more than :data:`~.limits.MAX_NOW_DISTANCE` (24 hours) before
or after the database's clock, unless ``--allow-distant-now`` / ``"allow_distant_now": true``
says it is meant (drills, back-fills, simulations).

The edge (the command, the endpoint) reads the database's clock once, with
:func:`database_clock`, and passes it in; the refusal comes before the run starts: no lock is
taken, no execution-log row is written, nothing changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..db.database import Connection
from ..db.gateway import fetch_value, named
from ..exceptions import InputError
from ..limits import MAX_NOW_DISTANCE, MAX_NOW_DISTANCE_TEXT

_DATABASE_CLOCK = named("database_clock")


def database_clock(conn: Connection) -> datetime:
    """The database's wall clock (``clock_timestamp()``), time-zone aware."""
    value = fetch_value(conn, _DATABASE_CLOCK, kind=datetime)
    assert value is not None
    return value


def distant_now_problem(now: datetime, *, database_now: datetime) -> str | None:
    """Why *now* is too far from *database_now* to be taken unasked, or None. The words do
    not repeat *now* (the API echoes nothing a caller sent): the distance and the clock."""
    distance = now - database_now
    if abs(distance) <= MAX_NOW_DISTANCE:
        return None
    way = "after" if distance > timedelta(0) else "before"
    return (
        f"{_span(abs(distance))} {way} the database's clock"
        f" ({database_now.isoformat(timespec='seconds')}); the limit is"
        f" {MAX_NOW_DISTANCE_TEXT} either way"
    )


def check_now(now: datetime, *, database_now: datetime, meant: str) -> None:
    """Refuse a distant *now* with :class:`InputError` naming the field ``now``; *meant* is how
    the caller says it is meant (``--allow-distant-now``, ``"allow_distant_now": true``)."""
    problem = distant_now_problem(now, database_now=database_now)
    if problem is not None:
        raise InputError(f"{problem}: give {meant} if it is meant", field="now")


def _span(distance: timedelta) -> str:
    if distance >= timedelta(days=2):
        return f"{distance.days:,} days"
    return f"{distance / timedelta(hours=1):.1f} hours"
