"""Installing into a Supabase project: we touch only what we create, and pass its advisor lints.

The database is tests/supabase_shape.sql: Supabase's roles and default privileges, and a host
application's own table, view, function and sequence in public.
"""

from __future__ import annotations

import re
from typing import Any

from assignment_reminders.database import Connection, connect
from assignment_reminders.migrations import discover, migrate
from tests.supabase_shape import HOST_FUNCTIONS, HOST_SEQUENCES, HOST_TABLES, HOST_VIEWS

# The schemas PostgREST serves on Supabase by default (pgrst.db_schemas).
EXPOSED_SCHEMAS = ["public", "graphql_public"]
OUR_SCHEMAS = ["public", "reminders"]

HOST_SNAPSHOT = """
SELECT 'relation' AS kind, c.relname AS name, c.relacl::text AS acl,
       c.relrowsecurity::text AS rls, c.relforcerowsecurity::text AS force_rls,
       (SELECT string_agg(format('%%s:%%s:%%s:%%s:%%s', p.polname, p.polcmd, p.polroles::text,
                                 pg_get_expr(p.polqual, p.polrelid),
                                 pg_get_expr(p.polwithcheck, p.polrelid)), ';' ORDER BY p.polname)
        FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY (%(relations)s)
UNION ALL
SELECT 'function', p.proname, p.proacl::text, NULL, NULL, NULL
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace AND p.proname = ANY (%(functions)s)
UNION ALL
SELECT 'default privileges', d.defaclobjtype::text, d.defaclacl::text, NULL, NULL, NULL
FROM pg_default_acl d
UNION ALL
SELECT 'schema', n.nspname, n.nspacl::text, NULL, NULL, NULL
FROM pg_namespace n WHERE n.nspname IN ('public', 'auth', 'extensions')
ORDER BY 1, 2, 3
"""


def host_snapshot(conn: Connection) -> list[dict[str, Any]]:
    return conn.execute(
        HOST_SNAPSHOT,
        {
            "relations": [*HOST_TABLES, *HOST_VIEWS, *HOST_SEQUENCES],
            "functions": list(HOST_FUNCTIONS),
        },
    ).fetchall()


def test_migrate_leaves_the_host_applications_grants_policies_and_rls_as_they_were(
    empty_database_url: str,
) -> None:
    with connect(empty_database_url, purpose="test") as conn:
        before = host_snapshot(conn)
        assert len([r for r in before if r["kind"] in ("relation", "function")]) == 4
        assert migrate(conn)
        after = host_snapshot(conn)
    assert after == before


def test_the_host_applications_objects_still_serve_the_api_roles(conn: Connection) -> None:
    """Supabase's default privileges made them reachable; installing us took nothing away."""
    rows = conn.execute(
        "SELECT r.rolname,"
        " has_table_privilege(r.rolname, 'public.profiles', 'SELECT,INSERT') AS tbl,"
        " has_table_privilege(r.rolname, 'public.profile_names', 'SELECT') AS vw,"
        " has_function_privilege(r.rolname, 'public.profile_count()', 'EXECUTE') AS fn,"
        " has_sequence_privilege(r.rolname, 'public.invoice_numbers', 'USAGE') AS seq"
        " FROM (VALUES ('anon'), ('authenticated'), ('service_role')) r (rolname)"
    ).fetchall()
    assert all(r["tbl"] and r["vw"] and r["fn"] and r["seq"] for r in rows), rows


def test_no_migration_grants_or_revokes_over_a_whole_schema() -> None:
    sweeping = re.compile(r"\bALL\s+(TABLES|FUNCTIONS|SEQUENCES|ROUTINES)\s+IN\s+SCHEMA\b", re.I)
    found = [m.path.name for m in discover() if sweeping.search(m.sql)]
    assert found == []


def test_internal_tables_are_unreachable_for_anon_and_authenticated(conn: Connection) -> None:
    rows = conn.execute(
        "SELECT c.oid::regclass::text AS t, r.rolname"
        " FROM pg_class c, (VALUES ('anon'), ('authenticated')) r (rolname)"
        " WHERE c.relnamespace IN ('reminders'::regnamespace, 'supabase_migrations'::regnamespace)"
        " AND c.relkind IN ('r', 'v', 'm', 'S', 'p')"
        " AND (has_schema_privilege(r.rolname, c.relnamespace, 'USAGE')"
        "      OR (c.relkind = 'S' AND has_sequence_privilege(r.rolname, c.oid, 'USAGE'))"
        "      OR (c.relkind <> 'S' AND has_table_privilege(r.rolname, c.oid,"
        "          'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')))"
    ).fetchall()
    assert rows == []
    tables = conn.execute(
        "SELECT count(*) AS n FROM pg_class WHERE relnamespace = 'reminders'::regnamespace"
        " AND relkind = 'r'"
    ).fetchone()
    assert tables is not None and tables["n"] >= 10  # the execution log, ledger, ... checksums


def test_the_migration_history_is_not_in_an_exposed_schema(conn: Connection) -> None:
    rows = conn.execute(
        "SELECT to_regclass('public.reminders_schema_migrations') AS old,"
        " to_regclass('supabase_migrations.schema_migrations')::text AS ledger,"
        " to_regclass('reminders.migration_checksums')::text AS checksums"
    ).fetchone()
    assert rows == {
        "old": None,
        "ledger": "supabase_migrations.schema_migrations",
        "checksums": "reminders.migration_checksums",
    }


def test_row_level_security_is_on_for_every_table_we_create(conn: Connection) -> None:
    rows = conn.execute(
        "SELECT c.oid::regclass::text AS t FROM pg_class c"
        " WHERE c.relnamespace = ANY (%(schemas)s::regnamespace[]) AND c.relkind IN ('r', 'p')"
        " AND NOT c.relrowsecurity AND c.relname <> ALL (%(host)s)",
        {"schemas": OUR_SCHEMAS, "host": list(HOST_TABLES)},
    ).fetchall()
    assert rows == []


def test_security_definer_functions_live_outside_the_exposed_schemas(conn: Connection) -> None:
    rows = conn.execute(
        "SELECT p.oid::regprocedure::text AS f FROM pg_proc p"
        " WHERE p.prosecdef AND p.pronamespace = ANY (%(exposed)s::regnamespace[])",
        {"exposed": ["public"]},
    ).fetchall()
    assert rows == []
    ours = conn.execute(
        "SELECT count(*) AS n FROM pg_proc WHERE prosecdef"
        " AND pronamespace = 'reminders'::regnamespace"
    ).fetchone()
    assert ours is not None and ours["n"] >= 5


# --- Supabase Security Advisor equivalents (supabase/splinter lints) -------------------------


def test_lint_0028_0029_no_security_definer_function_executable_in_an_exposed_schema(
    conn: Connection,
) -> None:
    rows = conn.execute(
        "SELECT n.nspname, p.proname, r.rolname FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace,"
        " (VALUES ('anon'), ('authenticated')) r (rolname)"
        " WHERE p.prosecdef AND has_function_privilege(r.rolname, p.oid, 'EXECUTE')"
        " AND n.nspname = ANY (%(exposed)s)",
        {"exposed": EXPOSED_SCHEMAS},
    ).fetchall()
    assert rows == []


def test_lint_0003_auth_rls_initplan_no_per_row_auth_calls_in_policies(conn: Connection) -> None:
    """A bare auth.uid() / current_setting() in a policy is evaluated for every row."""
    rows = conn.execute(
        "SELECT schemaname, tablename, policyname, qual, with_check FROM pg_policies"
        " WHERE schemaname = ANY (%(ours)s)",
        {"ours": OUR_SCHEMAS},
    ).fetchall()
    assert len(rows) >= 9
    calls = ("auth.uid()", "auth.jwt()", "auth.role()", "auth.email()", "current_setting(")
    per_row = [
        (r["tablename"], r["policyname"], call)
        for r in rows
        for text in (r["qual"], r["with_check"])
        if text
        for call in calls
        if call in text and f"select {call}" not in text.lower()
    ]
    assert per_row == []


def test_lint_0013_rls_enabled_on_every_table_in_public(conn: Connection) -> None:
    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        " AND relkind IN ('r', 'p') AND NOT relrowsecurity"
    ).fetchall()
    assert rows == []


# --- Realtime ---------------------------------------------------------------------------------


def _published(conn: Connection) -> list[str]:
    rows = conn.execute(
        "SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables"
        " WHERE pubname = 'supabase_realtime' ORDER BY 1"
    ).fetchall()
    return [r["t"] for r in rows]


def test_notifications_stream_through_supabase_realtime(conn: Connection) -> None:
    assert _published(conn) == ["public.notifications"]


def test_without_the_realtime_publication_the_migration_does_nothing(
    empty_database_url: str,
) -> None:
    with connect(empty_database_url, purpose="test") as conn:
        conn.execute("DROP PUBLICATION supabase_realtime")
        migrate(conn)
        row = conn.execute(
            "SELECT count(*) AS n FROM pg_publication WHERE pubname = 'supabase_realtime'"
        ).fetchone()
        assert row == {"n": 0}
        # Created later (Supabase's way), the documented statement adds it; migrate stays a no-op.
        conn.execute("CREATE PUBLICATION supabase_realtime")
        conn.execute("ALTER PUBLICATION supabase_realtime ADD TABLE public.notifications")
        assert migrate(conn) == []
        assert _published(conn) == ["public.notifications"]
