"""How the API benchmark reads its targets (benchmarks/activity_api.py): the p99 at the offered
rate is the target, the saturated p99 informs only, errors fail the target."""

from __future__ import annotations

from benchmarks.activity_api import ApiResult, Phases, api_targets, fell_behind
from benchmarks.http_load import Load
from benchmarks.targets import render


def load(
    ms: float, n: int = 100, seconds: float = 0.2, offered: float | None = None, errors: int = 0
) -> Load:
    return Load([ms] * n, seconds, offered, errors)


def result(at_rate: Load) -> ApiResult:
    return ApiResult(
        assignments=1000,
        phases=Phases(),
        health=load(0.5),
        sequential=load(2.0),
        health_at_rate=load(1.0, offered=500),
        at_rate=at_rate,
        health_concurrent=load(10.0, seconds=0.04),
        concurrent=load(60.0, seconds=0.15),  # 667/s: Little's law, 32 / 667 = 48 ms
    )


def by_name(r: ApiResult) -> dict[str, tuple[str, bool | None]]:
    return {t.what: (t.figure, t.met) for t in api_targets(r)}


def test_the_p99_target_is_read_at_the_offered_rate_and_the_saturated_p99_only_informs() -> None:
    targets = by_name(result(load(20.0, offered=500)))
    assert targets["api: 32 clients at 500 req/s offered, p99"] == ("20.0 ms", True)
    assert targets["api: 32 clients, throughput at saturation"] == ("667/s", True)
    assert targets["api: 32 clients, p99 at saturation (informs)"] == ("60.0 ms", None)
    table = render(api_targets(result(load(20.0, offered=500))))
    informs = next(line for line in table.splitlines() if "(informs)" in line)
    assert "Little: mean = 32 / 667/s = 48 ms" in informs
    assert informs.rstrip().endswith("-")  # neither yes nor NO


def test_errors_at_the_offered_rate_fail_the_target_however_fast() -> None:
    targets = by_name(result(load(5.0, offered=500, errors=3)))
    assert targets["api: 32 clients at 500 req/s offered, p99"] == ("5.0 ms, 3 errors", False)


def test_a_server_that_fell_behind_the_offered_rate_is_said_to() -> None:
    assert "fell behind at 500/s offered (452/s achieved)" in fell_behind(
        load(1, 452, 1, offered=500)
    )
    assert fell_behind(load(1, 499, 1, offered=500)) == ""
    assert fell_behind(load(1, 10, 1)) == ""  # a closed loop offers no rate
