"""The CLI package: explicit registration, no import cycles, options defaulting to settings."""

from __future__ import annotations

import ast
from datetime import datetime

import click
import pytest
from click.testing import CliRunner

from assignment_reminders.cli import COMMANDS, cli
from assignment_reminders.cli.options import (
    Context,
    json_option,
    now_option,
    setting_option,
)
from assignment_reminders.config import Settings
from tests.conftest import REPO

CLI_DIR = REPO / "src" / "assignment_reminders" / "cli"


def test_every_command_is_registered_once_explicitly() -> None:
    assert sorted(cli.commands) == sorted(c.name for c in COMMANDS if c.name)


def test_command_modules_import_only_the_shared_options() -> None:
    for path in sorted(CLI_DIR.glob("*.py")):
        if path.name in ("__init__.py", "options.py", "progress.py"):  # shared, not commands
            continue
        tree = ast.parse(path.read_text())
        siblings = [
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1
        ]
        assert set(siblings) <= {"options", "progress"}, (path.name, siblings)


def probe() -> click.Command:
    @click.command()
    @setting_option("--port", path="http.port")
    @json_option()
    @now_option("As of.")
    def command(port: int, as_json: bool, now: datetime | None) -> None:
        click.echo(f"{port} {as_json} {now.isoformat() if now else None}")

    return command


def test_an_option_not_given_takes_the_setting_read_from_the_environment() -> None:
    runner = CliRunner()
    settings = Settings.from_env({"REMINDERS_HTTP_PORT": "9123"})
    result = runner.invoke(probe(), [], obj=Context(settings=settings))
    assert result.output == "9123 False None\n"
    result = runner.invoke(
        probe(), ["--port", "1", "--json", "--now", "2026-11-28T06:00:00Z"], obj=Context()
    )
    assert result.output == "1 True 2026-11-28T06:00:00+00:00\n"


def test_a_naive_now_is_a_usage_error() -> None:
    result = CliRunner().invoke(probe(), ["--now", "2026-11-28T06:00:00"], obj=Context())
    assert result.exit_code == 2
    assert "needs a UTC offset" in result.output


def test_help_names_the_variable_and_the_settings_default() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"], env={"REMINDERS_HTTP_PORT": "x"})
    assert result.exit_code == 0
    assert "REMINDERS_HTTP_PORT; default: 8000" in " ".join(result.output.split())


def test_a_renamed_option_or_variable_is_one_line_naming_the_new_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assignment_reminders.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--no-scheduler", "--host", "192.0.2.1"])  # never serves
    assert exited.value.code == 2
    assert "--no-scheduler was renamed --no-builtin-cron" in capsys.readouterr().err
    monkeypatch.setenv("REMINDERS_SCHEDULER", "off")
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--host", "192.0.2.1"])
    assert exited.value.code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: REMINDERS_SCHEDULER was renamed REMINDERS_BUILTIN_CRON"
    ]


def test_every_visible_option_says_what_it_does() -> None:
    """``--help`` explains each option it lists (hidden ones, kept to refuse old names, aside)."""

    def silent(cmd: click.Command, path: str) -> list[str]:
        if isinstance(cmd, click.Group):
            return [s for name, c in cmd.commands.items() for s in silent(c, f"{path} {name}")]
        return [
            f"{path} {p.opts[0]}"
            for p in cmd.params
            if isinstance(p, click.Option) and not p.hidden and not p.help
        ]

    assert silent(cli, "reminders") == []
