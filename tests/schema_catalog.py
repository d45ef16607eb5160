"""What a migrated database holds, read from the catalogs, so two ways of building it can be diffed.

``snapshot(conn)`` returns, per kind of object, the set of lines that describe every object in the
database's own schemas (everything but pg_catalog, information_schema and pg_toast): schemas,
relations (kind, RLS flags, grants, owner, comment), columns (in order, type, default, identity,
grants, comment), constraints (definition, validated), indexes, functions (pg_get_functiondef:
body, settings, security; grants, comment), triggers, policies, views, sequences, publication
members, and the rows of the lock-key registry. Objects of the host application exist in both
databases and cancel out. Text, not text of files: formatting and comments in the SQL do not
count, what the database made of it does.

Run as a script to compare two schemas built on a throwaway embedded PostgreSQL, each side a
directory of migrations (applied by ``reminders migrate``'s code) or one .sql file (run as one
script), both as the non-superuser owner of a Supabase-shaped database (tests/supabase_shape.sql):

    python -m tests.schema_catalog supabase/migrations supabase/schema.sql

It prints every difference and exits 1 when there is one. The integrator folds a migration into
the baseline and checks the folding this way (old directory against new).
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import sys
import tempfile
from pathlib import Path

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.migrations import migrate
from tests.conftest import (
    PROJECT_ROLE,
    _create_shaped_database,
    _drop_database,
    as_user,
    with_dbname,
)

_OURS = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"


def _acl(column: str) -> str:
    """An ACL as text with its items sorted: the order grants were made in does not count."""
    return (
        f"CASE WHEN {column} IS NULL THEN 'default' ELSE (SELECT coalesce(string_agg("
        f"x::text, ',' ORDER BY x::text), '') FROM unnest({column}) x) END"
    )


QUERIES: dict[str, str] = {
    "schema": f"""
        SELECT format('%s owner=%s acl=%s comment=%s', n.nspname, n.nspowner::regrole,
                      {_acl("n.nspacl")}, obj_description(n.oid, 'pg_namespace'))
        FROM pg_namespace n WHERE {_OURS} AND n.nspname NOT LIKE 'pg_temp%'
          AND n.nspname NOT LIKE 'pg_toast_temp%'""",
    "relation": f"""
        SELECT format('%s.%s kind=%s owner=%s rls=%s force=%s acl=%s options=%s comment=%s',
                      n.nspname, c.relname, c.relkind, c.relowner::regrole, c.relrowsecurity,
                      c.relforcerowsecurity, {_acl("c.relacl")}, c.reloptions::text,
                      obj_description(c.oid, 'pg_class'))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS} AND c.relkind IN ('r', 'v', 'm', 'S', 'p', 'f')""",
    "column": f"""
        SELECT format('%s.%s #%s %s %s notnull=%s default=%s identity=%s generated=%s acl=%s'
                      ' comment=%s',
                      n.nspname, c.relname,
                      row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
                      format_type(a.atttypid, a.atttypmod), a.attnotnull,
                      pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
                      {_acl("a.attacl")}, col_description(c.oid, a.attnum))
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE {_OURS} AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND a.attnum > 0
          AND NOT a.attisdropped""",
    "constraint": f"""
        SELECT format('%s.%s %s %s validated=%s deferrable=%s comment=%s',
                      n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid),
                      k.convalidated, k.condeferrable, obj_description(k.oid, 'pg_constraint'))
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS}""",
    "index": f"""
        SELECT format('%s comment=%s', pg_get_indexdef(i.indexrelid),
                      obj_description(i.indexrelid, 'pg_class'))
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS}""",
    "function": f"""
        SELECT format('%s owner=%s acl=%s comment=%s', pg_get_functiondef(p.oid),
                      p.proowner::regrole, {_acl("p.proacl")}, obj_description(p.oid, 'pg_proc'))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_OURS} AND p.prokind IN ('f', 'p', 'w')""",
    "trigger": f"""
        SELECT format('%s enabled=%s comment=%s', pg_get_triggerdef(t.oid), t.tgenabled,
                      obj_description(t.oid, 'pg_trigger'))
        FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS} AND NOT t.tgisinternal""",
    "policy": """
        SELECT format('%s.%s %s %s %s to=%s using=%s check=%s', schemaname, tablename,
                      policyname, permissive, cmd, roles::text, qual, with_check)
        FROM pg_policies""",
    "view": f"""
        SELECT format('%s.%s %s', n.nspname, c.relname, pg_get_viewdef(c.oid))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS} AND c.relkind IN ('v', 'm')""",
    "sequence": f"""
        SELECT format('%s.%s %s start=%s inc=%s min=%s max=%s cache=%s cycle=%s',
                      n.nspname, c.relname, s.seqtypid::regtype, s.seqstart, s.seqincrement,
                      s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
        FROM pg_sequence s
        JOIN pg_class c ON c.oid = s.seqrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS}""",
    "publication": """
        SELECT format('%s %s.%s', pubname, schemaname, tablename) FROM pg_publication_tables""",
    "default_acl": f"""
        SELECT format('%s %s %s %s', d.defaclrole::regrole, d.defaclnamespace::regnamespace,
                      d.defaclobjtype, {_acl("d.defaclacl")})
        FROM pg_default_acl d""",
    "extension": """
        SELECT format('%s schema=%s', e.extname, e.extnamespace::regnamespace)
        FROM pg_extension e""",
    "lock_key": """
        SELECT format('%s %s %s', lock_key, job_name, description)
        FROM reminders.background_job_lock_keys""",  # read only where it exists: snapshot()
}


def snapshot(conn: Connection) -> dict[str, set[str]]:
    """Every object of the database's own schemas, as lines per kind (module docstring)."""
    found: dict[str, set[str]] = {}
    for kind, query in QUERIES.items():
        if kind == "lock_key":
            exists = conn.execute(
                "SELECT to_regclass('reminders.background_job_lock_keys') IS NOT NULL AS e"
            ).fetchone()
            if not (exists and exists["e"]):
                found[kind] = set()
                continue
        rows = conn.execute(query.encode()).fetchall()
        found[kind] = {str(next(iter(r.values()))) for r in rows}
    return found


def differences(left: dict[str, set[str]], right: dict[str, set[str]]) -> list[str]:
    """Lines only on one side, ``- `` for the left and ``+ `` for the right, per kind.

    A function (or any multi-line entry) on both sides with different text is shown as a
    unified diff of the two, keyed by its first line.
    """
    out: list[str] = []
    for kind in QUERIES:
        a, b = left.get(kind, set()), right.get(kind, set())
        only_a = {line.split("\n", 1)[0]: line for line in a - b}
        only_b = {line.split("\n", 1)[0]: line for line in b - a}
        for key in sorted(only_a.keys() & only_b.keys()):
            if "\n" in only_a[key]:
                diff = difflib.unified_diff(
                    only_a[key].splitlines(), only_b[key].splitlines(), lineterm="", n=1
                )
                out.append(f"{kind}: ~ {key}\n" + "\n".join(list(diff)[2:]))
            else:
                out.extend([f"{kind}: - {only_a[key]}", f"{kind}: + {only_b[key]}"])
        for key in sorted(only_a.keys() - only_b.keys()):
            out.append(f"{kind}: - {only_a[key]}")
        for key in sorted(only_b.keys() - only_a.keys()):
            out.append(f"{kind}: + {only_b[key]}")
    return out


def build(url: str, source: Path) -> None:
    """Apply *source* (a migrations directory, or one .sql file) to the database at *url*."""
    with connect(url, purpose="schema-catalog") as conn:
        if source.is_dir():
            migrate(conn, source)
        else:
            conn.execute(source.read_bytes())


def compare(admin_url: str, left: Path, right: Path) -> list[str]:
    """Build *left* and *right* in two fresh databases on the server at *admin_url*; diff them."""
    snaps = []
    for source in (left, right):
        name = _create_shaped_database(admin_url, "catalog")
        url = as_user(with_dbname(admin_url, name), PROJECT_ROLE)
        try:
            build(url, source)
            with connect(url, purpose="schema-catalog") as conn:
                snaps.append(snapshot(conn))
        finally:
            _drop_database(admin_url, name)
    return differences(snaps[0], snaps[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("left", type=Path, help="a migrations directory or one .sql file")
    parser.add_argument("right", type=Path, help="a migrations directory or one .sql file")
    parser.add_argument(
        "--admin-url", help="a superuser URL of a server to build on (default: an embedded one)"
    )
    args = parser.parse_args(argv)
    if args.admin_url:
        diff = compare(args.admin_url, args.left, args.right)
    else:
        from assignment_reminders.db.embedded import embedded_database_url, stop_embedded_database

        parent = Path(tempfile.mkdtemp(prefix="schema-catalog-"))
        try:
            admin = embedded_database_url(parent / "pgdata", keep_running=False)
            diff = compare(admin, args.left, args.right)
        finally:
            stop_embedded_database(parent / "pgdata")
            shutil.rmtree(parent, ignore_errors=True)
    for line in diff:
        print(line)
    print(f"{len(diff)} difference(s)", file=sys.stderr)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
