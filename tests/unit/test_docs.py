"""The docs keep up with the code: every CLI command is documented."""

from __future__ import annotations

import re

import click

from assignment_reminders.cli import cli
from tests.conftest import REPO


def command_paths(group: click.Group, prefix: str = "reminders") -> list[str]:
    paths = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
        else:
            paths.append(path)
    return paths


def test_every_cli_command_is_named_in_readme_or_docs() -> None:
    text = (REPO / "README.md").read_text() + "".join(
        p.read_text() for p in sorted((REPO / "docs").rglob("*.md"))
    )
    missing = [path for path in command_paths(cli) if path not in text]
    assert missing == []


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    code = "".join(p.read_text() for p in sorted((REPO / "src").rglob("*.py")))
    names = set(re.findall(r'"((?:REMINDERS|SUPABASE)_[A-Z_]+)"', code)) | {"DATABASE_URL"}
    assert len(names) > 30
    docs = (REPO / "README.md").read_text() + "".join(
        p.read_text() for p in sorted((REPO / "docs").rglob("*.md"))
    )
    assert sorted(n for n in names if n not in docs) == []


def test_every_command_has_help() -> None:
    for name, command in cli.commands.items():
        assert command.help, f"reminders {name} has no help text"
