"""The checks: pure functions of execution log rows, the current time and the thresholds.

Each returns the findings that hold *now*. A finding is identified by ``(kind, subject)``; the
alert state (:mod:`.alerts`) turns "a finding appeared" into one alert and "it went away" into one
recovery, however often the checks run and on however many replicas.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from ..config import ScheduleSettings, Settings
from ..figures import duration, moment
from ..job.run_row import RunRow
from ..job.run_status import RunStatus
from ..locking.holder import held_by

if TYPE_CHECKING:
    from .cron import CronSchedule


Row = RunRow

OVERRUN: Final = "overrun"
MISSED_RUN: Final = "missed_run"
STUCK_LOCK: Final = "stuck_lock"
FAILURE: Final = "failure"
UNLOCK_FAILED: Final = "unlock_failed"
OVERLAPPING_RUNS: Final = "overlapping_runs"
ALL_KINDS: Final = (OVERRUN, MISSED_RUN, STUCK_LOCK, FAILURE, UNLOCK_FAILED, OVERLAPPING_RUNS)


@dataclass(frozen=True)
class Thresholds:
    """The limits the checks judge by. A run is missed when the schedule's next fire time after
    the last success (one period later) plus *missed_grace* has passed without a success, or,
    when *missed_after* is set (``REMINDERS_MISSED_AFTER_SECONDS``), that long after it."""

    overrun_after: timedelta = timedelta(minutes=30)
    missed_after: timedelta | None = None
    missed_grace: timedelta = timedelta(minutes=30)
    stuck_after_skips: int = 3
    schedule_settings: ScheduleSettings = field(default_factory=ScheduleSettings)

    @functools.cached_property
    def schedule(self) -> CronSchedule:
        """Parsed when a check needs it (cronsim: not imported by a run that does not)."""
        from .cron import CronSchedule

        s = self.schedule_settings
        return CronSchedule.parse(s.expression, s.time_zone)

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        m = settings.monitoring
        return cls(
            overrun_after=timedelta(seconds=m.overrun_after_seconds),
            missed_after=(
                timedelta(seconds=m.missed_after_seconds) if m.missed_after_seconds else None
            ),
            missed_grace=timedelta(seconds=m.missed_grace_seconds),
            stuck_after_skips=m.stuck_after_skips,
            schedule_settings=settings.schedule,
        )

    def expected_after(self, since: datetime) -> datetime | None:
        """The start the schedule expected next after *since* (None with a fixed limit)."""
        return None if self.missed_after is not None else self.schedule.next_after(since)

    def missed_deadline(self, since: datetime) -> datetime:
        """When no success since *since* becomes a missed run."""
        if self.missed_after is not None:
            return since + self.missed_after
        return self.schedule.next_after(since) + self.missed_grace

    def missed_count(self, since: datetime, now: datetime) -> int:
        """How many expected starts after *since* are past their grace by *now* (0 with a
        fixed limit: then one miss is all it knows)."""
        if self.missed_after is not None:
            return 1 if now > since + self.missed_after else 0
        count, fire = 0, self.schedule.next_after(since)
        while count < 2 and now > fire + self.missed_grace:
            count += 1
            fire = self.schedule.next_after(fire)
        return count


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """What the checks read from ``cron_execution_logs`` for one job."""

    job_name: str
    recent: Sequence[Row]  # newest first; 'running' rows included
    running: Sequence[Row]  # every row still 'running', however old
    last_success_at: datetime | None  # finished_at of the newest 'success'
    first_started_at: datetime | None  # the oldest row kept: when monitoring had data from


def _iso(at: datetime | None) -> str | None:
    """A moment of a finding's details: every digit, for machines (its message says it to the
    second: figures.moment)."""
    return None if at is None else at.isoformat()


def check_overrun(running: Sequence[Row], now: datetime, t: Thresholds) -> list[Finding]:
    """A run still 'running' longer than the threshold; one finding per run."""
    findings = []
    for row in running:
        age = now - row.started_at
        if age > t.overrun_after:
            findings.append(
                Finding(
                    OVERRUN,
                    f"run:{row.id}",
                    f"run {row.id} has been running for {duration(age)}"
                    f" (limit {duration(t.overrun_after)})"
                    f" on {row.host} pid {row.pid}",
                    {
                        "run_id": row.id,
                        "started_at": row.started_at.isoformat(),
                        "running_seconds": round(age.total_seconds()),
                        "host": row.host,
                        "pid": row.pid,
                    },
                )
            )
    return findings


def check_missed_run(s: Snapshot, now: datetime, t: Thresholds) -> list[Finding]:
    """No 'success' by the schedule's next expected start after the last one plus the grace
    (or within the fixed limit): measured from the last success, or from the oldest row when
    there never was one; no rows at all means nothing to judge yet."""
    since = s.last_success_at or s.first_started_at
    if since is None or now <= t.missed_deadline(since):
        return []
    what = "the last successful run finished" if s.last_success_at else "the job first ran"
    expected = t.expected_after(since)
    limit = (
        f"expected at {moment(expected)}, grace {duration(t.missed_grace)}"
        if expected is not None
        else f"limit {duration(t.missed_after or timedelta())}"
    )
    return [
        Finding(
            MISSED_RUN,
            s.job_name,
            f"no successful run of {s.job_name} for {duration(now - since)}:"
            f" {what} at {moment(since)} ({limit})",
            {
                "last_success_at": _iso(s.last_success_at),
                "expected_at": _iso(expected),
                "missed": t.missed_count(since, now),
            },
        )
    ]


def overlapped_own_run(skip: Row, recent: Sequence[Row], t: Thresholds) -> bool:
    """A skip that is no sign of a stuck lock: the holder was gone by the time it was looked up,
    or it was a run of ours working normally at that moment (replicas firing at the same instant).
    A run of ours that had been going longer than the overrun limit does count as stuck."""
    if skip.holder_pid is None:
        return True
    at = skip.started_at
    return any(
        r.status != RunStatus.SKIPPED
        and r.lock_backend_pid == skip.holder_pid
        and r.started_at <= at <= r.started_at + t.overrun_after
        and (r.finished_at is None or r.finished_at >= at)
        for r in recent
    )


def check_stuck_lock(s: Snapshot, t: Thresholds) -> list[Finding]:
    """The newest N runs were all skipped because something held the lock (other than a run of
    ours working normally at that moment): name who held it."""
    relevant = [
        r
        for r in s.recent
        if r.status != RunStatus.SKIPPED or not overlapped_own_run(r, s.recent, t)
    ]
    newest = relevant[: t.stuck_after_skips]
    if len(newest) < t.stuck_after_skips or any(r.status != RunStatus.SKIPPED for r in newest):
        return []
    last = newest[0]
    holder = held_by(
        last.holder_pid, last.holder_application_name, last.holder_client_addr, last.holder_since
    )
    return [
        Finding(
            STUCK_LOCK,
            s.job_name,
            f"the last {len(newest)} runs of {s.job_name} were skipped:"
            f" the lock is held by {holder}",
            {
                "skipped_run_ids": [r.id for r in newest],
                "holder_pid": last.holder_pid,
                "holder_application_name": last.holder_application_name,
                "holder_client_addr": last.holder_client_addr,
                "holder_since": _iso(last.holder_since),
            },
        )
    ]


def check_failure(s: Snapshot) -> list[Finding]:
    """The newest finished run that did work ('success' or 'failed') failed."""
    for row in s.recent:
        if row.status == RunStatus.SUCCESS:
            return []
        if row.status == RunStatus.FAILED:
            return [
                Finding(
                    FAILURE,
                    s.job_name,
                    f"run {row.id} of {s.job_name} failed: {row.error or row.note}",
                    {"run_id": row.id, "error": row.error, "note": row.note},
                )
            ]
    return []


def failure_finding(job_name: str, row: Row) -> Finding:
    """The incident of one failed run that a later run's success cleared before a check saw it
    (opened and resolved at once, subject ``run:<id>``)."""
    return Finding(
        FAILURE,
        f"run:{row.id}",
        f"run {row.id} of {job_name} failed: {row.error or row.note}"
        " (a later run succeeded before this check)",
        {"run_id": row.id, "error": row.error, "note": row.note},
    )


@dataclass(frozen=True)
class FailedRuns:
    """The failed runs of a snapshot that monitoring has not announced yet."""

    covered: list[int]  # newer than the newest success: the open `failure` incident covers them
    recovered: list[Finding]  # a success followed them: each its own incident, opened and resolved


def unannounced_failures(s: Snapshot) -> FailedRuns:
    covered: list[int] = []
    recovered: list[Finding] = []
    succeeded = False
    for row in s.recent:  # newest first
        if row.status == RunStatus.SUCCESS:
            succeeded = True
        elif row.status == RunStatus.FAILED and row.failure_announced_at is None:
            if succeeded:
                recovered.append(failure_finding(s.job_name, row))
            else:
                covered.append(row.id)
    return FailedRuns(covered, recovered)


def check_unlock_failed(s: Snapshot) -> list[Finding]:
    """The newest run that released the lock found it was no longer its own."""
    for row in s.recent:
        if row.unlock_ok is None:
            continue
        if row.unlock_ok:
            return []
        return [
            Finding(
                UNLOCK_FAILED,
                s.job_name,
                f"run {row.id} of {s.job_name}: pg_advisory_unlock returned false,"
                " the run did not hold its lock at the end (pooler or lost connection?)",
                {"run_id": row.id, "note": row.note},
            )
        ]
    return []


def working_interval(row: Row, now: datetime) -> tuple[datetime, datetime]:
    """When a run that took the lock worked: from the lock (start + acquire time) to its finish
    (recorded before the release), or until *now* while it is still 'running'."""
    start = row.started_at + timedelta(milliseconds=float(row.lock_acquire_ms or 0))
    end = row.finished_at or now
    return start, end


def overlapping_pairs(rows: Sequence[Row], now: datetime) -> list[tuple[Row, Row]]:
    """Every pair of non-skipped runs that overlapped, earlier run first: their working
    intervals overlap, or the database recorded that one run's batch committed after the other
    began to write (``overlapped_with``: a batch in flight when its run lost the lock, which the
    next winner's first write waited for; its row's times do not show it).

    Single flight means none: a run finishes its row before it releases the lock and the next
    one starts working only after taking it. A pair here is a double run (or hosts whose clocks
    disagree by more than the gap between two runs: `reminders doctor` checks clock skew)."""
    worked = sorted(
        (r for r in rows if r.status != RunStatus.SKIPPED),
        key=lambda r: (working_interval(r, now)[0], r.id),
    )
    order = {r.id: i for i, r in enumerate(worked)}
    found: set[tuple[int, int]] = set()
    for i, a in enumerate(worked):
        a_end = working_interval(a, now)[1]
        for j, b in enumerate(worked[i + 1 :], start=i + 1):
            if working_interval(b, now)[0] >= a_end:
                break  # sorted by start: every later run starts later still
            found.add((i, j))
        for other in a.overlapped_with or ():
            k = order.get(other)
            if k is not None and k != i:
                found.add((min(i, k), max(i, k)))
    return [(worked[i], worked[j]) for i, j in sorted(found)]


def overlapping_run_ids(rows: Sequence[Row], now: datetime) -> dict[int, list[int]]:
    """For each run in an overlapping pair, the ids of the runs it overlapped."""
    ids: dict[int, list[int]] = {}
    for a, b in overlapping_pairs(rows, now):
        ids.setdefault(a.id, []).append(b.id)
        ids.setdefault(b.id, []).append(a.id)
    return ids


def _recorded(a: Row, b: Row) -> str:
    if b.id in (a.overlapped_with or ()) or a.id in (b.overlapped_with or ()):
        return " (a batch of one committed after the other began to write)"
    return ""


def check_overlapping_runs(s: Snapshot, now: datetime) -> list[Finding]:
    """Two runs of the job that took the lock worked at the same time: one finding per pair
    (an incident, alerted once, naming both runs)."""
    findings = []
    for a, b in overlapping_pairs(s.recent, now):
        findings.append(
            Finding(
                OVERLAPPING_RUNS,
                f"runs:{a.id}+{b.id}",
                f"runs {a.id} ({a.status}, {a.host} pid {a.pid}) and"
                f" {b.id} ({b.status}, {b.host} pid {b.pid}) of"
                f" {s.job_name} overlapped: the job ran twice at once"
                f"{_recorded(a, b)}",
                {
                    "run_ids": [a.id, b.id],
                    "statuses": [a.status, b.status],
                    "started_at": [a.started_at.isoformat(), b.started_at.isoformat()],
                    "finished_at": [_iso(a.finished_at), _iso(b.finished_at)],
                },
            )
        )
    return findings


def evaluate(
    s: Snapshot, now: datetime, t: Thresholds, kinds: Sequence[str] = ALL_KINDS
) -> list[Finding]:
    """Every check (or those of *kinds*) over one snapshot."""
    checks: dict[str, Callable[[], list[Finding]]] = {
        OVERRUN: lambda: check_overrun(s.running, now, t),
        MISSED_RUN: lambda: check_missed_run(s, now, t),
        STUCK_LOCK: lambda: check_stuck_lock(s, t),
        FAILURE: lambda: check_failure(s),
        UNLOCK_FAILED: lambda: check_unlock_failed(s),
        OVERLAPPING_RUNS: lambda: check_overlapping_runs(s, now),
    }
    return [f for kind, check in checks.items() if kind in kinds for f in check()]
