"""The pre-flight's reading of migration files: which objects their own statements create."""

from __future__ import annotations

from assignment_reminders.db.preflight import (
    ObjectKind,
    PlannedObject,
    created_objects,
    planned_objects,
)


def names(text: str) -> list[str]:
    return [str(o) for o in created_objects(text)]


def test_each_kind_with_its_schema_unqualified_names_in_public() -> None:
    text = """
        CREATE TABLE public.contacts (id bigint);
        create unlogged table Staging (id int);
        CREATE OR REPLACE VIEW reminders.due AS SELECT 1;
        CREATE MATERIALIZED VIEW IF NOT EXISTS reminders.totals AS SELECT 1;
        CREATE FUNCTION reminders.f(a bigint) RETURNS int LANGUAGE sql AS 'SELECT 1';
        CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$;
        CREATE TYPE reminders.status AS ENUM ('a');
        CREATE SEQUENCE public.numbers;
        CREATE UNIQUE INDEX contacts_key ON ONLY public.contacts (id);
        CREATE INDEX CONCURRENTLY IF NOT EXISTS due_idx ON reminders.due_rows (d);
        CREATE SCHEMA IF NOT EXISTS reminders AUTHORIZATION postgres;
    """
    assert names(text) == [
        "table public.contacts",
        "table public.staging",
        "view reminders.due",
        "materialized view reminders.totals",
        "function reminders.f",
        "procedure public.p",
        "type reminders.status",
        "sequence public.numbers",
        "index public.contacts_key",
        "index reminders.due_idx",
        "schema reminders",
    ]


def test_comments_strings_and_dollar_quoted_bodies_create_nothing() -> None:
    text = """
        -- CREATE TABLE public.in_a_comment (id int);
        /* CREATE TABLE public.in_a_block_comment (id int); */
        SELECT 'CREATE TABLE public.in_a_string (id int)', 'it''s CREATE VIEW x AS';
        DO $auth$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'auth') THEN
                CREATE SCHEMA auth;
                CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql AS $f$ SELECT NULL $f$;
            END IF;
        END $auth$;
        CREATE FUNCTION public.g() RETURNS int LANGUAGE sql AS $$ CREATE TABLE nope $$;
        CREATE TEMP TABLE scratch (id int);
        CREATE INDEX ON public.contacts (id);
    """
    assert names(text) == ["function public.g"]


def test_quoted_identifiers_keep_their_case() -> None:
    assert created_objects('CREATE TABLE "Host"."My ""Table""" (id int)') == [
        PlannedObject(ObjectKind.TABLE, "Host", 'My "Table"')
    ]


def test_what_applied_files_created_is_ours_and_each_object_is_planned_once() -> None:
    applied = ["CREATE TABLE public.organizations (id int); CREATE FUNCTION reminders.f() ..."]
    pending = [
        "CREATE OR REPLACE FUNCTION reminders.f() RETURNS int; CREATE TABLE public.contacts ();",
        "DROP TABLE public.contacts; CREATE TABLE public.contacts ();",
        "CREATE INDEX contacts ON public.organizations (id);",  # a relation name like the table's
    ]
    assert [str(o) for o in planned_objects(pending, applied)] == ["table public.contacts"]
