"""The wall clock, in one place. Code that needs "now" takes a clock (or ``now``) parameter and
defaults to :func:`utc_now`; nothing below the entry points reads the clock itself."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
