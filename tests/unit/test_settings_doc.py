"""Settings are declared once: the docs' table and ``--help`` are made from the declarations."""

from __future__ import annotations

import re

import click
from click.testing import CliRunner

from assignment_reminders.cli import cli
from assignment_reminders.cli.settings_doc import spliced, table
from assignment_reminders.config import SETTINGS, Settings
from tests.conftest import REPO


def test_the_table_in_the_docs_is_the_generated_one() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text()
    assert spliced(doc) == doc, "run: python -m assignment_reminders.cli.settings_doc --write"


def test_every_setting_has_a_row_and_help() -> None:
    rows = table().splitlines()[2:]
    assert len(rows) == len(SETTINGS) > 40
    assert all(s.help for s in SETTINGS.values())


def test_each_variable_is_declared_once() -> None:
    names = [name for s in SETTINGS.values() for name in (s.env, *s.aliases)]
    assert sorted(names) == sorted(set(names))


def test_option_defaults_and_help_come_from_the_declaration() -> None:
    serve = cli.commands["serve"]
    port = next(p for p in serve.params if p.name == "port")
    assert isinstance(port.type, click.IntRange)
    assert (port.type.min, port.type.max) == (1, 65535)
    help_text = " ".join(CliRunner().invoke(cli, ["serve", "--help"]).output.split())
    assert "[env: REMINDERS_HTTP_PORT; default: 8000]" in help_text
    assert SETTINGS["http.port"].help[1:] in help_text  # capitalized as a sentence
    assert Settings().http.port == SETTINGS["http.port"].default == 8000


def test_secret_settings_are_secret_in_the_docs() -> None:
    for s in SETTINGS.values():
        if s.kind.secret:
            assert "secret" in s.kind_label(), s.env


# A default written in prose: "`REMINDERS_X` (60)", "`REMINDERS_X` (default `service_role`)" or
# "`REMINDERS_X` (what it does, default 20000)"; words after "default" ("default: the user data
# dir") are prose, not a value, and are left alone.
PROSE_DEFAULT = re.compile(
    r"`(?P<env>[A-Z][A-Z0-9_]+)`,?\s*\((?:(?P<bare>\d[\d.]*)\)|[^()]*?\bdefault:?\s+"
    r"(?:`(?P<quoted>[^`]+)`|(?P<number>\d[\d.,]*\d|\d)\b))"
)


def prose_defaults() -> list[tuple[str, str, str]]:
    """(file, variable, the default the prose states) in the README and docs/, on one line each."""
    found = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        text = " ".join(page.read_text().split())
        for m in PROSE_DEFAULT.finditer(text):
            value = m["bare"] or m["quoted"] or m["number"]
            found.append((page.name, m["env"], value.replace(",", "")))
    return found


def test_every_default_the_prose_states_is_the_declared_one() -> None:
    by_env = {s.env: s for s in SETTINGS.values()}
    stated = [(page, env, value) for page, env, value in prose_defaults() if env in by_env]
    assert len(stated) >= 10, stated  # the pattern still finds what the pages say
    wrong = [
        f"{page}: {env} default {value}, declared {by_env[env].shown_default()}"
        for page, env, value in stated
        if value != by_env[env].shown_default()
    ]
    assert not wrong, wrong
