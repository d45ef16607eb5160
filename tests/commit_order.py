"""Commit order as evidence: a server with ``track_commit_timestamp = on``, and the reminders
that committed after the contact that closed their gap.

``created_at DEFAULT now()`` is the start of the writing transaction, so it cannot tell whether a
reminder committed before or after a contact (the race of issue 18 is a contact committing while
a batch statement that started earlier is still running). ``pg_xact_commit_timestamp(xmin)``
gives each row's commit time instead; it needs the setting at server start, so the tests that
rely on it start a server of their own (a few seconds), and the race benchmark does the same.

Why the comparison is sound: a commit timestamp is taken while the transaction commits, before
it becomes visible and before it releases its locks. When a reminder's batch holds a lock the
contact needs (a fixed pass that rechecks its assignments under a row lock), the contact's
commit starts after the batch's lock is gone, so its timestamp is later; when the batch waits
for nothing of the contact's, nothing orders them, and "the contact committed first" is what
the timestamps say only if it really did (up to the microseconds between taking the timestamp
and becoming visible, far shorter than any statement here).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.migrations import migrate
from tests.conftest import (
    PROJECT_ROLE,
    _create_database,
    _create_shaped_database,
    _drop_database,
    as_user,
    with_dbname,
)

# A reminder whose gap an activity closed, the activity committed before the reminder did. An
# activity dated after the gap's start moves last_contact_date past it (activities only ever
# move it forward; a delete moves it back only to a date that an activity still present allows),
# so as long as the activity exists the gap stays closed (an administrator's correction of
# last_contact_date could move it back; these workloads make none): a reminder that committed
# after the activity committed was written for a gap that no longer was. Rows frozen or written
# before the setting was on have no timestamp and are left out.
CLOSED_GAP_REMINDERS = """
SELECT r.id AS dispatch_id, r.assignment_id, r.kind, r.gap_started_on,
       pg_xact_commit_timestamp(r.xmin) AS reminder_committed,
       x.id AS activity_id, x.occurred_on, x.committed AS contact_committed,
       (SELECT count(*) FROM public.notifications n WHERE n.dispatch_id = r.id) AS notifications,
       (SELECT count(*) FROM reminders.reminder_deliveries d WHERE d.dispatch_id = r.id)
           AS deliveries
FROM reminders.reminder_dispatches r
CROSS JOIN LATERAL (
    SELECT act.id, act.occurred_on, pg_xact_commit_timestamp(act.xmin) AS committed
    FROM public.activities act
    WHERE act.assignment_id = r.assignment_id AND act.occurred_on > r.gap_started_on
      AND pg_xact_commit_timestamp(act.xmin) IS NOT NULL
    ORDER BY pg_xact_commit_timestamp(act.xmin), act.id
    LIMIT 1
) x
WHERE x.committed < pg_xact_commit_timestamp(r.xmin)
  AND (%(run)s::bigint IS NULL OR r.run_id = %(run)s)
ORDER BY r.id
"""


def closed_gap_reminders(conn: Connection, *, run_id: int | None = None) -> list[dict[str, Any]]:
    """Every reminder (with its notification and delivery counts) that committed after a
    contact had closed its gap, or only those *run_id* wrote; empty when the pass never reminds
    about a closed gap. A ledger row updated since (retention unsetting run_id) carries the
    update's commit time: judge a run's rows before anything may update them."""
    return conn.execute(CLOSED_GAP_REMINDERS, {"run": run_id}).fetchall()


def describe(row: dict[str, Any]) -> str:
    """One line of :func:`closed_gap_reminders`: which reminder, which contact, how far apart."""
    after_ms = (row["reminder_committed"] - row["contact_committed"]).total_seconds() * 1000
    return (
        f"ledger row {row['dispatch_id']} (assignment {row['assignment_id']}, {row['kind']},"
        f" gap since {row['gap_started_on']}; {row['notifications']} notification(s),"
        f" {row['deliveries']} delivery row(s)) committed {after_ms:.1f} ms after activity"
        f" {row['activity_id']} (dated {row['occurred_on']}) that closed the gap"
    )


def tracks_commit_timestamps(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('track_commit_timestamp') = 'on'").fetchone()
    return bool(row and row[0])


@contextmanager
def commit_timestamps_server(data_dir: Path) -> Iterator[str]:
    """A superuser URL of a server that records commit timestamps: ``DATABASE_URL`` when it is
    set and does, else an embedded PostgreSQL in *data_dir* (started, switched on with ALTER
    SYSTEM and restarted, stopped afterwards)."""
    url = os.environ.get("DATABASE_URL")
    if url and tracks_commit_timestamps(url):
        yield url
        return
    from assignment_reminders.db.embedded import embedded_database_url, stop_embedded_database

    url = embedded_database_url(data_dir, keep_running=False)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET track_commit_timestamp = on")
        _restart(data_dir)
        if not tracks_commit_timestamps(url):
            raise RuntimeError(f"track_commit_timestamp is still off on {data_dir}")
        yield url
    finally:
        stop_embedded_database(data_dir)


def _restart(data_dir: Path) -> None:
    """``pg_ctl restart`` with the options the server was started with (postmaster.opts)."""
    from pgserver import _commands

    user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    _commands.pg_ctl(
        ["-w", "-m", "fast", "-l", str(data_dir / "log"), "restart"],
        pgdata=data_dir,
        user=user,
        timeout=60,
    )


@contextmanager
def migrated_template(admin_url: str) -> Iterator[str]:
    """On *admin_url*'s server, what conftest's ``template_db`` is on the session's: a database
    shaped like a Supabase project and migrated by the non-superuser owner; yields its name."""
    shape = _create_shaped_database(admin_url, "ar_shape")
    try:
        template = _create_database(admin_url, "ar_template", shape)
        try:
            owner_url = as_user(with_dbname(admin_url, template), PROJECT_ROLE)
            with connect(owner_url, purpose="test-migrate") as conn:
                migrate(conn)
            yield template
        finally:
            _drop_database(admin_url, template)
    finally:
        _drop_database(admin_url, shape)
