"""The shared fakes (tests/fakes.py) take the calls the real classes take, no more, no less."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from assignment_reminders.job.joblog import ExecutionLog, PgExecutionLog
from assignment_reminders.job.reminder_pass import ReminderPass
from assignment_reminders.locking.job_lock import JobLock
from assignment_reminders.locking.lock import SessionAdvisoryLock, TransactionAdvisoryLock
from tests.fakes import FakeLock, FakeLog, FakePass


def members(protocol: type) -> list[str]:
    """The methods and properties a protocol declares (not inherited from ``Protocol``)."""
    return sorted(
        name
        for name, value in vars(protocol).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, property))
    )


def shape(cls: type, name: str) -> list[tuple[str, Any]] | str:
    """A method's parameters by name and kind (``self`` included); a property is ``property``."""
    value = inspect.getattr_static(cls, name)
    if isinstance(value, property):
        return "property"
    return [(p.name, p.kind) for p in inspect.signature(value).parameters.values()]


PAIRS = [
    (FakeLock, JobLock, [SessionAdvisoryLock, TransactionAdvisoryLock]),
    (FakeLog, ExecutionLog, [PgExecutionLog]),
]


@pytest.mark.parametrize(("fake", "protocol", "reals"), PAIRS, ids=["lock", "log"])
def test_each_fake_has_the_real_classes_methods_with_their_signatures(
    fake: type, protocol: type, reals: list[type]
) -> None:
    names = members(protocol)
    assert names, protocol
    for name in names:
        assert shape(fake, name) == shape(protocol, name), (fake.__name__, name)
        for real in reals:
            assert shape(real, name) == shape(protocol, name), (real.__name__, name)


def test_the_fake_pass_is_called_as_the_real_pass_is() -> None:
    assert shape(FakePass, "run") == shape(ReminderPass, "run")


def test_the_comparison_sees_a_renamed_parameter() -> None:
    class Renamed(FakeLog):
        def add_note(self, run_id: int, text: str) -> bool:
            return True

    assert shape(Renamed, "add_note") != shape(ExecutionLog, "add_note")
