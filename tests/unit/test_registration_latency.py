"""The registration-latency benchmark's pure parts (benchmarks/registration_latency.py): the
run's window and the p99 target."""

from __future__ import annotations

from benchmarks.registration_latency import (
    Latency,
    Window,
    in_run_window,
    latency_targets,
)

BEFORE = Window("before", [2.0] * 100, [2.0] * 100, 0, 10)


def during(ms: list[float], errors: int = 0, seconds: float = 5) -> Latency:
    return Latency(1000, 2, 20, BEFORE, Window("during", ms, ms, errors, seconds), {})


def test_the_run_window_is_its_own_duration_back_from_its_exit() -> None:
    assert in_run_window(100.0, 2500) == (97.5, 100.0)


def test_the_target_is_the_p99_during_the_run() -> None:
    assert latency_targets(during([5.0] * 99 + [400.0]))[0].met  # one slow in 100 is not the p99
    assert not latency_targets(during([5.0] * 98 + [400.0] * 2))[0].met


def test_errors_or_no_request_during_the_run_fail_the_target() -> None:
    assert not latency_targets(during([5.0] * 100, errors=1))[0].met
    assert not latency_targets(during([], seconds=0.01))[0].met


def test_the_service_p99_is_printed_to_inform_not_as_a_target() -> None:
    informs = latency_targets(during([5.0] * 100))[1]
    assert informs.met is None and informs.figure == "5.0 ms"
