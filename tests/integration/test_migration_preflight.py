"""`reminders migrate` refuses, before writing anything, when objects it would create exist."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.migrations import applied, discover, migrate
from assignment_reminders.db.preflight import ObjectsExistError
from tests.conftest import reminders_env, run_reminders

# Every name, kind, privilege, flag and policy outside the system schemas, and the default ACLs.
CATALOG = """
SELECT 'class' AS what, n.nspname AS schema, c.relname AS name,
       concat_ws(' ', c.relkind, c.relacl, c.relrowsecurity, c.relowner::regrole) AS detail
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL
SELECT 'routine', n.nspname, p.oid::regprocedure::text, concat_ws(' ', md5(p.prosrc), p.proacl)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT 'type', n.nspname, t.typname, NULL
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL
SELECT 'schema', n.nspname, n.nspname, concat_ws(' ', n.nspacl, obj_description(n.oid))
FROM pg_namespace n
UNION ALL
SELECT 'policy', c.relnamespace::regnamespace::text, c.relname || '.' || p.polname,
       pg_get_expr(p.polqual, p.polrelid)
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
UNION ALL
SELECT 'constraint', k.connamespace::regnamespace::text, k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k WHERE k.connamespace <> 'pg_catalog'::regnamespace
UNION ALL
SELECT 'default acl', d.defaclnamespace::text, d.defaclobjtype::text, d.defaclacl::text
FROM pg_default_acl d
UNION ALL
SELECT 'published', p.pubname, r.prrelid::regclass::text, NULL
FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
ORDER BY 1, 2, 3, 4
"""

HOST_CONTACTS = """
CREATE TABLE public.contacts (id uuid PRIMARY KEY, phone text NOT NULL);
INSERT INTO public.contacts VALUES (gen_random_uuid(), '+47 400 00 000');
CREATE VIEW public.notifications AS SELECT 1 AS id;
"""


def catalog(conn: Connection) -> list[dict[str, Any]]:
    return conn.execute(CATALOG).fetchall()


def test_a_hosts_own_table_stops_migrate_before_anything_is_written(
    empty_database_url: str,
) -> None:
    with connect(empty_database_url, purpose="test") as conn:
        conn.execute(HOST_CONTACTS.encode())
        before = catalog(conn)
        with pytest.raises(ObjectsExistError) as refused:
            migrate(conn)
        assert catalog(conn) == before
        assert conn.execute("SELECT phone FROM public.contacts").fetchall() == [
            {"phone": "+47 400 00 000"}
        ]
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("nothing was changed: ")
    assert "table public.contacts, table public.notifications;" in message
    assert "index public.contacts_organization_id_idx" not in message  # not in the way


def test_the_cli_says_it_in_one_line_and_exits_non_zero(empty_database_url: str) -> None:
    with connect(empty_database_url, purpose="test") as conn:
        conn.execute("CREATE SCHEMA reminders")  # a host's schema of that name is not ours
        before = catalog(conn)
        env = reminders_env(empty_database_url, REMINDERS_LOG_LEVEL="WARNING")
        done = run_reminders(env, "migrate")
        assert catalog(conn) == before
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "already exist: schema reminders;" in done.stderr


def test_a_new_file_is_checked_against_the_host_and_not_against_our_own_objects(
    empty_database_url: str, tmp_path: Path
) -> None:
    for m in discover():
        shutil.copy(m.path, tmp_path / m.path.name)
    with connect(empty_database_url, purpose="test") as conn:
        migrate(conn, tmp_path)
        # ours already (an applied file made it), and the host's own function
        (tmp_path / "29990101000000_later.sql").write_text(
            "CREATE OR REPLACE FUNCTION reminders.rls_readable_contacts() RETURNS bigint[]"
            " LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''"
            " AS $$ SELECT '{}'::bigint[] $$;\n"
            "CREATE FUNCTION public.profile_count() RETURNS int LANGUAGE sql AS 'SELECT 0';\n"
        )
        before = catalog(conn)
        with pytest.raises(ObjectsExistError, match=r"exist: function public\.profile_count;"):
            migrate(conn, tmp_path)
        assert catalog(conn) == before
        assert "29990101000000" not in applied(conn)
