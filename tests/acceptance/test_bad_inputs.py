"""Every bad input named: one line on stderr, a non-zero exit, nothing written (issue 10).

Each case of the issue's list, run as the operator would: ``reminders`` as a separate process.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from assignment_reminders.database import Connection
from tests.conftest import reminders_cmd
from tests.run_rows import runs


def reminders(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        reminders_cmd(*args), env=env, capture_output=True, text=True, timeout=120, check=False
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.mark.parametrize(
    "case",
    [
        (
            {"REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS": "inf"},
            ["run"],
            1,
            "REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS must be a finite number of seconds",
        ),
        ({"REMINDERS_HTTP_PORT": "99999"}, ["serve"], 1, "REMINDERS_HTTP_PORT must be between"),
        ({}, ["serve", "--port", "99999"], 2, "'--port': 99999 is not in the range 1<=x<=65535"),
        ({}, ["run", "--hold-seconds", "nan"], 2, "'--hold-seconds': must be a finite number"),
        ({}, ["run", "--pause-between-batches", "inf"], 2, "must be a finite number"),
        ({"REMINDERS_LOCK_SCOPE": "global"}, ["run"], 1, "REMINDERS_LOCK_SCOPE must be one of"),
    ],
)
def test_bad_settings_and_options_are_one_line(
    cli_env: dict[str, str], conn: Connection, case: tuple[dict[str, str], list[str], int, str]
) -> None:
    env, args, code, words = case
    result = reminders({**cli_env, **env}, *args)
    assert result.returncode == code
    assert words in one_line(result)
    assert runs(conn) == []


def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "pgdata"
    a_file.write_text("not a directory")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
    env.pop("DATABASE_URL", None)
    env["REMINDERS_DATA_DIR"] = str(a_file)
    result = reminders(env, "status")
    assert result.returncode == 1
    assert "REMINDERS_DATA_DIR must be a directory" in one_line(result)
    assert a_file.read_text() == "not a directory"


def test_an_unknown_lock_role_is_one_line_and_no_run(
    cli_env: dict[str, str], conn: Connection
) -> None:
    result = reminders({**cli_env, "REMINDERS_LOCK_ROLE": "no_such_role"}, "run")
    assert result.returncode == 1
    assert "REMINDERS_LOCK_ROLE is 'no_such_role', a role this database does not have" in (
        one_line(result)
    )
    assert runs(conn) == []


@pytest.mark.parametrize("args", [["status"], ["seed", "--assignments", "5"], ["run"]])
def test_a_command_before_migrate_says_run_migrate(
    empty_database_url: str, cli_env: dict[str, str], args: list[str]
) -> None:
    result = reminders({**cli_env, "DATABASE_URL": empty_database_url}, *args)
    assert result.returncode == 1
    assert "run `reminders migrate`" in one_line(result)
