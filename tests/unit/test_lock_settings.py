"""Lock settings from the environment (REMINDERS_LOCK_*)."""

from __future__ import annotations

import pytest

from assignment_reminders.config import Settings
from assignment_reminders.exceptions import ConfigurationError


def test_defaults_are_session_scope_5s_heartbeat_30s_idle_timeout() -> None:
    s = Settings.from_env({})
    assert (s.lock.scope, s.lock.heartbeat_seconds, s.lock.idle_timeout_seconds) == (
        "session",
        5.0,
        30.0,
    )
    assert s.lock.database_url is None


def test_transaction_scope_and_timings_are_read() -> None:
    s = Settings.from_env(
        {
            "REMINDERS_LOCK_SCOPE": "Transaction",
            "REMINDERS_LOCK_HEARTBEAT_SECONDS": "0.5",
            "REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS": "2",
        }
    )
    assert (s.lock.scope, s.lock.heartbeat_seconds, s.lock.idle_timeout_seconds) == (
        "transaction",
        0.5,
        2.0,
    )


def test_unknown_scope_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="REMINDERS_LOCK_SCOPE must be one of session"):
        Settings.from_env({"REMINDERS_LOCK_SCOPE": "xact"})


@pytest.mark.parametrize("value", ["abc", "nan", "0", "-1"])
def test_bad_heartbeat_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError, match="REMINDERS_LOCK_HEARTBEAT_SECONDS"):
        Settings.from_env({"REMINDERS_LOCK_HEARTBEAT_SECONDS": value})


def test_idle_timeout_must_leave_room_for_two_heartbeats() -> None:
    with pytest.raises(ConfigurationError, match="at least twice"):
        Settings.from_env(
            {"REMINDERS_LOCK_HEARTBEAT_SECONDS": "5", "REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS": "9"}
        )


def test_lock_database_url_is_a_secret_and_validated() -> None:
    url = "postgresql://postgres:hunter2@db.example.supabase.co:5432/postgres"
    s = Settings.from_env({"REMINDERS_LOCK_DATABASE_URL": url})
    assert s.lock.database_url is not None
    assert s.lock.database_url.reveal() == url
    assert "hunter2" not in repr(s)
    with pytest.raises(ConfigurationError, match="REMINDERS_LOCK_DATABASE_URL is not a valid"):
        Settings.from_env({"REMINDERS_LOCK_DATABASE_URL": "host=a port"})
