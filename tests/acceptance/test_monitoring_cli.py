"""`reminders check`, `status` and `serve` options as a user meets them."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from assignment_reminders.db.database import Connection
from tests.run_rows import T0, insert_run

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_check_on_a_healthy_log_exits_zero(run_cli: Run) -> None:
    result = run_cli("check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: no open alerts"


def test_check_reports_a_failure_exits_three_and_status_lists_it(
    conn: Connection, run_cli: Run
) -> None:
    insert_run(conn, "failed", T0, error="RuntimeError: boom")
    result = run_cli("check", "--now", "2026-11-28T06:00:00+00:00", "--record")
    assert result.returncode == 3  # 2 is click's usage error
    assert "failure: run" in result.stdout
    assert "RuntimeError: boom" in result.stdout
    status = run_cli("status")
    assert status.returncode == 0, status.stderr
    assert "open alerts:\n  failure: run" in status.stdout


def test_check_without_the_monitoring_tables_says_to_migrate(
    empty_database_url: str, cli_env: dict[str, str]
) -> None:
    from tests.conftest import reminders_cmd

    env = {**cli_env, "DATABASE_URL": empty_database_url}
    result = subprocess.run(
        reminders_cmd("check"), env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: the monitoring tables are missing: run `reminders migrate`"
        " (caused by UndefinedTable)"
    ]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--schedule", "0 6 * *", "has 5 fields"),
        ("--time-zone", "Mars/Olympus", "not a known IANA time zone"),
    ],
)
def test_serve_refuses_a_bad_schedule_in_one_line(
    run_cli: Run, option: str, value: str, message: str
) -> None:
    result = run_cli("serve", "--port", "1", option, value, timeout=60)
    assert result.returncode == 1
    errors = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    assert len(errors) == 1
    line = errors[0]
    assert message in line
