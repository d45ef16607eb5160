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
    Text,
    json_option,
    now_option,
    setting_option,
)
from assignment_reminders.config import Settings
from assignment_reminders.exceptions import InputError
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


def walk(command: click.Command) -> list[click.Parameter]:
    params = list(command.params)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            params += walk(sub)
    return params


def test_a_blank_name_or_reason_is_a_usage_error() -> None:
    """``--by`` and ``--reason`` (incidents, maintenance, admin) refuse nothing but spaces
    while the arguments are read: one line naming the option, exit 2, no database opened."""
    with pytest.raises(click.BadParameter, match="must not be blank"):
        Text(max_length=10, blank=False).convert("  ", None, None)
    assert Text(max_length=10, blank=False).convert(" kari ", None, None) == " kari "
    assert Text().convert("", None, None) == ""
    named = [p for p in walk(cli) if p.name in ("by", "reason")]
    assert len(named) == 5  # ack, maintenance open and close, admin set-last-contact
    for param in named:
        assert isinstance(param.type, Text) and not param.type.blank, param


def test_a_window_in_the_past_is_refused_before_the_database_is_opened() -> None:
    """Opening it would fail here (tests/unit opens nothing): the refusal comes first."""
    settings = Settings.from_env({"DATABASE_URL": "postgresql://ops@db.example.org/app"})
    args = ["maintenance", "open", "--end", "2020-01-01T00:00:00Z", "--reason", "x", "--by", "o"]
    result = CliRunner().invoke(cli, args, obj=Context(settings=settings))
    assert isinstance(result.exception, InputError), result.exception
    assert str(result.exception) == "--end must be in the future"


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
