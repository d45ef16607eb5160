"""Every query of runs returns exactly RunRow's columns (by name: the order is free).

The rows are built by name with defaults (job/run_row.py), so a column left out of one of the
four copies would not fail: the row would silently take the default. This keeps them equal."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from assignment_reminders.db.gateway import named
from assignment_reminders.job.run_row import RunRow

RUN_QUERIES = ("recent_runs", "runs_by_invocation", "running_runs", "run_history")


def selected_columns(sql: str) -> list[str]:
    """The output names of a query's first SELECT list (the alias where there is one)."""
    found = re.search(r"\bSELECT\b(.*?)\bFROM\b", sql, re.S | re.I)
    assert found, sql
    return [re.split(r"\s+", item.strip())[-1] for item in found.group(1).split(",")]


@pytest.mark.parametrize("name", RUN_QUERIES)
def test_a_query_of_runs_returns_run_rows_columns(name: str) -> None:
    assert sorted(selected_columns(named(name).sql)) == sorted(f.name for f in fields(RunRow))


def test_the_check_sees_a_column_left_out() -> None:
    sql = named("recent_runs").sql.replace(" note,", "", 1)
    assert sorted(selected_columns(sql)) != sorted(f.name for f in fields(RunRow))
