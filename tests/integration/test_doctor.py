"""`reminders doctor` checks against a real PostgreSQL."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest

from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection
from assignment_reminders.monitoring.doctor import Check, run_checks
from tests.receivers import WEBHOOK_SECRET, free_port
from tests.signing_keys import ec_key, jwks_server, rsa_key


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_a_healthy_database_passes_every_check_and_skips_unconfigured_delivery(
    settings: Settings,
) -> None:
    checks = by_name(run_checks(settings))
    assert [c.name for c in checks.values() if c.failed] == []
    assert "a real session (direct)" in checks["lock connection"].detail
    assert checks["smtp"].result == checks["webhook"].result == "skip"
    assert "not configured" in checks["smtp"].detail


def test_pending_migrations_fail_with_the_fix(empty_database_url: str) -> None:
    checks = by_name(run_checks(Settings.from_env({"DATABASE_URL": empty_database_url})))
    assert checks["migrations"].failed
    assert checks["migrations"].fix == "run `reminders migrate`"
    assert checks["lock wrappers"].failed
    assert checks["lock key"].failed


def test_a_wrapper_executable_by_anon_fails_with_the_grants_to_run(
    settings: Settings, conn: Connection
) -> None:
    conn.execute("GRANT EXECUTE ON FUNCTION reminders.reminders_advisory_unlock(bigint) TO anon")
    check = by_name(run_checks(settings))["lock wrappers"]
    assert check.failed
    assert "reminders.reminders_advisory_unlock(bigint): anon" in check.detail
    assert check.fix.startswith("REVOKE EXECUTE ON FUNCTION reminders.reminders_advisory_unlock")


def test_the_job_registered_under_another_key_fails(settings: Settings, conn: Connection) -> None:
    conn.execute(
        "UPDATE reminders.background_job_lock_keys SET lock_key = 1"
        " WHERE job_name = 'assignment-reminder-cron'"
    )
    check = by_name(run_checks(settings))["lock key"]
    assert check.failed
    assert "1 -> assignment-reminder-cron" in check.detail


def test_clock_skew_beyond_two_seconds_fails(settings: Settings) -> None:
    check = by_name(run_checks(settings, wall_clock=lambda: time.time() + 60))["clock skew"]
    assert check.failed
    assert "NTP" in check.fix
    assert re.search(r"database clock 6\d\.\d{3} s behind this host's", check.detail)


def test_delivery_endpoints_are_probed_when_configured(database_url: str, listening: int) -> None:
    env = {
        "DATABASE_URL": database_url,
        "REMINDERS_SMTP_HOST": "127.0.0.1",
        "REMINDERS_SMTP_PORT": str(listening),
        "REMINDERS_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/hook?token=s3cret",
        "REMINDERS_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    checks = by_name(run_checks(Settings.from_env(env)))
    assert checks["smtp"].result == "pass"
    assert checks["webhook"].failed
    assert "s3cret" not in checks["webhook"].detail


def test_an_unreachable_database_fails_one_row_and_still_checks_delivery() -> None:
    url = f"postgresql://nobody:pw@127.0.0.1:{free_port()}/x"
    checks = run_checks(Settings.from_env({"DATABASE_URL": url}))
    assert [(c.name, c.result) for c in checks] == [
        ("database", "fail"),
        ("smtp", "skip"),
        ("webhook", "skip"),
        ("signing keys", "skip"),
    ]
    assert "pw" not in checks[0].detail


def test_the_projects_signing_keys_are_fetched_when_supabase_url_is_set(database_url: str) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"

    def checks(supabase_url: str) -> dict[str, Check]:
        env = {"DATABASE_URL": database_url, "SUPABASE_URL": supabase_url}
        return by_name(run_checks(Settings.from_env(env)))

    with jwks_server(ec_key(), rsa_key()) as project:
        ok = checks(project.url)
        project.publish()
        none = checks(project.url)
    down = checks(unreachable)
    assert ok["signing keys"].result == "pass"
    assert "ec-1 (ES256), rsa-1 (RS256)" in ok["signing keys"].detail
    assert none["signing keys"].failed
    assert "REMINDERS_JWT_SECRET" in none["signing keys"].fix
    assert down["signing keys"].failed
    assert "SUPABASE_URL" in down["signing keys"].fix
