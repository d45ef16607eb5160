"""The monitoring checks as pure functions of (rows, now, thresholds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from assignment_reminders.config import MonitoringSettings, Settings
from assignment_reminders.job.run_row import RunRow
from assignment_reminders.monitoring.checks import (
    FAILURE,
    MISSED_RUN,
    OVERLAPPING_RUNS,
    OVERRUN,
    STUCK_LOCK,
    UNLOCK_FAILED,
    Snapshot,
    Thresholds,
    check_failure,
    check_missed_run,
    check_overlapping_runs,
    check_overrun,
    check_stuck_lock,
    check_unlock_failed,
    evaluate,
)

T0 = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
T = Thresholds()


def row(i: int, status: str, **extra: Any) -> RunRow:
    return RunRow(**{"id": i, "status": status, "started_at": T0, "host": "h", "pid": 1, **extra})


def snap(recent: list[RunRow], **kw: Any) -> Snapshot:
    return Snapshot(
        job_name="job",
        recent=recent,
        running=[r for r in recent if r.status == "running"],
        last_success_at=kw.get("last_success_at"),
        first_started_at=kw.get("first_started_at", T0),
    )


def test_overrun_fires_only_past_the_threshold() -> None:
    running = [row(7, "running")]
    assert check_overrun(running, T0 + timedelta(minutes=30), T) == []
    [finding] = check_overrun(running, T0 + timedelta(minutes=31), T)
    assert (finding.kind, finding.subject) == (OVERRUN, "run:7")
    assert "31 min" in finding.message


def test_overrun_threshold_is_configurable() -> None:
    t = Thresholds.from_settings(Settings(monitoring=MonitoringSettings(overrun_after_seconds=60)))
    assert check_overrun([row(1, "running")], T0 + timedelta(seconds=61), t)


def test_missed_run_is_the_next_expected_run_plus_the_grace_after_the_last_success() -> None:
    """Daily at 06:00 Oslo (T0): a success at T0 expects the next at T0 + 24 h; the default
    grace is 30 min, so the first miss is found at T0 + 24 h 30 min (it was 26 h)."""
    s = snap([row(1, "success")], last_success_at=T0 + timedelta(minutes=2))
    assert check_missed_run(s, T0 + timedelta(hours=24, minutes=30), T) == []
    [finding] = check_missed_run(s, T0 + timedelta(hours=24, minutes=31), T)
    assert finding.kind == MISSED_RUN
    assert finding.details["expected_at"] == (T0 + timedelta(hours=24)).isoformat()
    assert finding.details["missed"] == 1
    assert check_missed_run(s, T0 + timedelta(hours=48, minutes=31), T)[0].details["missed"] == 2
    assert "for 24 h 29 min:" in finding.message  # since the success at T0 + 2 min, not 1469 min
    assert "grace 30 min" in finding.message


def test_missed_run_follows_the_schedule_and_its_grace() -> None:
    hourly = Thresholds.from_settings(
        Settings.from_env(
            {"REMINDERS_SCHEDULE": "0 * * * *", "REMINDERS_MISSED_GRACE_SECONDS": "300"}
        )
    )
    s = snap([row(1, "success")], last_success_at=T0 + timedelta(minutes=1))
    assert check_missed_run(s, T0 + timedelta(minutes=65), hourly) == []
    assert check_missed_run(s, T0 + timedelta(minutes=66), hourly)


def test_a_fixed_missed_after_limit_overrides_the_schedule() -> None:
    fixed = Thresholds.from_settings(
        Settings.from_env({"REMINDERS_MISSED_AFTER_SECONDS": str(26 * 3600)})
    )
    s = snap([row(1, "success")], last_success_at=T0)
    assert check_missed_run(s, T0 + timedelta(hours=26), fixed) == []
    assert check_missed_run(s, T0 + timedelta(hours=27), fixed)


def test_missed_run_without_any_success_measures_from_the_first_row() -> None:
    s = snap([row(1, "failed")], first_started_at=T0)
    assert check_missed_run(s, T0 + timedelta(hours=25), T)
    assert check_missed_run(snap([], first_started_at=None), T0 + timedelta(days=9), T) == []


def test_stuck_lock_needs_n_consecutive_skips_and_names_the_holder() -> None:
    skip = {"holder_pid": 4242, "holder_application_name": "assignment-reminders/lock x:9"}
    two = [row(3, "skipped", **skip), row(2, "skipped", **skip), row(1, "success")]
    assert check_stuck_lock(snap(two), T) == []
    three = [row(4, "skipped", **skip), *two]
    [finding] = check_stuck_lock(snap(three), T)
    assert finding.kind == STUCK_LOCK
    assert "pid 4242" in finding.message
    assert "assignment-reminders/lock x:9" in finding.message
    assert "since" not in finding.message  # no holder_since recorded: none said
    at = T0 + timedelta(microseconds=123456)
    since = [row(i, "skipped", **skip, holder_since=at) for i in (7, 6, 5)]
    [held] = check_stuck_lock(snap(since), T)
    assert held.message.endswith(f"since {T0.isoformat()}")  # to the second, as people read it
    assert held.details["holder_since"] == at.isoformat()  # every digit, for machines


def test_failure_is_the_newest_run_that_did_work_and_carries_its_error() -> None:
    failed = row(2, "failed", error="RuntimeError: boom")
    [finding] = check_failure(snap([row(3, "skipped"), failed, row(1, "success")]))
    assert finding.kind == FAILURE
    assert "RuntimeError: boom" in finding.message
    assert check_failure(snap([row(3, "success"), failed])) == []


def test_unlock_failure_clears_after_a_clean_unlock() -> None:
    bad = row(1, "success", unlock_ok=False)
    [finding] = check_unlock_failed(snap([row(2, "skipped", unlock_ok=None), bad]))
    assert finding.kind == UNLOCK_FAILED
    assert check_unlock_failed(snap([row(2, "success", unlock_ok=True), bad])) == []


def test_a_healthy_log_has_no_findings() -> None:
    s = snap([row(1, "success", unlock_ok=True)], last_success_at=T0)
    assert evaluate(s, T0 + timedelta(hours=1), T) == []


def test_monitoring_settings_come_from_the_environment() -> None:
    s = Settings.from_env(
        {
            "REMINDERS_OVERRUN_AFTER_SECONDS": "120",
            "REMINDERS_ALERT_WEBHOOK_URL": "https://hooks.example/secret-token",
            "REMINDERS_ALERT_WEBHOOK_SECRET": "whsec_" + "QUJD" * 8,
            "REMINDERS_ALERT_EMAIL_TO": "ops@example.org, oncall@example.org",
            "REMINDERS_SMTP_HOST": "smtp.example.org",
        }
    )
    assert s.monitoring.overrun_after_seconds == 120
    assert s.monitoring.email_to == ("ops@example.org", "oncall@example.org")
    assert "secret-token" not in repr(s)


def test_replicas_skipping_while_our_own_run_works_are_not_a_stuck_lock() -> None:
    winner = row(1, "success", lock_backend_pid=777, finished_at=T0 + timedelta(seconds=5))
    skips = [
        row(i, "skipped", holder_pid=777, started_at=T0 + timedelta(seconds=1)) for i in range(2, 6)
    ]
    assert check_stuck_lock(snap([*reversed(skips), winner]), T) == []


def test_a_skip_that_found_the_lock_already_free_is_not_a_stuck_lock() -> None:
    gone = [row(i, "skipped", holder_pid=None) for i in range(4, 1, -1)]
    assert check_stuck_lock(snap([*gone, row(1, "success")]), T) == []


def test_skips_behind_our_own_run_that_overran_are_a_stuck_lock() -> None:
    hung = row(1, "running", lock_backend_pid=777, finished_at=None)
    later = T0 + timedelta(hours=24)
    skips = [
        row(i, "skipped", holder_pid=777, started_at=later + timedelta(hours=24 * i))
        for i in range(4, 1, -1)
    ]
    [finding] = check_stuck_lock(snap([*skips, hung]), T)
    assert "pid 777" in finding.message


def ran(i: int, status: str, start_s: float, end_s: float | None, **extra: Any) -> RunRow:
    return row(
        i,
        status,
        started_at=T0 + timedelta(seconds=start_s),
        finished_at=None if end_s is None else T0 + timedelta(seconds=end_s),
        lock_acquire_ms=extra.pop("lock_acquire_ms", 5.0),
        **extra,
    )


def test_two_runs_working_at_once_are_one_overlapping_runs_finding_naming_both() -> None:
    first = ran(1, "failed", 0, 30, note="lock_lost")
    second = ran(2, "success", 10, 40)
    later = ran(3, "success", 41, 50)
    skipped = ran(4, "skipped", 12, 12.1)  # a skip works on nothing: never part of an overlap
    [finding] = check_overlapping_runs(snap([skipped, later, second, first]), T0)
    assert (finding.kind, finding.subject) == (OVERLAPPING_RUNS, "runs:1+2")
    assert finding.details["run_ids"] == [1, 2]
    assert "runs 1 (failed" in finding.message and "2 (success" in finding.message


def test_back_to_back_runs_do_not_overlap() -> None:
    # the next run started its clock a moment before the first finished, but took the lock after
    first = ran(1, "success", 0, 30)
    second = ran(2, "success", 29.999, 45, lock_acquire_ms=2.0)
    assert check_overlapping_runs(snap([second, first]), T0 + timedelta(minutes=5)) == []


def test_a_run_still_running_overlaps_until_now() -> None:
    hung = ran(1, "running", 0, None)
    other = ran(2, "success", 60, 90)
    now = T0 + timedelta(minutes=2)
    [finding] = check_overlapping_runs(snap([other, hung]), now)
    assert finding.subject == "runs:1+2"
    assert check_overlapping_runs(snap([hung]), now) == []
