"""The one way to PostgreSQL: named queries, typed rows, driver errors wrapped once.

Queries live as SQL in ``sql/*.sql``, each a ``-- name: <name>`` block. They are loaded into one
namespace when this module is imported (a name defined twice, in one file or two, fails the
import), and code refers to them with :func:`named` at module level, so a misspelt name fails
the import of the module that uses it, not a run at 06:00::

    _DUE = named("due_assignments")
    ...
    rows = fetch_all(conn, _DUE, {"now": now}, row=Due)

:func:`execute`, :func:`fetch_one`, :func:`fetch_all`, :func:`copy_lines` and
:func:`copy_binary_rows` take a :class:`Query` (its text a ``LiteralString``: nothing from outside
reaches SQL but parameters) or a statement composed with :mod:`psycopg.sql` from identifiers;
rows come back as the type the
caller names (a frozen dataclass of the module that owns the query; :func:`fetch_value` checks
its one value against the type it is given): there is no untyped fetch, so ``mypy --strict``
sees every column a caller reads. Every driver error raised inside them, or
inside :func:`transaction`, becomes the project's :class:`~.exceptions.DatabaseError` (or the
subclass saying what to do) exactly here, its details read from ``exc.diag``::

    psycopg.Error
    ├── UndefinedTable, UndefinedFunction, UndefinedColumn, InvalidSchemaName
    │                                   -> SchemaMissingError ("run `reminders migrate`")
    ├── InsufficientPrivilege           -> DatabasePermissionError
    ├── IntegrityError                  -> ConstraintViolationError (.constraint from diag)
    ├── OperationalError (connection lost, server shut down, ...)
    │                                   -> DatabaseUnavailableError
    └── anything else                   -> DatabaseError

Nothing outside this module (and ``database.py``, which opens connections) calls ``execute``
on a connection; ``tests/unit/test_gateway.py`` checks that.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING, Any, AnyStr, Final, LiteralString, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import kwargs_row

from ..exceptions import (
    ConstraintViolationError,
    DatabaseError,
    DatabasePermissionError,
    DatabaseUnavailableError,
    SchemaMissingError,
    first_line,
)

if TYPE_CHECKING:
    from .database import Connection  # a type: the gateway opens no connection

T = TypeVar("T")
Params = Mapping[str, Any] | Sequence[Any] | None

_NAME = re.compile(r"^-- name: (?P<name>[a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Query:
    """A named query from ``sql/*.sql``."""

    name: str
    sql: LiteralString
    source: str

    def __str__(self) -> str:
        return f"{self.name} ({self.source})"


Statement = Query | sql.SQL | sql.Composed


@dataclass(frozen=True)
class IdRow:
    """``row=IdRow``: the shape of every ``RETURNING id`` (or ``SELECT id``) of one row."""

    id: int


def parse(text: str, source: str = "<text>") -> dict[str, Query]:
    """Split a file of ``-- name: x`` blocks into ``{name: Query}``."""
    found: dict[str, Query] = {}
    matches = list(_NAME.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        name = match.group("name")
        if name in found:
            raise ValueError(f"query {name!r} is defined twice in {source}")
        # Our own files, shipped with the package: as safe as SQL written in the code.
        # (mypy reads LiteralString as str; a checker that does not would want a cast here)
        body: LiteralString = text[match.end() : end].strip()
        found[name] = Query(name, body, source)
    return found


def _load() -> dict[str, Query]:
    catalogue: dict[str, Query] = {}
    directory = files(__package__).joinpath("sql")
    for source in sorted(f.name for f in directory.iterdir() if f.name.endswith(".sql")):
        text = directory.joinpath(source).read_text(encoding="utf-8")
        for name, query in parse(text, source).items():
            if name in catalogue:
                raise ValueError(
                    f"query {name!r} is defined in both {catalogue[name].source} and {source}"
                )
            catalogue[name] = query
    return catalogue


CATALOGUE: Final = _load()
"""Every named query, by name: one namespace over all the SQL files."""


def named(name: str) -> Query:
    """The query called *name*; call it at import time so a wrong name fails early."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise LookupError(f"no query named {name!r} in sql/*.sql") from None


_SCHEMA_MISSING = (
    psycopg.errors.UndefinedTable,
    psycopg.errors.UndefinedFunction,
    psycopg.errors.UndefinedColumn,
    psycopg.errors.InvalidSchemaName,
)


def translate(exc: psycopg.Error, what: str = "the query") -> DatabaseError:
    """The project's exception for the driver error *exc* raised while running *what*: one
    line that says what failed and what to do."""
    state = exc.sqlstate or type(exc).__name__
    if isinstance(exc, _SCHEMA_MISSING):
        return SchemaMissingError(
            f"{what} needs objects this database does not have ({first_line(exc)}):"
            " run `reminders migrate`",
            detail=first_line(exc),
        )
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return DatabasePermissionError(f"the database refused {what}: {first_line(exc)}")
    if isinstance(exc, psycopg.IntegrityError):
        constraint = exc.diag.constraint_name
        return ConstraintViolationError(
            f"{what} broke a database rule ({constraint or state})", constraint=constraint
        )
    if isinstance(exc, psycopg.OperationalError):
        return DatabaseUnavailableError(
            f"the database connection failed during {what}: {first_line(exc)}. Check that"
            " PostgreSQL is running and reachable (DATABASE_URL), then try again"
        )
    return DatabaseError(f"the database refused {what}: {first_line(exc)}")


def fault(exc: BaseException, during: str) -> DatabaseError:
    """*exc* (a driver error, or one already wrapped) as the one :class:`DatabaseError` the
    caller reports; a missing schema is reworded to name *during* (``reminders status``)."""
    if isinstance(exc, SchemaMissingError):
        error = SchemaMissingError(
            f"{during} needs objects this database does not have ({exc.detail}):"
            " run `reminders migrate`",
            detail=exc.detail,
        )
        error.__cause__ = exc.__cause__
        return error
    if isinstance(exc, DatabaseError):
        return exc
    if isinstance(exc, psycopg.Error):
        return translate(exc, during)
    return DatabaseError(f"{during} failed: {first_line(exc)}")


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of the driver error behind *exc* (itself, or the cause of our wrapper)."""
    cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    return cause.sqlstate if isinstance(cause, psycopg.Error) else None


@contextmanager
def wrap_exceptions(what: str = "the query") -> Iterator[None]:
    """Turn any driver error raised inside into the project's exception, the cause kept."""
    try:
        yield
    except psycopg.Error as exc:
        raise translate(exc, what) from exc


def _label(statement: Statement) -> str:
    return f"query {statement.name}" if isinstance(statement, Query) else "a statement"


def _text(statement: Statement) -> LiteralString | sql.SQL | sql.Composed:
    return statement.sql if isinstance(statement, Query) else statement


def execute(conn: Connection, statement: Statement, params: Params = None) -> int:
    """Run *statement*; the number of rows it touched (-1 when not applicable)."""
    with wrap_exceptions(_label(statement)):
        return conn.execute(_text(statement), params).rowcount


def fetch_one(
    conn: Connection, statement: Statement, params: Params = None, *, row: Callable[..., T]
) -> T | None:
    """The first row of *statement* as *row* (called with the columns as keywords), or None."""
    with wrap_exceptions(_label(statement)):
        cur = conn.cursor(row_factory=kwargs_row(row))
        return cur.execute(_text(statement), params).fetchone()


def fetch_all(
    conn: Connection, statement: Statement, params: Params = None, *, row: Callable[..., T]
) -> list[T]:
    """Every row of *statement* as *row*."""
    with wrap_exceptions(_label(statement)):
        cur = conn.cursor(row_factory=kwargs_row(row))
        return cur.execute(_text(statement), params).fetchall()


def fetch_value(
    conn: Connection, statement: Statement, params: Params = None, *, kind: type[T]
) -> T | None:
    """The first column of the first row, checked to be a *kind* (None when there is no row or
    the value is NULL)."""
    with wrap_exceptions(_label(statement)):
        found = conn.cursor().execute(_text(statement), params).fetchone()
    value = None if found is None else next(iter(found.values()))
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"{_label(statement)} returned {type(value).__name__}, not {kind.__name__}")
    return value


def copy_lines(conn: Connection, statement: sql.Composed, lines: Iterable[str]) -> None:
    """``COPY ... FROM STDIN`` with *lines* already in COPY's text format (each ending in a
    newline), sent in chunks of 10,000."""
    _copy_in_chunks(conn, statement, lines, "")


# COPY's binary format: the signature, no flags, no header extension; -1 fields ends the data.
COPY_BINARY_HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_BINARY_TRAILER: Final = b"\xff\xff"


def copy_binary_rows(conn: Connection, statement: sql.Composed, rows: Iterable[bytes]) -> None:
    """``COPY ... FROM STDIN (FORMAT binary)`` with *rows* already in that format (each a field
    count and its fields), sent in chunks of 10,000 between the format's header and trailer."""
    framed = itertools.chain((COPY_BINARY_HEADER,), rows, (COPY_BINARY_TRAILER,))
    _copy_in_chunks(conn, statement, framed, b"")


def _copy_in_chunks(
    conn: Connection, statement: sql.Composed, pieces: Iterable[AnyStr], empty: AnyStr
) -> None:
    pieces = iter(pieces)
    with wrap_exceptions("a COPY"), conn.cursor().copy(statement) as copy:
        while chunk := empty.join(itertools.islice(pieces, 10_000)):
            copy.write(chunk)


def run_script(conn: Connection, script: bytes, what: str) -> None:
    """Run a file of several statements (a migration): no parameters, one round trip."""
    with wrap_exceptions(what):
        conn.execute(script)


@contextmanager
def transaction(conn: Connection, what: str = "the transaction") -> Iterator[None]:
    """``conn.transaction()`` whose BEGIN and COMMIT failures are wrapped like queries."""
    with wrap_exceptions(what), conn.transaction():
        yield
