"""Before ``migrate`` writes anything: which objects the pending files would create exist already.

A host project may have a ``public.contacts`` of its own. Applying a file that creates one fails
half-way through an install (the files before it committed), and ``IF NOT EXISTS`` or ``OR
REPLACE`` would quietly adopt or overwrite the host's object. So ``migrate`` first reads the names
the pending files create (``CREATE TABLE / VIEW / MATERIALIZED VIEW / FUNCTION / PROCEDURE / TYPE /
SEQUENCE / INDEX / SCHEMA``, outside comments, string literals and dollar-quoted bodies, so a
``DO`` block's conditional statements are not counted), asks the catalog which of them exist, and
refuses with one line naming them before anything is written.

Ours, so never in the way: a name that an applied migration of ours created, and a schema that
holds our migration checksums (``reminders``, once ``migrate`` has run).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..exceptions import MigrationError
from . import statements
from .database import Connection
from .gateway import fetch_all, named


class ObjectKind(enum.Enum):
    TABLE = "table"
    VIEW = "view"
    MATERIALIZED_VIEW = "materialized view"
    FUNCTION = "function"
    PROCEDURE = "procedure"
    TYPE = "type"
    SEQUENCE = "sequence"
    INDEX = "index"
    SCHEMA = "schema"

    @property
    def catalog(self) -> str:
        """The catalog whose names it shares: a table and an index cannot have one name."""
        if self in (ObjectKind.FUNCTION, ObjectKind.PROCEDURE):
            return "routine"
        if self is ObjectKind.TYPE:
            return "type"
        if self is ObjectKind.SCHEMA:
            return "schema"
        return "relation"


@dataclass(frozen=True)
class PlannedObject:
    kind: ObjectKind
    schema: str
    name: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.catalog, self.schema, self.name)

    def __str__(self) -> str:
        if self.kind is ObjectKind.SCHEMA:
            return f"schema {self.name}"
        return f"{self.kind.value} {self.schema}.{self.name}"


class ObjectsExistError(MigrationError):
    """Objects the migrations would create already exist; nothing was changed."""


_EXISTING = named("migration_existing_objects")

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = rf"{_IDENT}(?:\s*\.\s*{_IDENT})?"
_CREATE = re.compile(
    rf"""\bCREATE\s+(?:OR\s+REPLACE\s+)?
    (?P<modifier>(?:UNIQUE|UNLOGGED|TEMP|TEMPORARY)\s+)?
    (?P<kind>MATERIALIZED\s+VIEW|VIEW|TABLE|FUNCTION|PROCEDURE|TYPE|SEQUENCE|INDEX|SCHEMA)\s+
    (?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?
    (?P<name>{_QUALIFIED})
    (?:\s+ON\s+(?:ONLY\s+)?(?P<table>{_QUALIFIED}))?""",
    re.IGNORECASE | re.VERBOSE,
)
# Words that follow CREATE INDEX / CREATE SCHEMA when the object itself is left unnamed.
_NOT_A_NAME = frozenset({"on", "authorization"})


def code_only(text: str) -> str:
    """*text* with comments, string literals and dollar-quoted bodies blanked (quoted
    identifiers kept): what is left are the file's own statements. Read as
    :func:`.statements.split` reads them."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            i = statements.block_comment_end(text, i)
            out.append(" ")
        elif ch == "'":
            i = statements.quoted_end(text, i, "'", backslash=False)
            out.append("''")
        elif ch == "$" and (quote_end := statements.dollar_quote_end(text, i)) is not None:
            i = quote_end
            out.append(" ")
        elif ch == '"':
            stop = statements.quoted_end(text, i, '"', backslash=False)
            out.append(text[i:stop])
            i = stop
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _identifier(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith('"'):
        return raw[1:-1].replace('""', '"')
    return raw.lower()


def _split(qualified: str, default_schema: str = "public") -> tuple[str, str]:
    parts = re.findall(_IDENT, qualified)
    if len(parts) == 2:
        return _identifier(parts[0]), _identifier(parts[1])
    return default_schema, _identifier(parts[0])


def created_objects(sql_text: str) -> list[PlannedObject]:
    """The objects *sql_text*'s own statements create, in order (unqualified names: public)."""
    found: list[PlannedObject] = []
    for m in _CREATE.finditer(code_only(sql_text)):
        modifier = (m["modifier"] or "").strip().lower()
        if modifier in ("temp", "temporary") or m["name"].lower() in _NOT_A_NAME:
            continue
        kind = ObjectKind(" ".join(m["kind"].lower().split()))
        if kind is ObjectKind.SCHEMA:
            found.append(PlannedObject(kind, _identifier(m["name"]), _identifier(m["name"])))
        elif kind is ObjectKind.INDEX and m["table"]:
            schema, _ = _split(m["table"])
            found.append(PlannedObject(kind, schema, _identifier(m["name"])))
        else:
            schema, name = _split(m["name"])
            found.append(PlannedObject(kind, schema, name))
    return found


def planned_objects(pending: Iterable[str], applied: Iterable[str] = ()) -> list[PlannedObject]:
    """What the *pending* files (their text, in order) would create, once each, less what the
    *applied* files created (ours already)."""
    ours = {o.key for text in applied for o in created_objects(text)}
    planned: dict[tuple[str, str, str], PlannedObject] = {}
    for text in pending:
        for obj in created_objects(text):
            if obj.key not in ours:
                planned.setdefault(obj.key, obj)
    return list(planned.values())


@dataclass(frozen=True)
class _Found:
    """``migration_existing_objects``: the position (from 1) of a planned object that exists."""

    ord: int


def existing(conn: Connection, planned: Sequence[PlannedObject]) -> list[PlannedObject]:
    """Those of *planned* that the database has already (and that are not ours)."""
    if not planned:
        return []
    rows = fetch_all(
        conn,
        _EXISTING,
        {
            "catalogs": [o.kind.catalog for o in planned],
            "schemas": [o.schema for o in planned],
            "names": [o.name for o in planned],
        },
        row=_Found,
    )
    return [planned[r.ord - 1] for r in rows]


def refuse_existing(conn: Connection, pending: Iterable[str], applied: Iterable[str]) -> None:
    """Raise :class:`ObjectsExistError` naming every object in the way; reads only."""
    found = existing(conn, planned_objects(pending, applied))
    if found:
        names = ", ".join(map(str, found))
        raise ObjectsExistError(
            f"nothing was changed: the migrations would create objects that already exist:"
            f" {names}; rename or move yours first (docs/supabase.md, 'Your own tables')"
        )
