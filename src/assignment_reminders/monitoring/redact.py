"""Short errors without row values, for anything shown outside the database and the CLI.

A run's ``error`` column keeps the full first line of what went wrong (``reminders status`` shows
it to whoever can read the database). HTTP bodies and the ``/ops`` page show :func:`short_error`
instead: the first line with every quoted literal, key detail, UUID, e-mail address, host:port
and long number replaced, so no user id, address or value of a row reaches a browser.
"""

from __future__ import annotations

import re
from typing import Final

MAX_LENGTH: Final = 160
_RULES: Final = (
    (re.compile(r"\([^()]*\)=\([^()]*\)"), "(…)=(…)"),  # DETAIL: Key (user_id)=(…)
    (re.compile(r'"[^"]*"'), '"…"'),
    (re.compile(r"'[^']*'"), "'…'"),
    (re.compile(r"\b[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "<email>"),
    (re.compile(r"\b[\w.-]+:\d{2,5}\b"), "<host>"),
    (re.compile(r"\b\d{4,}\b"), "<n>"),
)


_DATABASE_URL: Final = re.compile(r"postgres(?:ql)?://\S*?(?=[\s,;:)]*(?:\s|$))")


def without_database_urls(text: str) -> str:
    """*text* with every ``postgresql://user@host:port/db`` replaced by ``the database``."""
    return _DATABASE_URL.sub("the database", text)


def short_error(error: str | None) -> str | None:
    """The first line of *error* with the values taken out, at most :data:`MAX_LENGTH` chars."""
    if not error:
        return error
    text = error.strip().splitlines()[0] if error.strip() else ""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1] + "…"
