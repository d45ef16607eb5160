"""The ledger's run_id names a run's log row, as a foreign key would (ON DELETE SET NULL), though
checked once per statement by triggers (supabase/schema.sql, "Run counts from the ledger")."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import psycopg
import pytest

from assignment_reminders.db.database import Connection, connect
from tests import factories
from tests.conftest import wait_for
from tests.run_rows import insert_run

T0 = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
# one ledger row per (assignment, kind) of the assignments given, naming the run given
WRITE = (
    "INSERT INTO reminders.reminder_dispatches (assignment_id, kind, gap_started_on,"
    " days_since_contact, organization_id, peer_mentor_id, coordinator_id, recipient_user_id,"
    " run_id)"
    " SELECT a.id, k.kind, a.starts_on, 30, a.organization_id, a.peer_mentor_id,"
    "        pm.coordinator_id, pm.user_id, r.run_id"
    " FROM unnest(%(assignments)s::bigint[], %(runs)s::bigint[]) r (assignment_id, run_id)"
    " JOIN assignments a ON a.id = r.assignment_id"
    " JOIN peer_mentors pm ON pm.id = a.peer_mentor_id"
    " CROSS JOIN (VALUES ('reminder'), ('escalation')) k (kind)"
)
PRUNE = "DELETE FROM reminders.cron_execution_logs WHERE id = %s"


def run_ids(conn: Connection) -> list[int | None]:
    rows = conn.execute("SELECT run_id FROM reminders.reminder_dispatches ORDER BY id").fetchall()
    return [r["run_id"] for r in rows]


def assignments(conn: Connection, n: int) -> list[int]:
    return [factories.assignment(conn, starts_on=date(2026, 1, 1)) for _ in range(n)]


def test_a_run_id_that_names_no_run_is_refused_as_a_foreign_key_violation(
    conn: Connection,
) -> None:
    run = insert_run(conn, "running", T0)
    a, b = assignments(conn, 2)
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as refused:
        conn.execute(WRITE, {"assignments": [a, b], "runs": [run, run + 1000]})
    assert refused.value.diag.constraint_name == "reminder_dispatches_run_id_fkey"
    assert f"Key (run_id)=({run + 1000})" in (refused.value.diag.message_detail or "")
    assert run_ids(conn) == []  # the whole statement, the row naming a real run too

    conn.execute(WRITE, {"assignments": [a, b], "runs": [run, None]})
    assert run_ids(conn) == [run, run, None, None]
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute("UPDATE reminders.reminder_dispatches SET run_id = %s", (run + 1000,))
    assert run_ids(conn) == [run, run, None, None]


def test_deleting_or_truncating_runs_unsets_their_reminders_run_id_and_keeps_the_reminders(
    conn: Connection,
) -> None:
    first, second, third = (insert_run(conn, "success", T0) for _ in range(3))
    a, b, c = assignments(conn, 3)
    conn.execute(WRITE, {"assignments": [a, b, c], "runs": [first, second, third]})
    conn.execute("DELETE FROM reminders.cron_execution_logs WHERE id IN (%s, %s)", (first, third))
    assert run_ids(conn) == [None, None, second, second, None, None]
    conn.execute("TRUNCATE reminders.cron_execution_logs")
    assert run_ids(conn) == [None] * 6


@pytest.mark.parametrize("write", ["insert", "update"])
def test_a_runs_deletion_waits_for_a_writer_naming_it_and_then_unsets_what_it_wrote(
    conn: Connection, database_url: str, write: str
) -> None:
    """As the foreign key's FOR KEY SHARE made it: the retention that deletes a run's row while a
    batch of that run is being written (or a repair names it) leaves no ledger row naming a run
    that is gone."""
    run = insert_run(conn, "success", T0)
    (a,) = assignments(conn, 1)
    if write == "update":
        conn.execute(WRITE, {"assignments": [a], "runs": [None]})
    deleted = threading.Event()
    errors: list[BaseException] = []
    with connect(database_url, purpose="test", autocommit=False) as writer:
        if write == "insert":
            writer.execute(WRITE, {"assignments": [a], "runs": [run]})  # not committed yet
        else:
            writer.execute("UPDATE reminders.reminder_dispatches SET run_id = %s", (run,))
        with connect(database_url, purpose="test") as pruner:
            pid = pruner.info.backend_pid

            def prune() -> None:
                try:
                    pruner.execute(PRUNE, (run,))
                except BaseException as exc:  # reported by the assertion below
                    errors.append(exc)
                deleted.set()

            thread = threading.Thread(target=prune)
            thread.start()
            blocked = (
                "SELECT %(w)s = ANY (pg_blocking_pids(%(p)s)) AS blocked",
                {"w": writer.info.backend_pid, "p": pid},
            )
            wait_for(lambda: conn.execute(*blocked).fetchone()["blocked"])  # type: ignore[index]
            assert not deleted.is_set()
            writer.commit()
            thread.join(timeout=10)
    assert deleted.is_set() and errors == []
    assert run_ids(conn) == [None, None]


def test_unsetting_a_deleted_runs_reference_holds_no_assignment_and_leaves_the_due_index(
    conn: Connection, database_url: str
) -> None:
    """Retention deletes a run's log row after every run; its reminders' run_id is unset, which
    bears on no reminder still to come. So it must not hold their assignments (a registration
    for one of them would wait for the retention's transaction) nor recompute their due rows."""
    run = insert_run(conn, "success", T0)
    written = assignments(conn, 3)
    conn.execute(WRITE, {"assignments": written, "runs": [run] * 3})
    index = "SELECT * FROM reminders.assignment_due ORDER BY assignment_id, kind"
    before = conn.execute(index).fetchall()
    with connect(database_url, purpose="test", autocommit=False) as pruner:
        pruner.execute(PRUNE, (run,))  # not committed yet
        with connect(database_url, purpose="test", autocommit=False) as registrar:
            held = registrar.execute(  # as a registration holds them; NOWAIT: held is refused
                "SELECT id FROM public.assignments WHERE id = ANY (%s) ORDER BY id"
                " FOR NO KEY UPDATE NOWAIT",
                (written,),
            ).fetchall()
            assert [r["id"] for r in held] == sorted(written)
            registrar.rollback()
        pruner.commit()
    assert run_ids(conn) == [None] * 6
    assert conn.execute(index).fetchall() == before
