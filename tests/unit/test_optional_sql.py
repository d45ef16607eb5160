"""`reminders optional-sql` lists and prints the optional SQL files; a wrong name is exit 2."""

from __future__ import annotations

from click.testing import CliRunner

from assignment_reminders.cli import cli
from tests.conftest import REPO


def test_lists_and_prints_the_optional_files() -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["optional-sql"])
    assert listed.exit_code == 0
    assert "pg_cron_schedule" in listed.output.split()
    printed = runner.invoke(cli, ["optional-sql", "pg_cron_schedule.sql"])
    assert printed.exit_code == 0
    assert printed.output == (REPO / "supabase/optional/pg_cron_schedule.sql").read_text()


def test_an_unknown_name_is_a_usage_error_naming_the_choices() -> None:
    result = CliRunner().invoke(cli, ["optional-sql", "nope"])
    assert result.exit_code == 2
    assert "pg_cron_schedule" in result.output
