"""Figures as people read them: milliseconds and seconds to two decimals, in JSON and in text;
counts grouped by thousands, with their noun in the right number.

``lock_acquire_ms`` is measured with ``perf_counter`` (13.240977999998904); the digits after the
second decimal are noise, so every report (``--json``, the API's outcome, ``status``) rounds.
"""

from __future__ import annotations

from collections.abc import Mapping
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
