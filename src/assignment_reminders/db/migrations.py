"""Applying ``supabase/migrations/*.sql`` in order, once each, each in its own transaction.

The files are plain SQL, and the history is the Supabase CLI's own:
``supabase_migrations.schema_migrations`` (version, statements, name), created here as the CLI
creates it when it is absent. So ``supabase db push`` and ``reminders migrate`` see one history:
whatever either applied, the other skips. Each row holds the file's statements split as the CLI
splits them (:mod:`.statements`), so the row is the same whichever tool wrote it and
``supabase migration fetch`` gives the file back unchanged. Versions in the ledger that are not
ours (the host project's own migrations) are left alone.

Before anything is written, a pre-flight (:mod:`.preflight`) refuses, naming them, the objects
the pending files would create that the database already has (a host's own ``public.contacts``).

Our checksums live beside it in ``reminders.migration_checksums``: a file whose checksum changed
after it was applied stops ``migrate`` before anything runs, with the fix. A file first seen as
applied by the CLI has its checksum recorded as it is then. Concurrent ``migrate`` commands
serialize on a transaction-scoped advisory lock, so two deploys cannot apply the same file twice.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import DatabaseError, MigrationError, first_line
from . import statements
from .database import Connection
from .gateway import (
    execute,
    fetch_all,
    fetch_one,
    fetch_value,
    named,
    run_script,
    transaction,
)
from .preflight import refuse_existing

logger = logging.getLogger(__name__)

_FILE = re.compile(r"^(?P<version>\d{14})_(?P<name>[a-z0-9_]+)\.sql$")

# Registered in background_job_lock_keys. A blocking lock is right here: a deploy waits for another.
MIGRATION_LOCK_KEY = 5418660433429667594  # derive_lock_key("reminders-migrate")

_LOCK = named("migration_lock")
_LEDGER_DDL = named("migration_ledger_ddl")
_HISTORIES = named("migration_histories")
_LEDGER = named("migration_ledger")
_LEDGER_WITHOUT_CHECKSUMS = named("migration_ledger_without_checksums")
_IS_APPLIED = named("migration_is_applied")
_RECORD = named("migration_record")
_RECORD_CHECKSUM = named("migration_record_checksum")
_RECORD_CLI_CHECKSUM = named("migration_record_cli_checksum")


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

    @property
    def filename(self) -> str:
        return f"{self.version}_{self.name}"

    def matches(self, recorded: str | None) -> bool:
        """Whether *recorded* (the applied checksum; None: not recorded yet) is this file's."""
        return recorded is None or recorded == self.checksum


def migrations_dir() -> Path:
    """Where the migration files are: inside the installed package, or in the source tree."""
    packaged = Path(__file__).parent.with_name("migrations")
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[3] / "supabase" / "migrations"
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
    versions = [m.version for m in found]
    twice = sorted({v for v in versions if versions.count(v) > 1})
    if twice:
        names = ", ".join(m.path.name for m in found if m.version in twice)
        raise MigrationError(
            f"two migration files share a version ({names}): the history keeps one row per"
            " version, so one of them would never run; give the newer file a later timestamp"
        )
    return found


@dataclass(frozen=True)
class _Histories:
    """``migration_histories``: whether the history table, and our checksums, exist."""

    ledger: bool
    checksums: bool


@dataclass(frozen=True)
class _Applied:
    """``migration_ledger``: an applied version and its recorded checksum (None: not yet)."""

    version: str
    checksum: str | None


def applied(conn: Connection) -> dict[str, str | None]:
    """``{version: checksum or None}`` of every version in the history (empty on a new database).

    ``None``: applied by the Supabase CLI, checksum not yet recorded.
    """
    row = fetch_one(conn, _HISTORIES, row=_Histories)
    assert row is not None
    if not row.ledger:
        return {}
    ledger = _LEDGER if row.checksums else _LEDGER_WITHOUT_CHECKSUMS
    return {r.version: r.checksum for r in fetch_all(conn, ledger, row=_Applied)}


def unapplied(files: list[Migration], done: dict[str, str | None]) -> list[Migration]:
    """The *files* not in *done* (:func:`applied`)."""
    return [m for m in files if m.version not in done]


def edited(files: list[Migration], done: dict[str, str | None]) -> list[Migration]:
    """The *files* in *done* (:func:`applied`) that are no longer what was applied."""
    return [m for m in files if m.version in done and not m.matches(done[m.version])]


def pending(conn: Connection, directory: Path | None = None) -> list[Migration]:
    return unapplied(discover(directory), applied(conn))


def changed(conn: Connection, directory: Path | None = None) -> list[Migration]:
    """Applied migrations whose file is no longer what was applied."""
    return edited(discover(directory), applied(conn))


def changed_message(edited: list[Migration]) -> str:
    names = ", ".join(m.filename for m in edited)
    return (
        f"migrations changed after they were applied: {names}; restore the applied files"
        " (git checkout them) and put the change in a new migration"
    )


def applied_summary(done: list[Migration]) -> str:
    """One line for the migrations just applied: how many, from which to which."""
    if not done:
        return "migrations: up to date"
    if len(done) == 1:
        return f"applied 1 migration: {done[0].filename}"
    return f"applied {len(done)} migrations: {done[0].filename} to {done[-1].filename}"


def migrate(conn: Connection, directory: Path | None = None) -> list[Migration]:
    """Apply every pending migration; returns the ones applied by this call."""
    if not conn.autocommit:
        raise MigrationError(
            "migrate() needs an autocommit connection: it opens its own transactions"
        )
    files = discover(directory)
    try:
        with transaction(conn, "the migration history"):
            _prepare_history(conn, files)
    except MigrationError:
        raise
    except DatabaseError as exc:
        cause = exc.__cause__ or exc
        raise MigrationError(
            f"could not prepare the migration history: {first_line(cause)}"
        ) from cause
    done: list[Migration] = []
    for migration in files:
        try:
            with transaction(conn, f"migration {migration.filename}"):
                execute(conn, _LOCK, {"lock_key": MIGRATION_LOCK_KEY})
                applied = {"version": migration.version}
                if fetch_value(conn, _IS_APPLIED, applied, kind=int) is not None:
                    continue
                text = migration.sql
                run_script(conn, text.encode(), f"migration {migration.filename}")
                execute(
                    conn,
                    _RECORD,
                    {
                        "version": migration.version,
                        "name": migration.name,
                        "statements": statements.split(text),
                    },
                )
                execute(
                    conn,
                    _RECORD_CHECKSUM,
                    {"version": migration.version, "checksum": migration.checksum},
                )
        except DatabaseError as exc:
            cause = exc.__cause__ or exc
            raise MigrationError(
                f"migration {migration.path.name} failed and was rolled back: {first_line(cause)}"
            ) from cause
        logger.info("applied migration %s", migration.filename)
        done.append(migration)
    return done


def _prepare_history(conn: Connection, files: list[Migration]) -> None:
    """Nothing is in the way (the pre-flight, which only reads), then: the shared ledger and our
    checksums exist, nothing applied was edited."""
    execute(conn, _LOCK, {"lock_key": MIGRATION_LOCK_KEY})
    before = applied(conn)
    refuse_existing(
        conn,
        pending=[m.sql for m in unapplied(files, before)],
        applied=[m.sql for m in files if m.version in before],
    )
    execute(conn, _LEDGER_DDL)
    done = applied(conn)
    if changed_files := edited(files, done):
        raise MigrationError(changed_message(changed_files))
    # Applied by the Supabase CLI: record the checksum the file has now.
    for m in files:
        if m.version in done and done[m.version] is None:
            execute(conn, _RECORD_CLI_CHECKSUM, {"version": m.version, "checksum": m.checksum})
