"""Plain-text tables for the terminal: no dependencies, aligned columns, ``-`` for empty cells.

A table fits *width* (:mod:`.terminal`): the widest text columns give way first and their cells
end in ``…``; numbers are never cut. Status words (``success``, ``failed``, ``pass`` ...) are
coloured when *colour* is on; the alignment counts only the visible characters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import click

ELLIPSIS: Final = "…"
MIN_COLUMN: Final = 6
"""A text column is never cut below this many characters (or its heading, when shorter)."""
ROOMY_COLUMN: Final = 20
"""Columns are left out, last first, until each text column can keep this many characters."""
GAP: Final = "  "

STATUS_COLOURS: Final = {
    "success": "green",
    "pass": "green",
    "delivered": "green",
    "ok": "green",
    "skipped": "yellow",
    "skip": "yellow",
    "running": "cyan",
    "pending": "cyan",
    "failed": "red",
    "fail": "red",
    "dead": "red",
}
"""The words that are coloured, wherever they stand alone in a cell."""


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


def shorten(text: str, width: int | None) -> str:
    """*text* cut to *width* characters, the last one ``…`` when anything was cut."""
    if width is None or len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS if width > 0 else ""


def paint(word: str, colour: bool) -> str:
    """*word* in its status colour (when *colour* and it is a status word)."""
    fg = STATUS_COLOURS.get(word.strip())
    if not colour or fg is None:
        return word
    stripped = word.rstrip()
    return click.style(stripped, fg=fg, bold=True if fg == "red" else None) + word[len(stripped) :]


def fit(widths: Sequence[int], minimums: Sequence[int], room: int) -> list[int]:
    """Column widths that sum to at most *room*: the widest shrinkable column gives one
    character at a time, none below its minimum (so the result may still be wider)."""
    out = list(widths)
    while sum(out) > room:
        shrinkable = [i for i, w in enumerate(out) if w > minimums[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: out[i])
        out[widest] -= 1
    return out


def render(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    width: int | None = None,
    colour: bool = False,
) -> str:
    """*columns* is ``[(key, heading), ...]``, the most useful first; numbers are right-aligned.

    With *width*, every line is at most that long: text cells are cut (``…``), the widest
    first; numbers and times are never cut; when the columns still do not fit, the last ones
    are left out and a last line says how many (``--json`` has them all)."""
    if not rows:
        return "(none)"
    columns = list(columns)
    hidden = 0
    while (
        width is not None
        and len(columns) > 1
        and _length(_widths(rows, columns, width, ROOMY_COLUMN)) > width
    ):
        columns.pop()
        hidden += 1
    widths = _widths(rows, columns, width, MIN_COLUMN)
    texts = [[cell(r.get(key)) for key, _ in columns] for r in rows]
    right = [_numeric(rows, key) for key, _ in columns]

    def line(values: Sequence[str], *, painted: bool = False) -> str:
        cells = []
        for v, w, num in zip(values, widths, right, strict=True):
            text = shorten(v, w)
            padded = text.rjust(w) if num else text.ljust(w)
            cells.append(paint(padded, colour) if painted else padded)
        return GAP.join(cells).rstrip()

    out = [line([h for _, h in columns]), line(["-" * w for w in widths])]
    out.extend(line(t, painted=True) for t in texts)
    if hidden:
        out.append(shorten(f"({hidden} more column(s) in --json)", width))
    return "\n".join(out)


def _numeric(rows: Sequence[Mapping[str, Any]], key: str) -> bool:
    return all(isinstance(r.get(key), int | float) or r.get(key) is None for r in rows)


def _cuttable(rows: Sequence[Mapping[str, Any]], key: str) -> bool:
    """Text may be cut; numbers, times, dates, yes/no and status words never are."""
    texts = [r.get(key) for r in rows if isinstance(r.get(key), str)]
    return any(t not in STATUS_COLOURS for t in texts)


def _length(widths: Sequence[int]) -> int:
    return sum(widths) + len(GAP) * (len(widths) - 1)


def _widths(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    width: int | None,
    least: int,
) -> list[int]:
    """The columns' widths within *width*, text columns cut to no less than *least*."""
    natural = [
        max(len(heading), *(len(cell(r.get(key))) for r in rows)) for key, heading in columns
    ]
    if width is None:
        return natural
    minimums = [
        min(w, max(least, len(heading))) if _cuttable(rows, key) else w
        for w, (key, heading) in zip(natural, columns, strict=True)
    ]
    return fit(natural, minimums, width - len(GAP) * (len(columns) - 1))
