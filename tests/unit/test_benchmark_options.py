"""The benchmarks' command lines refuse a bad number at once (exit 2, argparse's one error line),
before seeding anything: a size of 0 or a request count of -3 used to fail minutes later with a
traceback."""

from __future__ import annotations

import argparse
import importlib
import math
from collections.abc import Callable
from typing import TypeVar

import pytest
from benchmarks import options
from hypothesis import given
from hypothesis import strategies as st

T = TypeVar("T")

BAD = {
    "benchmarks.run": [
        ["--sizes", "0"],
        ["--sizes", "10,x"],
        ["--sizes", ","],
        ["--api-requests", "0"],
        ["--api-rate-requests", "-3"],
        ["--api-assignments", "-1"],
        ["--delivery-messages", "lots"],
        ["--race-seconds", "-1"],
        ["--race-assignments", "0"],
        ["--write-tax-assignments", "-1"],
        ["--write-tax-rows", "0"],
        ["--write-tax-repeats", "0"],
        ["--latency-assignments", "1e6"],
    ],
    "benchmarks.race": [["--seconds", "0"], ["--assignments", "0"], ["--writers", "0"]],
    "benchmarks.activity_api": [
        ["--requests", "0"],
        ["--rate-requests", "0"],
        ["--clients", "0"],
        ["--rate", "nan"],
        ["--rate", "0"],
        ["--assignments", "1e3"],
    ],
    "benchmarks.seed_phases": [["--assignments", "0"]],
    "benchmarks.write_tax": [
        ["--assignments", "0"],
        ["--rows", "-5"],
        ["--singles", "many"],
        ["--repeats", "0"],
    ],
    "benchmarks.registration_latency": [
        ["--assignments", "0"],
        ["--writers", "0"],
        ["--rate", "nan"],
        ["--rate", "-1"],
        ["--before-seconds", "0"],
    ],
    "benchmarks.delivery": [["--messages", "0"]],
    "benchmarks.rls": [["--iterations", "-1"]],
    "benchmarks.lock_scopes": [
        ["--heartbeat", "nan"],
        ["--heartbeat", "-1"],
        ["--idle-timeout", "0"],
    ],
}


@pytest.mark.parametrize(
    ("module", "argv"),
    [(m, a) for m, cases in BAD.items() for a in cases],
    ids=[f"{m}:{' '.join(a)}" for m, cases in BAD.items() for a in cases],
)
def test_a_bad_number_is_refused_before_any_work(
    module: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and argv[0] in errors[0], errors


def parsed(parse: Callable[[str], T], text: str) -> tuple[T | None, str | None]:
    """What *parse* made of *text*, or its refusal's message."""
    try:
        return parse(text), None
    except argparse.ArgumentTypeError as refused:
        return None, str(refused)


@given(st.text(max_size=12))
def test_a_count_is_a_whole_number_at_least_its_minimum_or_a_clear_refusal(text: str) -> None:
    value, refusal = parsed(options.positive, text)
    if value is None:
        assert refusal  # says what was wrong
    else:
        assert value >= 1 and value == int(text)


@given(st.text(max_size=12) | st.floats().map(str))
def test_a_rate_is_finite_and_above_zero_or_a_clear_refusal(text: str) -> None:
    value, refusal = parsed(options.rate, text)
    if value is None:
        assert refusal
    else:
        assert math.isfinite(value) and value > 0
