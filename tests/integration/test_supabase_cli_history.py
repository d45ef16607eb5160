"""One migration history with the Supabase CLI: supabase_migrations.schema_migrations."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assignment_reminders.api.app import create_app
from assignment_reminders.config import Settings
from assignment_reminders.db.database import connect
from assignment_reminders.db.migrations import discover, migrate
from assignment_reminders.monitoring.doctor import check_migrations
from tests.supabase_cli import db_push, migration_fetch, project_dir
from tests.unit.test_statements import CLI_STATEMENTS, HARD_CASES

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def _ours() -> list[str]:
    return [m.version for m in discover()]


def _ledger(url: str) -> list[str]:
    with connect(url, purpose="test") as conn:
        rows = conn.execute(
            "SELECT version FROM supabase_migrations.schema_migrations ORDER BY version"
        ).fetchall()
    return [r["version"] for r in rows]


def _ready(url: str) -> int:
    with TestClient(create_app(Settings.from_env({"DATABASE_URL": url}))) as client:
        return client.get("/ready").status_code


def _migrate_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    from tests.conftest import reminders_env, run_reminders

    return run_reminders(reminders_env(url), "migrate", *args)


def test_after_db_push_reminders_migrate_is_a_clean_no_op(
    empty_database_url: str, tmp_path: Path
) -> None:
    pushed = db_push(empty_database_url, project_dir(tmp_path))
    assert pushed.returncode == 0, pushed.stderr
    assert _ledger(empty_database_url) == _ours()

    result = _migrate_cli(empty_database_url)
    assert (result.returncode, result.stdout.strip(), result.stderr) == (
        0,
        "migrations: up to date",
        "",
    )
    with connect(empty_database_url, purpose="test") as conn:
        check = check_migrations(conn)
        recorded = conn.execute(
            "SELECT version, checksum FROM reminders.migration_checksums ORDER BY version"
        ).fetchall()
    assert not check.failed, check
    assert [(r["version"], r["checksum"]) for r in recorded] == [
        (m.version, m.checksum) for m in discover()
    ]
    assert _ready(empty_database_url) == 200


def test_after_reminders_migrate_db_push_reports_up_to_date(
    empty_database_url: str, tmp_path: Path
) -> None:
    with connect(empty_database_url, purpose="test") as conn:
        migrate(conn)
    dry = db_push(empty_database_url, project_dir(tmp_path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "Remote database is up to date" in dry.stdout + dry.stderr
    assert "Would push" not in dry.stdout + dry.stderr
    # And a real push changes nothing either.
    pushed = db_push(empty_database_url, project_dir(tmp_path))
    assert pushed.returncode == 0, pushed.stderr
    assert _ledger(empty_database_url) == _ours()


def test_a_new_migration_is_applied_by_whichever_tool_runs_next(
    empty_database_url: str, tmp_path: Path
) -> None:
    """The baseline by the CLI, a later file of ours by us, then a host's file by the CLI."""
    workdir = project_dir(tmp_path)
    folder = workdir / "supabase" / "migrations"
    assert db_push(empty_database_url, workdir).returncode == 0
    (folder / "29980101000000_ours_later.sql").write_text(
        "CREATE TABLE public.ours_later (id int);\n"
    )
    with connect(empty_database_url, purpose="test") as conn:
        assert [m.version for m in migrate(conn, folder)] == ["29980101000000"]
    (folder / "29990101000000_host_app.sql").write_text(
        "CREATE TABLE public.host_later (id int);\n"
    )
    pushed = db_push(empty_database_url, workdir)
    assert pushed.returncode == 0, pushed.stderr
    assert _ledger(empty_database_url) == [*_ours(), "29980101000000", "29990101000000"]
    # Versions in the shared ledger that are not ours: migrate ignores them.
    again = _migrate_cli(empty_database_url)
    assert (again.returncode, again.stdout.strip()) == (0, "migrations: up to date")


def _rows(url: str) -> list[tuple[str, str, list[str]]]:
    with connect(url, purpose="test") as conn:
        rows = conn.execute(
            "SELECT version, name, statements FROM supabase_migrations.schema_migrations"
            " ORDER BY version"
        ).fetchall()
    return [(r["version"], r["name"], r["statements"]) for r in rows]


def test_db_push_and_reminders_migrate_leave_the_same_history_rows(
    empty_database_url: str, database_url: str, tmp_path: Path
) -> None:
    """version, name and the statements array: whichever tool applied a file, the row is one."""
    pushed = db_push(empty_database_url, project_dir(tmp_path))
    assert pushed.returncode == 0, pushed.stderr
    assert _rows(empty_database_url) == _rows(database_url)  # database_url: reminders migrate
    assert len(_rows(database_url)[0][2]) > 100  # one row per statement, not the file as one


def test_the_cli_and_migrate_split_hard_cases_alike(
    empty_database_url: str, database_url: str, tmp_path: Path
) -> None:
    """Semicolons in comments, strings, identifiers and dollar quotes; empty statements."""
    workdir = project_dir(tmp_path)
    folder = workdir / "supabase" / "migrations"  # ours and the hard cases, for both tools
    (folder / "29990101000000_hard_cases.sql").write_text(HARD_CASES)
    pushed = db_push(empty_database_url, workdir)
    assert pushed.returncode == 0, pushed.stderr
    assert _rows(empty_database_url)[-1] == ("29990101000000", "hard_cases", CLI_STATEMENTS)
    with connect(database_url, purpose="test") as conn:
        migrate(conn, folder)
    assert _rows(database_url) == _rows(empty_database_url)


@pytest.mark.parametrize("tool", ["supabase db push", "reminders migrate"])
def test_migration_fetch_gives_our_files_back_unchanged(
    empty_database_url: str, tmp_path: Path, tool: str
) -> None:
    if tool == "supabase db push":
        pushed = db_push(empty_database_url, project_dir(tmp_path))
        assert pushed.returncode == 0, pushed.stderr
    else:
        with connect(empty_database_url, purpose="test") as conn:
            migrate(conn)
    fetched = migration_fetch(empty_database_url, tmp_path / "fetched")
    assert fetched.returncode == 0, fetched.stderr
    back = sorted((tmp_path / "fetched" / "supabase" / "migrations").glob("*.sql"))
    assert [p.name for p in back] == [m.path.name for m in discover()]
    for path, m in zip(back, discover(), strict=True):
        assert path.read_bytes() == m.path.read_bytes(), path.name


def test_an_applied_migration_edited_afterwards_stops_migrate_with_the_fix(
    database_url: str, run_cli: RunCli
) -> None:
    with connect(database_url, purpose="test") as conn:
        conn.execute(
            "UPDATE reminders.migration_checksums SET checksum = 'edited' WHERE version = %s",
            (_ours()[0],),
        )
        check = check_migrations(conn)
    assert check.failed and discover()[0].filename in check.detail
    result = run_cli("migrate")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert discover()[0].filename in lines[0]
    assert "put the change in a new migration" in lines[0]


def test_an_edited_file_is_reported_before_anything_runs(
    empty_database_url: str, tmp_path: Path
) -> None:
    for m in discover():
        (tmp_path / m.path.name).write_bytes(m.path.read_bytes())
    with connect(empty_database_url, purpose="test") as conn:
        migrate(conn, tmp_path)
        first = discover(tmp_path)[0]
        first.path.write_text(first.sql + "\n-- edited\n")
        (tmp_path / "29990101000000_next.sql").write_text("CREATE TABLE public.next_one (id int);")
        with pytest.raises(Exception, match="restore the applied files") as caught:
            migrate(conn, tmp_path)
        assert type(caught.value).__name__ == "MigrationError"
        assert conn.execute("SELECT to_regclass('public.next_one') AS t").fetchone() == {"t": None}
