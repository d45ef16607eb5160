"""supabase/schema.sql is the schema the migrations produce (catalogs compared, not text)."""

from __future__ import annotations

from pathlib import Path

from assignment_reminders.db.database import connect
from tests.conftest import REPO
from tests.schema_catalog import differences, snapshot

SCHEMA_SQL = REPO / "supabase" / "schema.sql"
# The migration history itself (the CLI's ledger, our checksums) is migrate's, not the schema's.
HISTORY = ("supabase_migrations", "reminders.migration_checksums", "migration_checksums_pkey")


def test_migrating_a_fresh_database_gives_exactly_schema_sql(
    database_url: str, empty_database_url: str
) -> None:
    with connect(empty_database_url, purpose="test") as conn:
        conn.execute(Path(SCHEMA_SQL).read_bytes())
        from_file = snapshot(conn)
    with connect(database_url, purpose="test") as conn:  # migrated by reminders migrate
        migrated = snapshot(conn)
    diff = [d for d in differences(from_file, migrated) if not any(h in d for h in HISTORY)]
    assert diff == []
    assert len(migrated["function"]) > 30 and len(migrated["policy"]) >= 8  # it saw our schema
