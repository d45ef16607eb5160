"""The lock key: derived from the job name, pinned in code."""

from __future__ import annotations

from assignment_reminders.config import JOB_NAME
from assignment_reminders.db.migrations import MIGRATION_LOCK_KEY
from assignment_reminders.locking.lock import LOCK_KEY, derive_lock_key
from tests.locks import key_halves


def test_pinned_key_is_the_derived_key_of_the_job_name() -> None:
    assert derive_lock_key(JOB_NAME) == LOCK_KEY


def test_migration_key_is_derived_too_and_differs() -> None:
    assert derive_lock_key("reminders-migrate") == MIGRATION_LOCK_KEY != LOCK_KEY


def test_key_is_a_positive_bigint() -> None:
    assert 0 < LOCK_KEY < 2**63


def test_key_halves_are_what_pg_locks_shows() -> None:
    classid, objid = key_halves(LOCK_KEY)
    assert (classid, objid) == (1439926592, 2250578414)
    assert (classid << 32) | objid == LOCK_KEY
