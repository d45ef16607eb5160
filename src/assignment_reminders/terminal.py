"""Where the CLI's text goes: how wide the terminal is and whether it takes colour.

* **Width**: ``COLUMNS`` when set (a number), else the terminal's own width when the stream is a
  terminal, else no limit (a pipe or a file gets every character; ``--json`` always does).
* **Colour**: never with ``NO_COLOR`` set (https://no-color.org), always with ``FORCE_COLOR`` set,
  otherwise only on a terminal. Each is read from the environment passed in, so tests hand a dict.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

MIN_WIDTH = 20
"""Narrower than this (a bogus COLUMNS) is taken as this: tables stay readable."""


class Stream(Protocol):
    def isatty(self) -> bool: ...


@dataclass(frozen=True)
class Terminal:
    width: int | None
    """Characters per line, or None for no limit."""
    colour: bool

    @classmethod
    def detect(cls, stream: Stream | None = None, env: Mapping[str, str] | None = None) -> Terminal:
        stream = sys.stdout if stream is None else stream
        env = os.environ if env is None else env
        tty = _isatty(stream)
        return cls(width=_width(env, tty), colour=_colour(env, tty))


def _isatty(stream: Stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def _width(env: Mapping[str, str], tty: bool) -> int | None:
    raw = env.get("COLUMNS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return max(int(raw), MIN_WIDTH)
    if not tty:
        return None
    return max(shutil.get_terminal_size().columns, MIN_WIDTH)


def _colour(env: Mapping[str, str], tty: bool) -> bool:
    if env.get("NO_COLOR", ""):
        return False
    if env.get("FORCE_COLOR", ""):
        return True
    return tty
