"""`reminders serve` and `reminders admin` as real processes, against a real PostgreSQL."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from assignment_reminders.db.database import Connection
from tests.activity_world import (
    NOW,
    OVERDUE_CONTACT,
    SECRET,
    TODAY,
    bearer,
    last_contact,
    make_world,
)
from tests.served import served

RunCli = Callable[..., subprocess.CompletedProcess[str]]
pytestmark = pytest.mark.slow


@pytest.fixture
def server(cli_env: dict[str, str]) -> Iterator[str]:
    with served({**cli_env, "REMINDERS_JWT_SECRET": SECRET}, "--no-builtin-cron") as base:
        yield base


def test_served_api_registers_and_deletes_an_activity(server: str, conn: Connection) -> None:
    w = make_world(conn)
    oslo_yesterday = datetime.now(ZoneInfo("Europe/Oslo")).date() - timedelta(days=1)
    headers = bearer(w.mentor, "peer_mentor")
    r = httpx.post(
        f"{server}/activities",
        json={"assignment_id": w.assignment, "occurred_on": oslo_yesterday.isoformat()},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert last_contact(conn, w.assignment) == oslo_yesterday
    activity = r.json()["activities"][0]["id"]

    r = httpx.delete(f"{server}/activities/{activity}", headers=headers)
    assert r.status_code == 200, r.text
    assert last_contact(conn, w.assignment) == OVERDUE_CONTACT
    assert httpx.post(f"{server}/activities", json={}).status_code == 401
    assert httpx.get(f"{server}/docs").status_code == 200


def test_admin_cli_corrects_and_shows_history(conn: Connection, run_cli: RunCli) -> None:
    w = make_world(conn)
    day = TODAY - timedelta(days=2)
    now = NOW.isoformat()
    done = run_cli(
        "admin", "set-last-contact", str(w.assignment), day.isoformat(),
        "--reason", "visited, not registered", "--now", now,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{OVERDUE_CONTACT} -> {day}" in done.stdout
    assert last_contact(conn, w.assignment) == day

    again = run_cli(
        "admin", "set-last-contact", str(w.assignment), day.isoformat(),
        "--reason", "checked again", "--now", now,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"last_contact_date stays {day} (correction " in again.stdout  # not "{day} -> {day}"

    shown = run_cli("admin", "last-contact-history", str(w.assignment))
    assert shown.returncode == 0, shown.stderr
    assert "visited, not registered" in shown.stdout
    assert "checked again" in shown.stdout
    row = conn.execute(
        "SELECT changed_by_role, changed_by_name FROM reminders.last_contact_corrections"
    )
    audit = row.fetchone()
    assert audit is not None and audit["changed_by_role"] == "operator"
    assert "@" in audit["changed_by_name"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["2026-11-29", "--reason", "x"], 1, "is in the future"),
        (["2020-01-01", "--reason", "x"], 1, "before the assignment started"),
        (["2026-11-20", "--reason", " "], 2, "'--reason': must not be blank"),
    ],
)
def test_admin_cli_refuses_bad_input_with_one_line(
    conn: Connection, run_cli: RunCli, args: list[str], code: int, message: str
) -> None:
    w = make_world(conn)
    done = run_cli("admin", "set-last-contact", str(w.assignment), *args, "--now", NOW.isoformat())
    assert done.returncode == code
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert last_contact(conn, w.assignment) == OVERDUE_CONTACT


def test_admin_cli_unknown_assignment_fails(conn: Connection, run_cli: RunCli) -> None:
    done = run_cli(
        "admin", "set-last-contact", "999999", "2026-11-20", "--reason", "x",
        "--now", datetime(2026, 11, 28, 8, tzinfo=UTC).isoformat(),
    )  # fmt: skip
    assert done.returncode == 1
    assert "assignment 999999 does not exist" in done.stderr
