from __future__ import annotations

import pytest

from assignment_reminders.queries import parse, query


def test_parse_splits_named_blocks() -> None:
    text = "-- name: a\nSELECT 1\n\n-- name: b_2\n-- a comment\nSELECT 2\n"
    assert parse(text) == {"a": "SELECT 1", "b_2": "-- a comment\nSELECT 2"}


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        parse("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")


def test_unknown_query_names_the_query() -> None:
    with pytest.raises(KeyError, match="no_such_query"):
        query("no_such_query")


def test_shipped_queries_load() -> None:
    session_try = query("session_lock_try", "locking.sql")
    assert "pg_try_advisory_lock" not in session_try  # only through the service_role wrapper
    assert "reminders_try_advisory_lock" in session_try
