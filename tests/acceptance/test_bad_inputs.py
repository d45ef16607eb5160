"""Every bad input named: one line on stderr, a non-zero exit, nothing written (issue 10).

Each case of the issue's list, run as the operator would: ``reminders`` as a separate process.
"""

from __future__ import annotations

import os
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from assignment_reminders.db.database import Connection
from assignment_reminders.limits import REASON_MAX_LENGTH
from tests import factories
from tests.conftest import reminders_cmd, run_reminders
from tests.dispatch_counts import dispatch_count
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


def reminders_bytes(env: dict[str, str], *args: str | bytes) -> subprocess.CompletedProcess[str]:
    """``reminders *args`` with raw bytes in argv, as a shell passes ``$'\\xff\\xfe'``."""
    return subprocess.run(
        [*reminders_cmd(), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def corrections(conn: Connection) -> list[dict[str, object]]:
    return conn.execute("SELECT * FROM reminders.last_contact_corrections").fetchall()


NOT_UTF8 = b"\xff\xfe"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["admin", "set-last-contact", "{id}", "2026-11-01", "--reason", NOT_UTF8], "'--reason'"),
        (["optional-sql", NOT_UTF8], "'[NAME]'"),
        (["serve", "--host", NOT_UTF8], "'--host'"),
        (["serve", "--schedule", NOT_UTF8], "'--schedule'"),
        (["serve", "--time-zone", NOT_UTF8], "'--time-zone'"),
    ],
    ids=["--reason", "optional-sql NAME", "--host", "--schedule", "--time-zone"],
)
def test_a_text_argument_that_is_not_utf8_is_one_line_naming_it(
    cli_env: dict[str, str], conn: Connection, args: list[str | bytes], option: str
) -> None:
    """Issue 18 item 7: bytes that are not UTF-8 (a 58-line UnicodeEncodeError before)."""
    assignment = factories.assignment(conn, starts_on=date(2026, 10, 1))
    before = conn.execute("SELECT last_contact_date FROM assignments").fetchall()
    argv = [a.replace("{id}", str(assignment)) if isinstance(a, str) else a for a in args]
    result = reminders_bytes(cli_env, *argv)
    assert result.returncode == 2
    line = one_line(result)
    assert option in line and "must be valid UTF-8 text" in line
    assert corrections(conn) == []
    assert conn.execute("SELECT last_contact_date FROM assignments").fetchall() == before


@pytest.mark.parametrize("length", [REASON_MAX_LENGTH + 1, 100_000])
def test_a_reason_over_the_apis_limit_is_one_line_and_nothing_stored(
    cli_env: dict[str, str], conn: Connection, length: int
) -> None:
    assignment = factories.assignment(conn, starts_on=date(2026, 10, 1))
    result = reminders(
        cli_env,
        "admin",
        "set-last-contact",
        str(assignment),
        "2026-11-01",
        "--reason",
        "x" * length,
    )
    assert result.returncode == 2
    line = one_line(result)
    assert "'--reason'" in line and f"at most {REASON_MAX_LENGTH:,} characters" in line
    assert corrections(conn) == []


def test_a_reason_at_the_limit_is_stored(cli_env: dict[str, str], conn: Connection) -> None:
    assignment = factories.assignment(conn, starts_on=date(2026, 10, 1))
    reason = "é" * REASON_MAX_LENGTH
    result = reminders(
        cli_env, "admin", "set-last-contact", str(assignment), "2026-11-01", "--reason", reason
    )
    assert result.returncode == 0, result.stderr
    assert [c["reason"] for c in corrections(conn)] == [reason]


def database_now(conn: Connection) -> datetime:
    row = conn.execute("SELECT now() AS now").fetchone()
    assert row is not None
    now: datetime = row["now"]
    return now


def test_a_run_far_from_the_database_clock_is_refused_before_it_starts(
    cli_env: dict[str, str], conn: Connection
) -> None:
    """Issue 18 item 7: 9999-12-31 created 307,533 reminders before."""
    factories.assignment(conn, starts_on=date(2026, 1, 1))
    result = reminders(cli_env, "run", "--now", "9999-12-31T23:59:59+14:00")
    assert result.returncode == 2
    line = one_line(result)
    assert "'--now'" in line and "24 hours" in line and "--allow-distant-now" in line
    assert runs(conn) == []
    assert dispatch_count(conn) == 0


@pytest.mark.parametrize("hours", [-25, 25])
def test_a_run_a_day_and_an_hour_away_is_refused_either_way(
    cli_env: dict[str, str], conn: Connection, hours: int
) -> None:
    moment = database_now(conn) + timedelta(hours=hours)
    result = reminders(cli_env, "run", "--now", moment.isoformat())
    assert result.returncode == 2
    assert "'--now'" in one_line(result)
    assert runs(conn) == []


@pytest.mark.parametrize("hours", [-23, 23])
def test_a_run_within_a_day_of_the_database_clock_runs(
    cli_env: dict[str, str], conn: Connection, hours: int
) -> None:
    moment = database_now(conn) + timedelta(hours=hours)
    result = reminders(cli_env, "run", "--now", moment.isoformat())
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in runs(conn)] == ["success"]


def test_allow_distant_now_says_a_distant_run_is_meant(
    cli_env: dict[str, str], conn: Connection
) -> None:
    factories.assignment(conn, starts_on=date(2026, 1, 1))
    result = reminders(cli_env, "run", "--now", "2030-01-01T06:00:00+00:00", "--allow-distant-now")
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in runs(conn)] == ["success"]
    assert dispatch_count(conn) > 0  # the reminder and the escalation due by 2030


@pytest.mark.parametrize("group", [[], ["admin"], ["incidents"], ["maintenance"], ["embedded"]])
def test_a_group_without_its_command_prints_its_help(group: list[str]) -> None:
    shown = run_reminders(dict(os.environ), *group)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr == ""
    assert shown.stdout.startswith(f"Usage: {' '.join(['reminders', *group])} [OPTIONS] COMMAND")
    assert "Commands:" in shown.stdout
