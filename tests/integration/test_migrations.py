"""`reminders migrate`: in order, once each, each in its own transaction."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assignment_reminders.db.database import connect
from assignment_reminders.db.migrations import applied, discover, migrate, migrations_dir
from assignment_reminders.exceptions import MigrationError


def test_applies_everything_once_then_nothing(empty_database_url: str) -> None:
    with connect(empty_database_url, purpose="test") as conn:
        first = migrate(conn)
        second = migrate(conn)
        assert [m.version for m in first] == [m.version for m in discover()]
        assert second == []
        assert set(applied(conn)) == {m.version for m in discover()}


def test_creates_the_supabase_roles_when_absent(empty_database_url: str) -> None:
    with connect(empty_database_url, purpose="test") as conn:
        migrate(conn)
        rows = conn.execute(
            "SELECT rolname, rolbypassrls, rolcanlogin FROM pg_roles"
            " WHERE rolname IN ('anon', 'authenticated', 'service_role') ORDER BY rolname"
        ).fetchall()
    assert [(r["rolname"], r["rolcanlogin"]) for r in rows] == [
        ("anon", False),
        ("authenticated", False),
        ("service_role", False),
    ]
    assert rows[2]["rolbypassrls"] is True


def test_a_failing_migration_is_rolled_back_and_named(
    empty_database_url: str, tmp_path: Path
) -> None:
    for m in discover():
        shutil.copy(m.path, tmp_path / m.path.name)
    (tmp_path / "29990101000000_broken.sql").write_text(
        "CREATE TABLE half_done (id int);\nSELECT no_such_function();\n"
    )
    with connect(empty_database_url, purpose="test") as conn:
        with pytest.raises(MigrationError, match=r"29990101000000_broken\.sql failed"):
            migrate(conn, tmp_path)
        assert conn.execute("SELECT to_regclass('half_done') AS t").fetchone() == {"t": None}
        assert "29990101000000" not in applied(conn)
        assert set(applied(conn)) == {m.version for m in discover()}


def test_badly_named_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "add_things.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match=r"named <14-digit timestamp>_<name>\.sql"):
        discover(tmp_path)


def test_migrations_live_where_the_supabase_cli_looks() -> None:
    assert migrations_dir().parts[-2:] == ("supabase", "migrations")


def test_two_files_with_one_version_are_refused(tmp_path: Path) -> None:
    (tmp_path / "29990101000000_one.sql").write_text("SELECT 1")
    (tmp_path / "29990101000000_two.sql").write_text("SELECT 2")
    with pytest.raises(MigrationError, match=r"share a version \(29990101000000_one\.sql"):
        discover(tmp_path)


def test_the_shipped_migrations_have_distinct_versions() -> None:
    versions = [m.version for m in discover()]
    assert len(versions) == len(set(versions))
