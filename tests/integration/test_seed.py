"""`reminders seed`: consistent synthetic data, added beside what exists."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.gateway import named
from assignment_reminders.dev.seed import seed
from assignment_reminders.exceptions import InputError
from tests.conftest import wait_for
from tests.due_index import stale_due_rows

TODAY = date(2026, 11, 28)


def bulk_load_helpers(conn: Connection) -> None:
    """The seed's bulk-load helpers in this session's pg_temp, as the seed creates them."""
    conn.execute(named("seed_bulk_load_helpers").sql)


def count(conn: Connection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return int(next(iter(row.values())))


@pytest.fixture
def superuser_conn(superuser_database_url: str) -> Iterator[Connection]:
    """A superuser's seed skips the triggers and FK checks: the bulk load (the benchmarks')."""
    with connect(superuser_database_url, purpose="test") as c:
        yield c


def test_seeded_rows_reference_each_other_within_one_organization(
    superuser_conn: Connection,
) -> None:
    conn = superuser_conn  # the bulk load, which skips the FK checks
    result = seed(conn, assignments=1200, today=TODAY)
    assert count(conn, "SELECT count(*) FROM assignments") == 1200
    assert result.peer_mentors == 150
    # every reference resolves (the load may skip per-row FK checks) and stays in one organization
    assert (
        count(
            conn,
            "SELECT count(*) FROM assignments a"
            " LEFT JOIN peer_mentors pm ON pm.id = a.peer_mentor_id"
            " LEFT JOIN contacts c ON c.id = a.contact_id"
            " LEFT JOIN coordinators co ON co.id = pm.coordinator_id"
            " WHERE pm.id IS NULL OR c.id IS NULL OR co.id IS NULL"
            "    OR pm.organization_id <> a.organization_id"
            "    OR c.organization_id <> a.organization_id"
            "    OR co.organization_id <> a.organization_id",
        )
        == 0
    )
    assert (
        count(conn, "SELECT count(*) FROM assignments WHERE last_contact_date > '2026-11-28'") == 0
    )
    statuses = {r["status"] for r in conn.execute("SELECT DISTINCT status FROM assignments")}
    assert statuses == {"active", "paused", "ended"}


def test_a_second_seed_adds_a_new_organization_without_touching_the_first(conn: Connection) -> None:
    first = seed(conn, assignments=100, today=TODAY)
    before = conn.execute("SELECT id, last_contact_date FROM assignments ORDER BY id").fetchall()
    second = seed(conn, assignments=100, today=TODAY, random_seed=2)
    assert second.first_assignment_id == first.first_assignment_id + 100
    after = conn.execute("SELECT id, last_contact_date FROM assignments ORDER BY id").fetchall()
    assert after[:100] == before
    assert count(conn, "SELECT count(DISTINCT organization_id) FROM assignments") == 2
    # identity sequences moved past the seeded ids: a normal insert still works
    conn.execute("INSERT INTO organizations (name) VALUES ('after seed')")


def test_same_seed_same_data(conn: Connection) -> None:
    seed(conn, assignments=50, today=TODAY, random_seed=7)
    seed(conn, assignments=50, today=TODAY, random_seed=7)
    rows = conn.execute(
        "SELECT status, starts_on, last_contact_date FROM assignments ORDER BY id"
    ).fetchall()
    assert rows[:50] == rows[50:]


def test_zero_assignments_is_refused(conn: Connection) -> None:
    with pytest.raises(InputError, match="at least 1"):
        seed(conn, assignments=0, today=TODAY)


INDEXES = (
    "SELECT tablename, indexname, indexdef FROM pg_indexes"
    " WHERE schemaname IN ('public', 'reminders') ORDER BY tablename, indexname"
)
CONSTRAINTS = (
    "SELECT conrelid::regclass::text AS t, conname, pg_get_constraintdef(oid) AS def"
    " FROM pg_constraint WHERE connamespace IN ('public'::regnamespace,"
    " 'reminders'::regnamespace) ORDER BY 1, 2"
)


GRANTS = (
    "SELECT c.oid::regclass::text AS t, c.relacl::text AS acl FROM pg_class c"
    " WHERE c.relnamespace IN ('public'::regnamespace, 'reminders'::regnamespace) ORDER BY 1"
)
TRIGGERS = (
    "SELECT tgrelid::regclass::text AS t, tgname, tgenabled FROM pg_trigger"
    " WHERE NOT tgisinternal ORDER BY 1, 2"
)


def test_a_seed_into_empty_tables_builds_the_same_indexes_and_constraints_after_the_load(
    superuser_conn: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    conn = superuser_conn
    before = [conn.execute(q).fetchall() for q in (INDEXES, CONSTRAINTS, GRANTS, TRIGGERS)]
    caplog.set_level(logging.DEBUG, logger="assignment_reminders.dev.seed")
    seed(conn, assignments=3000, today=TODAY)
    assert [conn.execute(q).fetchall() for q in (INDEXES, CONSTRAINTS, GRANTS, TRIGGERS)] == before
    role = conn.execute("SHOW session_replication_role").fetchone()
    assert role == {"session_replication_role": "origin"}  # the triggers fire again
    # the big tables were truncated in the seed's transaction and their rows COPYd frozen: pages
    # marked all-visible already (ANALYZE reads the visibility map; no VACUUM has run)
    copies = [r.getMessage().split(":")[0] for r in caplog.records if " COPY " in r.getMessage()]
    assert copies == [
        "seed phase COPY public.organizations",
        "seed phase COPY auth.users",  # user_id references them (Supabase)
        "seed phase COPY public.coordinators",
        "seed phase COPY public.peer_mentors FREEZE",
        "seed phase COPY public.contacts FREEZE",
        "seed phase COPY public.assignments FREEZE",
        "seed phase COPY reminders.assignment_due FREEZE (binary)",
    ]
    pages = conn.execute(
        "SELECT relname, relallvisible > 0 AS frozen FROM pg_class"
        " WHERE oid IN ('public.assignments'::regclass, 'reminders.assignment_due'::regclass)"
        " ORDER BY 1"
    ).fetchall()
    assert pages == [
        {"relname": "assignment_due", "frozen": True},
        {"relname": "assignments", "frozen": True},
    ]
    # the due index was computed into the bare table and its keys built after: the same rows as
    # the view that defines it
    assert count(conn, "SELECT count(*) FROM reminders.assignment_due") > 1000
    assert stale_due_rows(conn) == []


def test_the_due_index_a_bulk_seed_writes_is_the_view_exactly(superuser_conn: Connection) -> None:
    conn = superuser_conn
    # into empty tables (indexes built after), then beside existing rows (indexes kept)
    seed(conn, assignments=2000, today=TODAY)
    seed(conn, assignments=1500, today=TODAY, random_seed=3)
    assert count(conn, "SELECT count(*) FROM reminders.assignment_due") > 2500
    assert stale_due_rows(conn) == []
    # each seed's rows stored in the order the pass walks
    for first, last in ((1, 2000), (2001, 3500)):
        ordered = conn.execute(
            "SELECT due_on, assignment_id FROM reminders.assignment_due"
            " WHERE assignment_id BETWEEN %s AND %s ORDER BY ctid",
            (first, last),
        ).fetchall()
        assert ordered == sorted(ordered, key=lambda r: (r["due_on"], r["assignment_id"]))


def test_the_due_index_a_seed_through_the_triggers_writes_is_the_view(conn: Connection) -> None:
    # Supabase's postgres role: no bulk load, the database's triggers compute the index
    seed(conn, assignments=1000, today=TODAY)
    assert count(conn, "SELECT count(*) FROM reminders.assignment_due") > 1000
    assert stale_due_rows(conn) == []


def test_the_bulk_load_helpers_are_the_seeds_alone_not_the_schemas(
    superuser_conn: Connection, superuser_database_url: str
) -> None:
    """`reminders migrate` installs no seed tooling; a bulk seed's helpers end with its session."""
    helpers = "SELECT count(*) FROM pg_proc WHERE proname LIKE 'bulk_load%'"
    assert count(superuser_conn, helpers) == 0
    seed(superuser_conn, assignments=300, today=TODAY)
    in_temp = helpers + " AND pronamespace = pg_my_temp_schema()"
    assert count(superuser_conn, in_temp) == 3  # in the seed's own pg_temp
    superuser_conn.close()
    with connect(superuser_database_url, purpose="test") as later:
        wait_for(lambda: count(later, helpers) == 0)  # dropped when the session ended


def test_tables_with_rows_keep_their_indexes_during_a_load(conn: Connection) -> None:
    seed(conn, assignments=10, today=TODAY)
    bulk_load_helpers(conn)
    conn.execute("BEGIN")
    dropped = conn.execute(
        "SELECT pg_temp.bulk_load_drop_indexes('public.assignments') AS s"
    ).fetchone()
    conn.execute("ROLLBACK")
    assert dropped == {"s": []}


def test_a_duplicate_in_a_bulk_load_is_refused_when_the_unique_index_is_built(
    conn: Connection,
) -> None:
    bulk_load_helpers(conn)
    conn.execute("BEGIN")
    rebuild = conn.execute(
        "SELECT pg_temp.bulk_load_drop_indexes('reminders.assignment_due') AS s"
    ).fetchone()
    assert rebuild is not None and len(rebuild["s"]) == 2  # the primary key and the walk's index
    conn.execute(
        "INSERT INTO reminders.assignment_due"
        " VALUES (1, 'reminder', '2026-01-01', '2026-01-11', 'Ada', 'Berg'),"
        " (1, 'reminder', '2026-01-02', '2026-01-12', 'Ada', 'Berg')"
    )
    with pytest.raises(psycopg.errors.UniqueViolation, match="could not create unique index"):
        conn.execute("SELECT pg_temp.bulk_load_create_indexes(%s)", (rebuild["s"],))
    conn.execute("ROLLBACK")


def test_tables_are_truncated_for_a_frozen_load_only_when_nothing_would_be_lost(
    superuser_conn: Connection,
) -> None:
    conn = superuser_conn
    # an empty table whose referencing table has a row (its reference NULL): no truncation
    conn.execute(
        "CREATE TABLE public.notes (assignment_id bigint REFERENCES assignments, body text)"
    )
    conn.execute("INSERT INTO public.notes VALUES (NULL, 'keep me')")
    bulk_load_helpers(conn)
    conn.commit()
    truncated = conn.execute(
        "SELECT pg_temp.bulk_load_truncate(ARRAY['public.assignments'::regclass]) AS t"
    ).fetchone()
    conn.commit()
    assert truncated == {"t": False}
    assert count(conn, "SELECT count(*) FROM public.notes") == 1
    # the seed then loads without FREEZE, and still right
    seed(conn, assignments=500, today=TODAY)
    assert count(conn, "SELECT count(*) FROM assignments") == 500
    assert count(conn, "SELECT count(*) FROM public.notes") == 1
    assert stale_due_rows(conn) == []
    # and a table with rows is never truncated
    conn.execute("DELETE FROM public.notes")
    conn.commit()
    row = conn.execute(
        "SELECT pg_temp.bulk_load_truncate(ARRAY['public.assignments'::regclass]) AS t"
    ).fetchone()
    assert row == {"t": False}  # assignments has rows now
    conn.rollback()


def test_a_row_committed_while_truncation_waits_for_its_lock_is_kept(
    superuser_conn: Connection, superuser_database_url: str
) -> None:
    """The tables are locked before they are looked at: a writer in flight when the seed asks
    finishes first, and its row is seen (and kept), not truncated after an empty look."""
    conn = superuser_conn
    conn.execute(
        "CREATE TABLE public.notes (assignment_id bigint REFERENCES assignments, body text)"
    )
    conn.commit()
    with connect(superuser_database_url, purpose="test") as writer:
        writer.execute("BEGIN")
        writer.execute("INSERT INTO public.notes VALUES (NULL, 'written meanwhile')")
        outcome: list[object] = []

        def ask() -> None:
            with connect(superuser_database_url, purpose="test") as asker:
                bulk_load_helpers(asker)
                row = asker.execute(
                    "SELECT pg_temp.bulk_load_truncate(ARRAY['public.assignments'::regclass]) AS t"
                ).fetchone()
                asker.commit()
                outcome.append(row)

        thread = threading.Thread(target=ask)
        thread.start()
        wait_for(  # the truncation waits for the writer's lock on notes
            lambda: (
                conn.execute(
                    "SELECT count(*) AS n FROM pg_locks WHERE NOT granted"
                    " AND relation = 'public.notes'::regclass"
                ).fetchone()
                == {"n": 1}
            )
        )
        writer.commit()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(outcome) == 1 and outcome[0] is not None
    assert outcome[0]["t"] is False  # type: ignore[index]
    conn.rollback()
    assert count(conn, "SELECT count(*) FROM public.notes") == 1
