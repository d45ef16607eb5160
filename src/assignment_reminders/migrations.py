"""Applying ``supabase/migrations/*.sql`` in order, once each, each in its own transaction.

The files are plain SQL so the Supabase CLI can apply them unchanged. We record what we applied
in ``public.reminders_schema_migrations`` (version, name, checksum); a file whose checksum changed
after it was applied is reported, never re-run. Concurrent ``migrate`` commands serialize on a
transaction-scoped advisory lock, so two deploys cannot apply the same file twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from .database import Connection
from .exceptions import MigrationError, first_line

logger = logging.getLogger(__name__)

_FILE = re.compile(r"^(?P<version>\d{14})_(?P<name>[a-z0-9_]+)\.sql$")

# Registered in background_job_lock_keys. A blocking lock is right here: a deploy waits for another.
MIGRATION_LOCK_KEY = 5418660433429667594  # derive_lock_key("reminders-migrate")

_HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS public.reminders_schema_migrations (
    version    text PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def migrations_dir() -> Path:
    """Where the migration files are: inside the installed package, or in the source tree."""
    packaged = Path(__file__).with_name("migrations")
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[2] / "supabase" / "migrations"
    if source.is_dir():
        return source
    raise MigrationError(f"no migrations found (looked in {packaged} and {source})")


def discover(directory: Path | None = None) -> list[Migration]:
    directory = directory or migrations_dir()
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name}: migration files are named <14-digit timestamp>_<name>.sql"
            )
        found.append(Migration(match["version"], match["name"], path))
    return found


def applied(conn: Connection) -> dict[str, str]:
    """``{version: checksum}`` of what has been applied (empty on a new database)."""
    row = conn.execute(
        "SELECT to_regclass('public.reminders_schema_migrations') IS NOT NULL AS present"
    ).fetchone()
    if row is None or not row["present"]:
        return {}
    rows = conn.execute("SELECT version, checksum FROM public.reminders_schema_migrations")
    return {r["version"]: r["checksum"] for r in rows}


def pending(conn: Connection, directory: Path | None = None) -> list[Migration]:
    done = applied(conn)
    return [m for m in discover(directory) if m.version not in done]


def migrate(conn: Connection, directory: Path | None = None) -> list[Migration]:
    """Apply every pending migration; returns the ones applied by this call."""
    if not conn.autocommit:
        raise MigrationError(
            "migrate() needs an autocommit connection: it opens its own transactions"
        )
    done: list[Migration] = []
    for migration in discover(directory):
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
                conn.execute(_HISTORY_DDL)
                row = conn.execute(
                    "SELECT checksum FROM public.reminders_schema_migrations WHERE version = %s",
                    (migration.version,),
                ).fetchone()
                if row is not None:
                    if row["checksum"] != migration.checksum:
                        logger.warning(
                            "migration %s_%s changed after it was applied; not re-run",
                            migration.version,
                            migration.name,
                        )
                    continue
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO public.reminders_schema_migrations (version, name, checksum)"
                    " VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
        except psycopg.Error as exc:
            raise MigrationError(
                f"migration {migration.path.name} failed and was rolled back: {first_line(exc)}"
            ) from exc
        logger.info("applied migration %s_%s", migration.version, migration.name)
        done.append(migration)
    return done
