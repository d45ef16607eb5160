"""What the benchmark measures for one N: the figures the tables and the targets print."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessRun:
    wall_s: float
    peak_rss_mb: float
    outcome: dict[str, object]


@dataclass(frozen=True)
class SizeResult:
    n: int
    created: int
    floor_s: float
    run: ProcessRun
    rerun: ProcessRun
    next_day: ProcessRun
    queued: ProcessRun | None
    seed_s: float
    disk_mb: float
    naive_s: float | None = None

    @property
    def run_in_process_s(self) -> float:
        return in_run(self.run)


def in_run(run: ProcessRun) -> float:
    """The run's own ``duration_ms`` (from the lock to the end), in seconds."""
    return float(run.outcome["duration_ms"]) / 1000  # type: ignore[arg-type]


def created_by(run: ProcessRun) -> int:
    counts = run.outcome["counts"]
    assert isinstance(counts, dict)
    return int(counts["reminders_created"]) + int(counts["escalations_created"])
