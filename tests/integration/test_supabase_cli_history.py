"""One migration history with the Supabase CLI: supabase_migrations.schema_migrations."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assignment_reminders.api import create_app
from assignment_reminders.config import Settings
from assignment_reminders.database import connect
from assignment_reminders.doctor import check_migrations
from assignment_reminders.migrations import KNOWN_EARLIER_CHECKSUMS, discover, migrate
from tests.supabase_cli import db_push, project_dir

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
    from tests.conftest import reminders_cmd

    return subprocess.run(
        reminders_cmd("migrate", *args),
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")},
            "DATABASE_URL": url,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


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
    """Half the history by the CLI, the rest by us, then a new file by the CLI."""
    workdir = project_dir(tmp_path)
    files = sorted((workdir / "supabase" / "migrations").glob("*.sql"))
    for late in files[3:]:
        late.rename(tmp_path / late.name)
    assert db_push(empty_database_url, workdir).returncode == 0
    result = _migrate_cli(empty_database_url, "--verbose")  # one line per migration applied
    assert result.returncode == 0, result.stderr
    *each, summary = result.stdout.splitlines()
    assert [line.split()[1] for line in each] == [p.stem for p in files[3:]]
    assert summary.startswith(f"applied {len(files[3:])} migrations: ")
    (workdir / "supabase" / "migrations" / "29990101000000_host_app.sql").write_text(
        "CREATE TABLE public.host_later (id int);\n"
    )
    for late in files[3:]:
        (tmp_path / late.name).rename(workdir / "supabase" / "migrations" / late.name)
    pushed = db_push(empty_database_url, workdir)
    assert pushed.returncode == 0, pushed.stderr
    assert _ledger(empty_database_url) == [*_ours(), "29990101000000"]
    # The host's own version in the shared ledger is not ours: migrate ignores it.
    again = _migrate_cli(empty_database_url)
    assert (again.returncode, again.stdout.strip()) == (0, "migrations: up to date")


def test_the_history_of_earlier_versions_moves_into_the_shared_ledger(
    empty_database_url: str, tmp_path: Path
) -> None:
    """A database migrated before the shared ledger: public.reminders_schema_migrations."""
    earlier = {v: next(iter(sums)) for v, sums in KNOWN_EARLIER_CHECKSUMS.items()}
    with connect(empty_database_url, purpose="test") as conn:
        before = discover()[:5]  # what earlier versions shipped
        conn.execute(
            "CREATE TABLE public.reminders_schema_migrations (version text PRIMARY KEY,"
            " name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for m in before:
            conn.execute(m.sql.encode())
            conn.execute(
                "INSERT INTO public.reminders_schema_migrations (version, name, checksum)"
                " VALUES (%s, %s, %s)",
                (m.version, m.name, earlier.get(m.version, m.checksum)),
            )
        applied = migrate(conn)
        assert [m.version for m in applied] == _ours()[5:]
        gone = conn.execute(
            "SELECT to_regclass('public.reminders_schema_migrations') AS t"
        ).fetchone()
        assert gone == {"t": None}
        assert not check_migrations(conn).failed
        assert migrate(conn) == []
    assert _ledger(empty_database_url) == _ours()
    dry = db_push(empty_database_url, project_dir(tmp_path), "--dry-run")
    assert "Remote database is up to date" in dry.stdout + dry.stderr, dry.stdout + dry.stderr


def test_an_applied_migration_edited_afterwards_stops_migrate_with_the_fix(
    database_url: str, run_cli: RunCli
) -> None:
    with connect(database_url, purpose="test") as conn:
        conn.execute(
            "UPDATE reminders.migration_checksums SET checksum = 'edited' WHERE version = %s",
            (_ours()[1],),
        )
        check = check_migrations(conn)
    assert check.failed and discover()[1].filename in check.detail
    result = run_cli("migrate")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert discover()[1].filename in lines[0]
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
