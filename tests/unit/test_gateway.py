"""The database gateway: one namespace of named queries, driver errors wrapped once."""

from __future__ import annotations

import ast

import psycopg
import pytest

from assignment_reminders.db import gateway
from assignment_reminders.db.gateway import CATALOGUE, fault, named, parse, translate
from assignment_reminders.exceptions import (
    ConstraintViolationError,
    DatabaseError,
    DatabasePermissionError,
    DatabaseUnavailableError,
    SchemaMissingError,
)
from tests.conftest import REPO

PACKAGE = REPO / "src" / "assignment_reminders"


def test_parse_splits_named_blocks() -> None:
    found = parse("-- name: a\nSELECT 1\n\n-- name: b_2\n-- a comment\nSELECT 2\n", "x.sql")
    assert {n: q.sql for n, q in found.items()} == {
        "a": "SELECT 1",
        "b_2": "-- a comment\nSELECT 2",
    }
    assert str(found["a"]) == "a (x.sql)"


def test_a_name_defined_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        parse("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")


def test_an_unknown_name_fails_where_it_is_named() -> None:
    with pytest.raises(LookupError, match="no_such_query"):
        named("no_such_query")


def test_every_sql_file_is_in_the_one_namespace() -> None:
    sources = {q.source for q in CATALOGUE.values()}
    assert sources == {p.name for p in (PACKAGE / "db" / "sql").glob("*.sql")}
    session_try = named("session_lock_try").sql
    assert "pg_try_advisory_lock" not in session_try  # only through the service_role wrapper
    assert "reminders_try_advisory_lock" in session_try


def _named_in_code() -> set[str]:
    names = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "named"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(str(node.args[0].value))
    return names


def test_every_named_query_is_used_and_every_use_is_named() -> None:
    assert _named_in_code() == set(CATALOGUE)


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (psycopg.errors.UndefinedTable("relation x does not exist"), SchemaMissingError, "migrate"),
        (psycopg.errors.InvalidSchemaName("no schema"), SchemaMissingError, "migrate"),
        (psycopg.errors.InsufficientPrivilege("denied"), DatabasePermissionError, "refused"),
        (psycopg.errors.UniqueViolation("dup"), ConstraintViolationError, "broke a database rule"),
        (psycopg.OperationalError("server closed"), DatabaseUnavailableError, "connection failed"),
        (psycopg.errors.DivisionByZero("x"), DatabaseError, "refused"),
    ],
)
def test_driver_errors_map_onto_the_exception_tree(
    error: psycopg.Error, kind: type[DatabaseError], words: str
) -> None:
    translated = translate(error, "query q")
    assert type(translated) is kind
    assert words in translated.message


def test_wrap_exceptions_keeps_the_cause() -> None:
    with pytest.raises(SchemaMissingError) as raised, gateway.wrap_exceptions("query q"):
        raise psycopg.errors.UndefinedTable("relation x does not exist")
    assert isinstance(raised.value.__cause__, psycopg.errors.UndefinedTable)


def test_a_missing_schema_is_reworded_for_the_command() -> None:
    missing = translate(psycopg.errors.UndefinedTable("relation x does not exist"), "query q")
    said = fault(missing, "`reminders status`")
    assert said.message.startswith("`reminders status` needs objects this database does not have")
    assert said.message.endswith("run `reminders migrate`")


DRIVER_CALLS = {"execute", "executemany", "cursor", "copy", "stream", "pipeline"}


def _driver_calls(path: str) -> list[str]:
    found = []
    tree = ast.parse((PACKAGE / path).read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in DRIVER_CALLS
            and not (node.func.attr == "copy" and not node.args)  # dict.copy()
        ):
            found.append(f"{path}:{node.lineno} .{node.func.attr}(")
    return found


def test_nothing_but_the_gateway_talks_to_the_driver() -> None:
    """Every statement goes through gateway.py: named, typed, its errors wrapped once."""
    modules = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py"))
    calls = [c for m in modules if m != "db/gateway.py" for c in _driver_calls(m)]
    assert calls == []
    assert _driver_calls("db/gateway.py"), "the gateway itself is where the driver is called"
