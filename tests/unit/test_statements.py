"""A migration split as the Supabase CLI splits it (the integration tests compare with the CLI)."""

from __future__ import annotations

from assignment_reminders.db.statements import fetch_form, split

# The CLI's own answer for this file (supabase 2.117.0 `db push`, read back from
# supabase_migrations.schema_migrations.statements); tests/integration/test_supabase_cli_history.py
# asks the CLI again.
HARD_CASES = (
    "-- a comment; with a semicolon and an apostrophe's\n"
    "CREATE TABLE public.hard_t1 (a text DEFAULT 'x;y', \"b;c\" int);\n"
    "\n"
    "/* block; comment's; */\n"
    "INSERT INTO public.hard_t1 (a) VALUES ('it''s; fine');\n"
    "CREATE FUNCTION public.hard_f1() RETURNS int LANGUAGE plpgsql"
    " AS $body$ BEGIN RETURN 1; END $body$;\n"
    "CREATE FUNCTION public.hard_f2(int) RETURNS int LANGUAGE sql AS $$ SELECT $1 + 1; $$;\n"
    ";;\n"
    "   SELECT 1   ;\n"
    "\tSELECT 'tab;bed'\n"
    "\t;\n"
    "SELECT 'no semicolon at the end'\n"
)
CLI_STATEMENTS = [
    "-- a comment; with a semicolon and an apostrophe's\n"
    "CREATE TABLE public.hard_t1 (a text DEFAULT 'x;y', \"b;c\" int)",
    "/* block; comment's; */\nINSERT INTO public.hard_t1 (a) VALUES ('it''s; fine')",
    "CREATE FUNCTION public.hard_f1() RETURNS int LANGUAGE plpgsql"
    " AS $body$ BEGIN RETURN 1; END $body$",
    "CREATE FUNCTION public.hard_f2(int) RETURNS int LANGUAGE sql AS $$ SELECT $1 + 1; $$",
    "SELECT 1",
    "SELECT 'tab;bed'",
    "SELECT 'no semicolon at the end'",
]


def test_split_is_the_clis_split_on_hard_cases() -> None:
    assert split(HARD_CASES) == CLI_STATEMENTS


def test_fetch_form_is_each_statement_with_its_semicolon_and_a_newline() -> None:
    assert fetch_form(["SELECT 1", "-- x\nSELECT 2"]) == "SELECT 1;\n-- x\nSELECT 2;\n"
    assert fetch_form(split(fetch_form(CLI_STATEMENTS))) == fetch_form(CLI_STATEMENTS)


def test_dollar_signs_that_open_no_quote_do_not_hide_a_semicolon() -> None:
    assert split("SELECT $1, a$b FROM t; SELECT 2") == ["SELECT $1, a$b FROM t", "SELECT 2"]
