"""The cron trigger's decisions, with an in-memory lock, log and pass."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assignment_reminders.job.joblog import SKIP_LOCK_HELD
from assignment_reminders.job.trigger import CronTrigger
from tests.fakes import NOW, FakeLock, FakeLog, FakePass


def make(lock: FakeLock, the_pass: FakePass, log: FakeLog) -> CronTrigger:
    return CronTrigger(
        lock=lock, log=log, reminder_pass=the_pass, job_name="job", clock=lambda: NOW
    )


def test_lock_not_won_never_calls_the_scheduler_and_writes_a_skipped_row() -> None:
    lock, the_pass, log = FakeLock(answer=False), FakePass(), FakeLog()
    outcome = make(lock, the_pass, log).run()
    assert the_pass.calls == 0
    assert outcome.status == "skipped" and outcome.ok
    assert log.events == ["skipped"]
    assert log.rows[outcome.run_id]["note"] == SKIP_LOCK_HELD == "advisory_lock_held"
    assert log.rows[outcome.run_id]["holder"].pid == 4242
    assert lock.calls == ["try"], "a lock we did not win is not released"


def test_lock_won_runs_the_scheduler_once_and_releases_after_finishing_the_row() -> None:
    lock, the_pass, log = FakeLock(answer=True), FakePass(), FakeLog()
    outcome = make(lock, the_pass, log).run()
    assert the_pass.calls == 1
    assert outcome.status == "success"
    assert outcome.counts.reminders_created == 3
    assert log.events == ["running", "sweep", "finish:success", "unlock:True"]  # sweep: not us
    assert lock.calls == ["try", "release"]
    assert log.rows[outcome.run_id]["pid"] == 777


def test_scheduler_raising_still_releases_the_lock_and_fails_the_row() -> None:
    lock = FakeLock(answer=True)
    the_pass, log = FakePass(error=RuntimeError("boom")), FakeLog()
    outcome = make(lock, the_pass, log).run()
    assert outcome.status == "failed" and not outcome.ok
    assert outcome.error == "RuntimeError: boom"
    assert lock.calls == ["try", "release"]
    assert log.events[-2:] == ["finish:failed", "unlock:True"]


def test_interrupt_during_the_run_releases_the_lock_and_propagates() -> None:
    lock = FakeLock(answer=True)
    the_pass, log = FakePass(error=KeyboardInterrupt()), FakeLog()
    with pytest.raises(KeyboardInterrupt):
        make(lock, the_pass, log).run()
    assert lock.calls == ["try", "release"]
    assert "finish:failed" in log.events


def test_unlock_answering_false_is_recorded_on_the_row(caplog: pytest.LogCaptureFixture) -> None:
    lock, the_pass, log = FakeLock(answer=True, release_answer=False), FakePass(), FakeLog()
    outcome = make(lock, the_pass, log).run()
    assert outcome.unlock_ok is False
    assert log.rows[outcome.run_id]["unlock_ok"] is False
    # said of every scope and cause (no pg_advisory_unlock in the transaction scope, none ran
    # when the session was gone): what the release found, not how
    said = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert said == [f"the job's lock (key {lock.key}) was no longer this run's when it released it"]


def test_now_defaults_to_the_clock_and_can_be_passed_in() -> None:
    lock, the_pass, log = FakeLock(answer=True), FakePass(), FakeLog()
    trigger = make(lock, the_pass, log)
    trigger.run()
    later = datetime(2027, 1, 1, tzinfo=UTC)
    trigger.run(now=later)
    assert the_pass.nows == [NOW, later]
