"""Named SQL queries, kept as SQL in ``sql/queries.sql`` and loaded once."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

_NAME = re.compile(r"^-- name: (?P<name>[a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse(text: str) -> dict[str, str]:
    """Split a file of ``-- name: x`` blocks into ``{name: sql}``."""
    queries: dict[str, str] = {}
    matches = list(_NAME.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[match.end() : end].strip()
        name = match.group("name")
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body
    return queries


@cache
def _all(resource: str) -> dict[str, str]:
    return parse(files(__package__).joinpath("sql", resource).read_text(encoding="utf-8"))


def query(name: str, resource: str = "queries.sql") -> str:
    """The SQL text of the named query."""
    try:
        return _all(resource)[name]
    except KeyError:
        raise KeyError(f"no query named {name!r} in {resource}") from None
