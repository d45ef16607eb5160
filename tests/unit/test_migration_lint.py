"""The migration lint catches each thing a Supabase non-superuser cannot do (one test per rule)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assignment_reminders.db.migration_lint import lint_text, main


def rules(text: str) -> list[str]:
    return [f.rule for f in lint_text(text)]


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE public.t SET SCHEMA reminders;\n",
        "ALTER FUNCTION public.f(bigint) SET SCHEMA reminders;\n",
        "ALTER TABLE IF EXISTS public.t\n    SET SCHEMA reminders;\n",
        "DO $$\nBEGIN\n    ALTER VIEW public.v SET SCHEMA reminders;\nEND\n$$;\n",
    ],
)
def test_set_schema_of_anything_but_an_extension_is_refused(statement: str) -> None:
    assert rules(statement) == ["set-schema"]


def test_an_extension_may_move_and_a_comment_or_string_is_not_sql() -> None:
    assert rules("ALTER EXTENSION pg_net SET SCHEMA extensions;\n") == []
    assert rules("-- ALTER TABLE t SET SCHEMA x;\nSELECT 'ALTER TABLE t SET SCHEMA x';\n") == []


def test_owner_to_a_role_the_migrating_role_cannot_become_is_refused() -> None:
    assert rules("ALTER TABLE public.t OWNER TO supabase_admin;\n") == ["owner-to"]
    assert rules('ALTER FUNCTION f() OWNER TO "postgres";\n') == []
    assert rules("ALTER SCHEMA s OWNER TO CURRENT_USER;\n") == []


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER SYSTEM SET work_mem = '1GB';\n",
        "SET session_replication_role = replica;\n",
        "SELECT set_config('session_replication_role', 'replica', true);\n",
        "CREATE LANGUAGE plpython3u;\n",
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS $$ return 1 $$;\n",
        "COPY public.t FROM PROGRAM 'curl x';\n",
        "COPY public.t TO '/tmp/out.csv';\n",
        "ALTER ROLE someone SUPERUSER;\n",
        "CREATE EVENT TRIGGER e ON ddl_command_end EXECUTE FUNCTION f();\n",
        "LOAD 'auto_explain';\n",
    ],
)
def test_superuser_only_statements_are_refused(statement: str) -> None:
    assert rules(statement) == ["superuser-only"]


def test_create_extension_outside_extensions_is_refused() -> None:
    assert rules("CREATE EXTENSION pg_net;\n") == ["extension-schema"]
    assert rules("CREATE EXTENSION IF NOT EXISTS pg_net WITH SCHEMA public;\n") == [
        "extension-schema"
    ]
    assert rules("CREATE EXTENSION IF NOT EXISTS pg_net WITH SCHEMA extensions;\n") == []


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 1;\n\nSELECT 2;\n",  # a blank line after a ';' is lost by fetch
        "SELECT 1;\nSELECT 2;",  # no newline after the last statement
        "SELECT 1; SELECT 2;\n",  # two statements on one line
        "SELECT E'it\\'s';\n",  # the CLI does not know backslash escapes
        "/* outer /* inner */ still */\nSELECT 1;\n",  # nor nested comments
    ],
)
def test_a_file_the_cli_would_not_give_back_unchanged_is_refused(text: str) -> None:
    assert "cli-round-trip" in rules(text)


def test_a_file_in_the_clis_own_form_passes() -> None:
    text = "-- a comment; with a semicolon\nCREATE TABLE t (a text DEFAULT 'x;y');\n" + (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\nSELECT 1;\n\nSELECT 2;\n$$;\n"
    )
    assert rules(text) == []


def test_findings_name_the_file_and_line_and_fail_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "29990101000000_bad.sql").write_text("SELECT 1;\nALTER TABLE t SET SCHEMA x;\n")
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        f"{tmp_path / '29990101000000_bad.sql'}:2: set-schema: ALTER TABLE ... SET SCHEMA:"
        " supautils before v2.6.0 ignores it for a non-superuser; create the object in its"
        " final schema"
    ]


def test_a_version_that_is_not_a_timestamp_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "20261130002160_due_index_bulk_dispatch.sql").write_text("SELECT 1;\n")
    (tmp_path / "20261130235959_fine.sql").write_text("SELECT 1;\n")
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        f"{tmp_path / '20261130002160_due_index_bulk_dispatch.sql'}:1: version: 20261130002160"
        " is not a timestamp YYYYMMDDHHMMSS"
    ]


def test_the_shipped_migrations_pass() -> None:
    assert main([]) == 0


def test_the_summary_counts_in_the_right_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "20261130235959_fine.sql").write_text("SELECT 1;\n")
    assert main([str(tmp_path)]) == 0
    assert capsys.readouterr().err.strip() == "migration lint: 1 file, 0 findings"
