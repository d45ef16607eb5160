"""Tables, colour and figures for the terminal (no I/O): width, ellipsis, NO_COLOR, rounding."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import UUID

import pytest

from assignment_reminders.figures import rounded
from assignment_reminders.job.run_status import RunStatus
from assignment_reminders.job.trigger import RunOutcome
from assignment_reminders.monitoring.doctor import Check, render_checks
from assignment_reminders.monitoring.status import Status
from assignment_reminders.tables import render
from assignment_reminders.terminal import Terminal

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG = "holder_died: the run stopped without finishing (its lock was free when run 18 started) " * 3


def visible(text: str) -> list[str]:
    return ANSI.sub("", text).splitlines()


def run_row(i: int, status: str, note: str | None = None) -> dict[str, object]:
    return {
        "id": i,
        "status": status,
        "note": note,
        "started_at": datetime(2026, 11, 28, 6, 0, tzinfo=UTC),
        "duration_ms": 1234.5678,
        "lock_acquire_ms": 13.240977999998904,
        "due_rows_read": 2000,
        "reminders_created": 17,
        "escalations_created": 3,
        "duplicates_suppressed": 0,
        "holder_pid": None,
        "overlapped": None,
        "error": "LockLostError: " + "x" * 300 if status == "failed" else None,
    }


@pytest.mark.parametrize("width", [40, 80, 120])
def test_status_fits_the_width_and_cuts_long_text_with_an_ellipsis(width: int) -> None:
    status = Status(
        runs=[run_row(2, "success"), run_row(1, "failed", LONG)], holder=None, holder_since=None
    )
    lines = visible(status.render(width=width))
    assert max(map(len, lines)) <= width, "\n".join(lines)
    text = "\n".join(lines)
    assert "…" in text or "more column(s) in --json" in text
    assert any(line.lstrip().startswith("2  success") for line in lines)


def test_status_without_a_width_keeps_every_character() -> None:
    status = Status(runs=[run_row(1, "failed", LONG)], holder=None, holder_since=None)
    assert LONG in status.render()
    assert status.to_dict()["runs"][0]["note"] == LONG  # --json: the full text


def test_numbers_are_never_cut_and_columns_that_do_not_fit_are_left_out_and_counted() -> None:
    rows = [{"name": "n" * 50, "big": 123456789012, "other": "o" * 40}]
    table = render(rows, [("name", "name"), ("big", "big"), ("other", "other")], width=45)
    lines = table.splitlines()
    assert max(map(len, lines)) <= 45, table
    assert "123456789012" in table
    assert lines[-1] == "(1 more column(s) in --json)"


def test_status_words_are_coloured_only_when_asked_and_stay_aligned() -> None:
    rows = [{"status": "success", "n": 1}, {"status": "failed", "n": 22}]
    plain = render(rows, [("status", "status"), ("n", "n")])
    coloured = render(rows, [("status", "status"), ("n", "n")], colour=True)
    assert not ANSI.search(plain)
    assert "\x1b[32msuccess\x1b[0m" in coloured
    assert "\x1b[31m\x1b[1mfailed\x1b[0m" in coloured or "\x1b[31;1mfailed" in coloured
    assert visible(coloured) == plain.splitlines()


def test_doctor_fits_the_width_and_prints_each_fix_whole() -> None:
    fix = "REVOKE EXECUTE ON FUNCTION reminders.reminders_advisory_unlock(bigint) FROM PUBLIC"
    checks = [
        Check("database", "pass", "PostgreSQL 17.2 at " + "host/" * 40),
        Check("wrappers", "fail", "executable by PUBLIC " * 10, fix),
    ]
    text = render_checks(checks, width=80, colour=True)
    table, _, fixes = ANSI.sub("", text).partition("\n\n")
    assert max(map(len, table.splitlines())) <= 80, text
    assert " ".join(fixes.split()) == f"fix wrappers: {fix}"  # wrapped, whole
    assert max(map(len, fixes.splitlines())) <= 80
    assert "\x1b[" in text  # pass/fail coloured


@pytest.mark.parametrize(
    ("env", "tty", "colour"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"NO_COLOR": ""}, True, True),  # no-color.org: set *and* not empty
    ],
)
def test_colour_honours_no_color_force_color_and_a_pipe(
    env: dict[str, str], tty: bool, colour: bool
) -> None:
    assert Terminal.detect(FakeStream(tty), env).colour is colour


def test_width_is_columns_else_the_terminal_else_no_limit() -> None:
    assert Terminal.detect(FakeStream(False), {"COLUMNS": "72"}).width == 72
    assert Terminal.detect(FakeStream(False), {}).width is None  # a pipe: every character
    assert Terminal.detect(FakeStream(False), {"COLUMNS": "3"}).width == 20
    assert isinstance(Terminal.detect(FakeStream(True), {}).width, int)


def test_figures_are_rounded_to_two_decimals_in_the_run_outcome() -> None:
    outcome = RunOutcome(
        invocation_id=UUID(int=1),
        status=RunStatus.SUCCESS,
        run_id=7,
        lock_acquire_ms=13.240977999998904,
        duration_ms=1520.0049999,
    )
    data = outcome.to_dict()
    assert (data["lock_acquire_ms"], data["duration_ms"]) == (13.24, 1520.0)
    assert rounded({"a": [0.125001, 2], "b": "1.23456"}) == {"a": [0.13, 2], "b": "1.23456"}


class FakeStream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty
