"""Plain-text tables for the terminal: no dependencies, aligned columns, ``-`` for empty cells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S%z")
    return str(value)


def render(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """*columns* is ``[(key, heading), ...]``; numbers are right-aligned."""
    if not rows:
        return "(none)"
    texts = [[cell(r.get(key)) for key, _ in columns] for r in rows]
    numeric = [
        all(isinstance(r.get(key), int | float) or r.get(key) is None for r in rows)
        for key, _ in columns
    ]
    widths = [
        max(len(heading), *(len(t[i]) for t in texts)) for i, (_, heading) in enumerate(columns)
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [line([h for _, h in columns]), line(["-" * w for w in widths])]
    out.extend(line(t) for t in texts)
    return "\n".join(out)
