"""The first run and its floor, below ten million: measured in turns on fresh copies, the fastest
of each counting (benchmarks/run.py), so that one slow moment does not make the ratio."""

from __future__ import annotations

import pytest
from benchmarks import run as bench
from benchmarks.results import ProcessRun, in_run


class FakeDatabases:
    def __init__(self) -> None:
        self.live: set[str] = set()
        self.made = 0

    def create(self, template: str | None = None) -> str:
        self.made += 1
        self.live.add(f"db{self.made}")
        return f"db{self.made}"

    def name_of(self, url: str) -> str:
        return url

    def drop(self, url: str) -> None:
        self.live.discard(url)

    def drop_all(self) -> None:
        self.live.clear()


def measured(seconds: float) -> ProcessRun:
    return ProcessRun(
        seconds + 0.5,
        40.0,
        {
            "duration_ms": seconds * 1000,
            "counts": {"reminders_created": 3, "escalations_created": 1},
        },
    )


@pytest.mark.parametrize(("n", "turns"), [(1_000_000, 2), (10_000_000, 1)])
def test_the_floor_and_the_first_run_take_turns_and_the_fastest_of_each_counts(
    monkeypatch: pytest.MonkeyPatch, n: int, turns: int
) -> None:
    events: list[str] = []
    floors = iter([5.0, 4.0])
    firsts = iter([9.0, 12.0])
    dbs = FakeDatabases()

    def floor(url: str) -> tuple[float, int]:
        events.append(f"floor {url}")
        return next(floors), 4

    def run_measured(url: str, extra_env: object = None, now: object = bench.NOW) -> ProcessRun:
        first = events[-1].startswith("floor")  # a first run follows its floor
        events.append(f"{'run' if first else 'again'} {url}")
        return measured(next(firsts) if first else 1.0)

    monkeypatch.setattr(bench, "seeded_timed", lambda dbs, n: (dbs.create(), 1.0, 10.0))
    monkeypatch.setattr(bench, "floor", floor)
    monkeypatch.setattr(bench, "reminders_run_measured", run_measured)
    monkeypatch.setattr(bench, "a_day_later", lambda url: None)
    result = bench.bench_size(dbs, n, with_queue=False, naive_up_to=0)  # type: ignore[arg-type]
    assert [e.split()[0] for e in events] == ["floor", "run"] * turns + ["again", "again"]
    assert len({e.split()[1] for e in events if e.startswith("floor")}) == turns  # fresh copies
    last_first_run = events[-3].split()[1]
    assert [e.split()[1] for e in events[-2:]] == [last_first_run] * 2  # re-run, next day
    assert result.floor_s == (4.0 if turns == 2 else 5.0)
    assert in_run(result.run) == 9.0
    assert dbs.live == set()
