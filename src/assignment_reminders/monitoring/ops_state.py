"""What ``/ops`` shows: the facts read for it, and the headline state with its reason.

The headline answers "is the job all right?" the way Healthchecks.io or Cronitor would, from the
execution log, the schedule and the thresholds, as of *now* (passed in):

* **running**: a run is in progress, within the overrun limit;
* **late**: a run is in progress past the overrun limit, or the last expected start (from the
  schedule) plus the overrun limit as grace passed without a run starting;
* **failing**: the newest run that did work failed (the reason is its short error);
* **down**: no successful run for longer than the missed-run limit (26 h), or none ever after
  the first run is that old;
* **up**: otherwise.

When several hold, the first in this order wins: running or late for a run in progress, failing,
down, late for a missed start, up. ``docs/monitoring.md`` shows the page in each state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from ..lock import LockHolder
from .alerts import Alert
from .redact import short_error

UP, RUNNING, LATE, DOWN, FAILING = "up", "running", "late", "down", "failing"
STATES: Final = (UP, RUNNING, LATE, DOWN, FAILING)


@dataclass(frozen=True)
class Headline:
    state: str
    why: str


@dataclass(frozen=True)
class OpsFacts:
    """Everything the page shows, read in one go (api/ops.py)."""

    job_name: str
    now: datetime
    zone: ZoneInfo
    schedule: str
    scheduler_enabled: bool
    previous_fire: datetime | None  # the last expected start at or before now
    next_fire: datetime | None
    runs: Sequence[Mapping[str, Any]]  # the last DAYS days, oldest first
    last_success_at: datetime | None
    first_started_at: datetime | None
    holder: LockHolder | None
    holder_since: datetime | None
    incidents: Sequence[Alert]  # open ones and those resolved in the last DAYS days
    deliveries: Mapping[tuple[str, str], int]  # (channel, status) -> rows: open and dead ones
    overrun_after: timedelta
    missed_after: timedelta


def age(delta: timedelta) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``12 min``, ``40 s``."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def _newest(runs: Sequence[Mapping[str, Any]], *statuses: str) -> Mapping[str, Any] | None:
    return next((r for r in reversed(runs) if r["status"] in statuses), None)


def assess(f: OpsFacts) -> Headline:
    return _in_progress(f) or _failing(f) or _down(f) or _missed_start(f) or _up(f)


def _in_progress(f: OpsFacts) -> Headline | None:
    running = _newest(f.runs, "running")
    if running is None:
        return None
    took = f.now - running["started_at"]
    who = f"run {running['id']} ({running['trigger_source']}) started {age(took)} ago"
    if took > f.overrun_after:
        return Headline(LATE, f"{who}: past the {age(f.overrun_after)} overrun limit")
    return Headline(RUNNING, who)


def _failing(f: OpsFacts) -> Headline | None:
    worked = _newest(f.runs, "success", "failed")
    if worked is None or worked["status"] != "failed":
        return None
    error = short_error(worked.get("error")) or worked.get("note") or "failed"
    when = age(f.now - worked["started_at"])
    return Headline(FAILING, f"run {worked['id']} failed {when} ago: {error}")


def _down(f: OpsFacts) -> Headline | None:
    since = f.last_success_at or f.first_started_at
    if since is None or f.now - since <= f.missed_after:
        return None
    what = "last success" if f.last_success_at else "no success since the first run"
    return Headline(
        DOWN, f"{what} {age(f.now - since)} ago, more than the {age(f.missed_after)} limit"
    )


def _missed_start(f: OpsFacts) -> Headline | None:
    expected = f.previous_fire
    if expected is None or f.now - expected <= f.overrun_after:
        return None
    if any(r["started_at"] >= expected and r["status"] != "skipped" for r in f.runs):
        return None
    local = expected.astimezone(f.zone)
    return Headline(
        LATE,
        f"expected at {local:%Y-%m-%d %H:%M %Z} ({age(f.now - expected)} ago);"
        " no run has started since",
    )


def _up(f: OpsFacts) -> Headline:
    if f.last_success_at is None:
        return Headline(UP, "no run yet")
    return Headline(UP, f"last success {age(f.now - f.last_success_at)} ago")
