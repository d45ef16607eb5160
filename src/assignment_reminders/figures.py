"""Figures as people read them: milliseconds and seconds to two decimals, in JSON and in text;
counts grouped by thousands, with their noun in the right number.

``lock_acquire_ms`` is measured with ``perf_counter`` (13.240977999998904); the digits after the
second decimal are noise, so every report (``--json``, the API's outcome, ``status``) rounds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

DECIMALS: Final = 2


def rounded(value: Any) -> Any:
    """*value* with every float (in dicts and lists too) rounded to :data:`DECIMALS`."""
    if isinstance(value, float):
        return round(value, DECIMALS)
    if isinstance(value, Mapping):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``counted(1, "escalation")`` is ``1 escalation``; ``counted(1373, "due row")`` is
    ``1,373 due rows``."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def numbered(noun: str, ids: Sequence[int]) -> str:
    """``numbered("run", [3])`` is ``run 3``; ``numbered("run", [3, 5])`` is ``runs 3, 5``."""
    return f"{noun if len(ids) == 1 else noun + 's'} {', '.join(map(str, ids))}"


def duration(delta: timedelta) -> str:
    """``3 d 4 h``, ``26 h``, ``24 h 29 min``, ``12 min``, ``40 s``: hours up to two days, a
    unit that is zero left out."""
    seconds = max(0, int(delta.total_seconds()))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        days, hours = divmod(hours, 24)
        return f"{days} d" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min" if minutes else f"{secs} s"


def moment(at: datetime) -> str:
    """*at* as a message says it: ISO 8601 to the second (``2026-12-07T04:06:19+00:00``); JSON
    details keep every digit."""
    return at.isoformat(timespec="seconds")
