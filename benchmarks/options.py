"""Argument types for the benchmarks' command lines: a bad value is one line and exit 2 from
argparse, before any database is seeded, not a traceback minutes later."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def count(minimum: int) -> Callable[[str], int]:
    """A whole number of at least *minimum* (``_`` allowed between digits: ``1_000_000``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive = count(1)
non_negative = count(0)


def above_zero(text: str) -> float:
    """A finite number above zero: a rate per second, or seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


rate = seconds = above_zero


def sizes(text: str) -> list[int]:
    """Comma-separated numbers of assignments, each at least 1."""
    values = [positive(part.strip()) for part in text.split(",") if part.strip()]
    if not values:
        raise argparse.ArgumentTypeError("no size given")
    return values


def add_assignments(parser: argparse.ArgumentParser, default: int, *, minimum: int = 1) -> None:
    """``--assignments``: how many assignments a benchmark seeds."""
    parser.add_argument(
        "--assignments",
        type=count(minimum),
        default=default,
        help="assignments seeded (default: %(default)s)",
    )
