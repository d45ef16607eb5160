"""Property-based: no option, argument or environment variable makes ``reminders`` crash.

For every parameter of every command, and for every environment variable the code reads,
hypothesis draws values (full unicode with lone surrogates and NUL, huge and negative numbers,
NaN and infinities, empty strings) and runs the command in-process through ``main``, the error
boundary. The exit code must be 0, 1 or 2 and nothing may print a traceback. The database is a
closed local port, so commands that get as far as connecting fail fast with one line; ``serve``
parses its schedule but neither listens nor starts threads (uvicorn and the background
scheduler are replaced, the only stand-ins here).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assignment_reminders.cli import cli, main
from assignment_reminders.db.database import Connection
from assignment_reminders.limits import REASON_MAX_LENGTH
from assignment_reminders.monitoring.cron import CronSchedule
from tests import factories
from tests.conftest import REPO

MAX_EXAMPLES = 12
CLOSED = "postgresql://nobody:pw@127.0.0.1:1/nowhere?connect_timeout=1"
BASE_ENV = {"DATABASE_URL": CLOSED, "REMINDERS_LOG_LEVEL": "ERROR"}

# Commands whose point is to start or stop the embedded server: they take no options to fuzz.
NOT_RUN = {("embedded", "url"), ("embedded", "stop")}
# Arguments that must be valid for the parameter under test to be reached.
BASELINE: dict[tuple[str, ...], list[str]] = {
    ("admin", "set-last-contact"): ["1", "2026-11-01", "--reason", "typo"],
    ("admin", "last-contact-history"): ["1"],
}

TEXT = st.text(
    st.characters(codec=None, exclude_categories=()),  # every code point, lone surrogates too
    max_size=40,
)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
EDGES = st.sampled_from(
    ["", " ", "nan", "NaN", "inf", "-inf", "-1", "0", "1e400", "9" * 5000, "\x00", "\udcff"]
)
VALUES = st.one_of(EDGES, NUMBERS, TEXT)


def _settable(value: str) -> bool:
    """What an environment can hold: no NUL, and bytes (undecodable ones as surrogates)."""
    try:
        os.fsencode(value)
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


ENV_VALUES = VALUES.filter(_settable)


def _commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        elif (*path, name) not in NOT_RUN:
            yield (*path, name), command


def _parameters() -> list[tuple[tuple[str, ...], str]]:
    found = [
        (path, param.name or "")
        for path, command in _commands(cli)
        for param in command.params
        if param.name != "help"
    ]
    found += [((), p.name or "") for p in cli.params if p.name in ("log_level", "log_format")]
    return found


def _env_names() -> list[str]:
    code = "".join(p.read_text() for p in sorted((REPO / "src").rglob("*.py")))
    return sorted(set(re.findall(r'"((?:REMINDERS|SUPABASE)_[A-Z_]+)"', code)) | {"DATABASE_URL"})


def _argv(path: tuple[str, ...], name: str, value: str) -> list[str]:
    if not path:  # a group option: before a command that reads only the settings
        option = next(p for p in cli.params if p.name == name)
        return [option.opts[0], value, "embedded", "status"]
    command = _lookup(path)
    param = next(p for p in command.params if p.name == name)
    baseline = BASELINE.get(path, [])
    if isinstance(param, click.Argument):
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        position = arguments.index(param)
        args = list(baseline) if baseline else ["x"] * len(arguments)
        args[position] = value
        return [*path, *args]
    assert isinstance(param, click.Option)
    if param.is_flag:
        return [*path, *baseline, param.opts[0]]
    return [*path, *baseline, param.opts[0], value]


def _lookup(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def invoke(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """``reminders *argv`` in this process, through the error boundary: exit code and output."""
    with CliRunner().isolation(env=env) as (out, err, _):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        text = out.getvalue().decode("utf-8", "replace") + err.getvalue().decode("utf-8", "replace")
    return code, text


@pytest.fixture(autouse=True)
def contained(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``serve`` neither listens nor starts threads, a ``worker`` with no channel does not idle
    until stopped; the root logger is put back afterwards."""
    import uvicorn

    from assignment_reminders.cli import delivery
    from assignment_reminders.monitoring import service

    class Stopped:
        def stop(self) -> None:
            return None

    def start_background(settings: Any, schedule: CronSchedule) -> Stopped:
        return Stopped()

    for name in list(os.environ):
        if name.startswith(("REMINDERS_", "SUPABASE_")):
            monkeypatch.delenv(name)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: _started(self))
    monkeypatch.setattr(delivery, "_idle", lambda stop: None)
    monkeypatch.setattr(service, "start_background", start_background)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _started(server: Any) -> None:
    """``serve``'s server, as if it had started and then been stopped."""
    server.started = True


def _assert_handled(argv: list[str], code: int, output: str) -> None:
    assert code in (0, 1, 2), (argv, code, output)
    assert "Traceback" not in output, (argv, output)


HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize(
    ("path", "name"), _parameters(), ids=[" ".join((*p, n)) for p, n in _parameters()]
)
def test_no_option_value_crashes_the_cli(path: tuple[str, ...], name: str) -> None:
    @given(value=VALUES)
    @HYPOTHESIS
    def check(value: str) -> None:
        argv = _argv(path, name, value)
        code, output = invoke(argv, BASE_ENV)
        _assert_handled(argv, code, output)

    check()


@pytest.mark.parametrize("name", _env_names())
def test_no_environment_value_crashes_the_cli(name: str) -> None:
    command = ["embedded", "status"]  # reads every setting, starts nothing

    @given(value=ENV_VALUES)
    @HYPOTHESIS
    def check(value: str) -> None:
        env = {**BASE_ENV, name: value}
        code, output = invoke(command, env)
        _assert_handled(command, code, output)

    check()


def test_the_property_reaches_every_command_and_variable() -> None:
    paths = {path for path, _ in _parameters()}
    assert ("serve",) in paths and ("run",) in paths and ("admin", "set-last-contact") in paths
    assert len(_env_names()) > 30


# With a real database: what the cases reach only once connected (issue 18, item 7).

REASONS = st.one_of(
    TEXT,
    EDGES,
    st.integers(min_value=REASON_MAX_LENGTH - 2, max_value=REASON_MAX_LENGTH + 2).flatmap(
        lambda n: st.sampled_from(["x", "é", " ", "\udcff", "\U0001f600"]).map(lambda c: c * n)
    ),
)


def _table(conn: Connection, sql: str) -> list[dict[str, Any]]:
    return conn.execute(sql).fetchall()


@given(reason=REASONS)
@settings(HYPOTHESIS, max_examples=40, suppress_health_check=list(HealthCheck))
def test_a_reason_is_stored_whole_or_refused_in_one_line(
    conn: Connection, database_url: str, reason: str
) -> None:
    """Any --reason: stored as given (trimmed), or one line naming --reason and nothing written."""
    assignment = factories.assignment(conn, starts_on=date(2026, 10, 1))
    before = _table(conn, "SELECT * FROM reminders.last_contact_corrections ORDER BY id")
    dates = _table(conn, "SELECT id, last_contact_date FROM assignments ORDER BY id")
    argv = ["admin", "set-last-contact", str(assignment), "2026-11-01", "--reason", reason]
    code, output = invoke(argv, {**BASE_ENV, "DATABASE_URL": database_url})
    _assert_handled(argv, code, output)
    after = _table(conn, "SELECT * FROM reminders.last_contact_corrections ORDER BY id")
    if code == 0:
        assert [r["reason"] for r in after[len(before) :]] == [reason.strip()]
        assert len(reason) <= REASON_MAX_LENGTH
        return
    assert len(output.strip().splitlines()) == 1, output
    assert "reason" in output, output  # "'--reason': ..." or "a reason is required"
    assert after == before
    assert _table(conn, "SELECT id, last_contact_date FROM assignments ORDER BY id") == dates


NEAR_HOURS = st.floats(min_value=-48, max_value=48)
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
)


@given(data=st.data())
@settings(HYPOTHESIS, max_examples=25, suppress_health_check=list(HealthCheck))
def test_a_run_far_from_the_database_clock_never_starts(
    conn: Connection, database_url: str, data: st.DataObject
) -> None:
    """Any --now: within 24 hours of the database's clock a run; further, either way, one line
    naming --now and its limit, exit 2, and no run row."""
    clock = _table(conn, "SELECT now() AS now")[0]["now"]
    near = NEAR_HOURS.map(lambda h: clock + timedelta(hours=h))
    moment = data.draw(st.one_of(near, MOMENTS), label="moment")
    before = _table(conn, "SELECT id FROM reminders.cron_execution_logs")
    argv = ["run", "--now", moment.isoformat()]
    code, output = invoke(argv, {**BASE_ENV, "DATABASE_URL": database_url})
    _assert_handled(argv, code, output)
    after = _table(conn, "SELECT id FROM reminders.cron_execution_logs")
    distance = abs(moment - clock)
    if code == 2:
        assert distance > timedelta(hours=24), (argv, output)
        [line] = output.strip().splitlines()
        assert "'--now'" in line and "24 hours" in line and "--allow-distant-now" in line
        assert after == before
    else:
        assert code == 0 and distance <= timedelta(hours=24, seconds=5), (argv, output)
        assert len(after) == len(before) + 1


def test_every_text_parameter_checks_its_text() -> None:
    """No command's parameter is click's plain STRING: each is Text (non-UTF-8, NUL refused)."""
    texts = [
        (path, p.name)
        for path, command in _commands(cli)
        for p in command.params
        if isinstance(p.type, click.types.StringParamType)
    ]
    assert texts == []
    assert ("admin", "set-last-contact") in {path for path, _ in _commands(cli)}
