"""The lock heartbeat, with a fake beat (no database)."""

from __future__ import annotations

import threading

import pytest

from assignment_reminders.exceptions import LockLostError
from assignment_reminders.locking.heartbeat import Heartbeat
from tests.conftest import wait_for


class FakeBeat:
    def __init__(self) -> None:
        self.calls = 0
        self.answer: str | None = None
        self.error: Exception | None = None
        self.block = threading.Event()
        self.block.set()

    def __call__(self) -> str | None:
        self.block.wait()
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.answer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_checkpoint_passes_while_the_beats_confirm_the_lock() -> None:
    beat = FakeBeat()
    hb = Heartbeat(beat, interval=0.05)
    hb.start()
    try:
        wait_for(lambda: beat.calls >= 3)
        hb.checkpoint()
    finally:
        hb.stop()
    assert hb.lost_reason is None


def test_a_beat_that_finds_the_lock_gone_makes_the_checkpoint_raise() -> None:
    beat = FakeBeat()
    hb = Heartbeat(beat, interval=0.05)
    hb.start()
    beat.answer = "pg_locks no longer shows the lock"
    try:
        wait_for(lambda: hb.lost_reason is not None)
        with pytest.raises(LockLostError, match="pg_locks no longer shows the lock"):
            hb.checkpoint()
    finally:
        hb.stop()


def test_a_broken_connection_counts_as_lost() -> None:
    beat = FakeBeat()
    beat.error = ConnectionError("terminating connection due to administrator command")
    hb = Heartbeat(beat, interval=0.05)
    hb.start()
    try:
        wait_for(lambda: hb.lost_reason is not None)
        with pytest.raises(LockLostError, match="administrator command"):
            hb.checkpoint()
    finally:
        hb.stop()


def test_after_a_long_pause_the_checkpoint_waits_for_a_fresh_beat() -> None:
    beat = FakeBeat()
    clock = FakeClock()
    hb = Heartbeat(beat, interval=60, clock=clock)  # the thread would not beat again by itself
    hb.start()
    try:
        hb.checkpoint()  # fresh: no beat needed
        assert beat.calls == 0
        clock.now += 3600  # we were stopped for an hour; meanwhile the server dropped us
        beat.answer = "IdleSessionTimeout: terminating connection due to idle-session timeout"
        with pytest.raises(LockLostError, match="idle-session timeout"):
            hb.checkpoint()
        assert beat.calls == 1
    finally:
        hb.stop()


def test_a_lock_connection_that_does_not_answer_is_not_trusted() -> None:
    beat = FakeBeat()
    clock = FakeClock()
    hb = Heartbeat(beat, interval=60, answer_timeout=0.2, clock=clock)
    beat.block.clear()  # the network is gone: the next beat hangs
    hb.start()
    try:
        clock.now += 3600
        with pytest.raises(LockLostError, match=r"did not answer within 0\.2 s"):
            hb.checkpoint()
    finally:
        beat.block.set()
        hb.stop()


def test_pause_ends_early_when_the_lock_is_lost() -> None:
    beat = FakeBeat()
    hb = Heartbeat(beat, interval=0.05)
    hb.start()
    try:
        wait_for(lambda: beat.calls >= 1)
        beat.answer = "lost"
        with pytest.raises(LockLostError):
            hb.pause(30)
    finally:
        hb.stop()
