"""The CLI's reports as a person and a script meet them (separate processes, real PostgreSQL):
tables as wide as COLUMNS, colour only when it may, --json everywhere, one line for the
migrations, `make demo`'s ending, and the shell completion the README documents."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from assignment_reminders.db.database import Connection
from tests.conftest import REPO, reminders_cmd, run_reminders
from tests.run_rows import T0, insert_run

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG_NOTE = "holder_died: the run stopped without finishing " + "and said a great deal more " * 12
LONG_ERROR = "LockLostError: the advisory lock was lost: " + "terminated " * 30


def cli(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    plain = {k: v for k, v in env.items() if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    return run_reminders({**plain, **extra}, *args)


@pytest.fixture
def long_runs(conn: Connection) -> None:
    insert_run(conn, "failed", T0, note=LONG_NOTE, error=LONG_ERROR, lock_acquire_ms=13.2409779)
    insert_run(conn, "success", T0.replace(hour=6), lock_acquire_ms=4.000000001)


@pytest.mark.parametrize("columns", [60, 80, 132])
@pytest.mark.usefixtures("long_runs")
def test_status_fits_columns_and_its_json_keeps_every_character(
    cli_env: dict[str, str], columns: int
) -> None:
    shown = cli(cli_env, "status", COLUMNS=str(columns))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert max(map(len, lines)) <= columns, shown.stdout
    assert "…" in shown.stdout
    assert "\x1b[" not in shown.stdout  # a pipe: no colour

    data = json.loads(cli(cli_env, "status", "--json", COLUMNS=str(columns)).stdout)
    failed = next(r for r in data["runs"] if r["status"] == "failed")
    assert (failed["note"], failed["error"]) == (LONG_NOTE, LONG_ERROR)
    assert failed["lock_acquire_ms"] == 13.24
    assert isinstance(failed["overlapped_with"], list)  # an array, not the text "[]"
    assert "T" in failed["started_at"]  # ISO 8601, as --now takes it
    assert datetime.fromisoformat(failed["started_at"]).tzinfo is not None


@pytest.mark.usefixtures("long_runs")
def test_status_words_are_coloured_with_force_color_and_never_with_no_color(
    cli_env: dict[str, str],
) -> None:
    forced = cli(cli_env, "status", FORCE_COLOR="1").stdout
    assert re.search(r"\x1b\[31m(\x1b\[1m)?failed", forced), forced
    assert re.search(r"\x1b\[32msuccess", forced), forced
    assert "\x1b[" not in cli(cli_env, "status", FORCE_COLOR="1", NO_COLOR="1").stdout
    assert ANSI.sub("", forced) == cli(cli_env, "status").stdout  # same table, same widths


def test_doctor_fits_columns(cli_env: dict[str, str]) -> None:
    shown = cli(cli_env, "doctor", COLUMNS="72")
    assert shown.stdout, shown.stderr
    assert max(map(len, shown.stdout.splitlines())) <= 72, shown.stdout
    checks = json.loads(cli(cli_env, "doctor", "--json", COLUMNS="72").stdout)
    assert {"name", "result", "detail", "fix"} <= set(checks[0])


def test_doctor_ends_a_failure_with_one_line_naming_the_checks(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nothing"}
    shown = cli(env, "doctor")
    assert shown.returncode == 1
    assert shown.stderr.splitlines()[-1] == "1 check failed: database", shown.stderr


def test_migrate_prints_one_line_and_json_names_each_migration(
    empty_database_url: str, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "DATABASE_URL": empty_database_url}
    files = sorted(p.stem for p in (REPO / "supabase" / "migrations").glob("*.sql"))
    first = cli(env, "migrate")
    assert first.returncode == 0, first.stderr
    expected = (
        f"applied 1 migration: {files[0]}"
        if len(files) == 1
        else f"applied {len(files)} migrations: {files[0]} to {files[-1]}"
    )
    assert first.stdout.splitlines() == [expected]
    again = cli(env, "migrate", "--json")
    assert json.loads(again.stdout) == {"applied": [], "count": 0}


def test_every_reporting_command_takes_json(cli_env: dict[str, str], tmp_path: Path) -> None:
    seeded = cli(cli_env, "seed", "--assignments", "20", "--json")
    assert seeded.returncode == 0, seeded.stderr
    seed = json.loads(seeded.stdout)
    assert seed["assignments"] == 20 and seed["seconds"] == round(seed["seconds"], 2)

    worker = json.loads(cli(cli_env, "worker", "--once", "--json").stdout)
    assert worker == {"channels": [], "delivered": 0, "retried": 0, "dead": 0, "cancelled": 0}

    embedded = cli(cli_env, "embedded", "status", "--json", REMINDERS_DATA_DIR=str(tmp_path))
    assert json.loads(embedded.stdout) == {"data_dir": str(tmp_path), "state": "stopped"}

    run_json = cli(cli_env, "run", "--json").stdout
    ran = json.loads(run_json)
    assert ran["lock_acquire_ms"] == round(ran["lock_acquire_ms"], 2)
    # the figures are written rounded, not merely equal to their rounding
    assert re.search(r'"lock_acquire_ms": \d+(\.\d{1,2})?[,}]', run_json), run_json
    assert re.search(r'"duration_ms": \d+(\.\d{1,2})?[,}]', run_json), run_json
    assert json.loads(cli(cli_env, "deliveries", "--json").stdout) == []


def documented_completion_lines() -> list[str]:
    readme = (REPO / "README.md").read_text()
    return re.findall(r"^(.*_REMINDERS_COMPLETE=\w+_source reminders.*)$", readme, re.M)


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _reminders_completion reminders"),
        ("zsh", "compdef _reminders_completion reminders"),
        ("fish", "complete --no-files --command reminders"),
    ],
)
def test_the_documented_shell_completion_produces_a_script(
    cli_env: dict[str, str], shell: str, marker: str
) -> None:
    [line] = [x for x in documented_completion_lines() if f"={shell}_source" in x]
    assert line.startswith(("eval ", "_REMINDERS_COMPLETE="))
    script = cli(cli_env, _REMINDERS_COMPLETE=f"{shell}_source")
    assert script.returncode == 0, script.stderr
    assert marker in script.stdout


def test_bash_completion_completes_command_names(cli_env: dict[str, str]) -> None:
    assert documented_completion_lines(), "README documents no shell completion"
    answer = cli(
        cli_env, _REMINDERS_COMPLETE="bash_complete", COMP_WORDS="reminders sta", COMP_CWORD="1"
    )
    assert answer.stdout.splitlines() == ["plain,status"], answer.stdout


def test_demo_prints_one_migrations_line_explains_the_holder_and_the_next_commands_work(
    empty_database_url: str, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "DATABASE_URL": empty_database_url, "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    demo = subprocess.run(
        [*reminders_cmd()[:2], "assignment_reminders.dev.demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    lines = demo.stdout.splitlines()
    assert [x for x in lines if x.startswith("applied")] == [
        next(
            x
            for x in lines
            if re.fullmatch(r"applied (1 migration: \S+|\d+ migrations: \S+ to \S+)", x)
        )
    ]
    assert max(map(len, lines)) <= 100, demo.stdout
    assert "seeded 2,000 assignments for 250 peer mentors in 1 new organization" in lines
    assert re.search(r"advisory_lock_held +process \d+ on \S+ ", demo.stdout), demo.stdout
    assert "vm:" not in demo.stdout and "assignment-reminders/lock" not in demo.stdout
    assert lines[-4] == "next, try:"
    commands = [x.split("#")[0].split() for x in lines[-3:]]
    for words in commands:
        assert words[0] == ".venv/bin/reminders", words
        done = cli(env, *words[1:])
        assert done.returncode in (0, 1) and done.stdout, (words, done.stderr)
        assert "Traceback" not in done.stderr
