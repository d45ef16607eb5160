"""End to end: a contact registered by any path stops the next cron run's reminder for it.

For each path an overdue assignment gets an activity; the next run (``run_once``, the one code
path of the cron) sends nothing for it, while an untouched overdue assignment in the same run
still gets its reminder.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection
from assignment_reminders.job.compose import run_once
from tests.activity_world import (
    NOW,
    SECRET,
    TODAY,
    World,
    api_client,
    as_supabase_user,
    bearer,
    make_world,
)

YESTERDAY = TODAY - timedelta(days=1)
Register = Callable[[TestClient, Connection, World], None]


def _post(client: TestClient, path: str, body: object, headers: dict[str, str]) -> None:
    r = client.post(path, json=body, headers=headers)
    assert r.status_code == 201, r.text


def _item(w: World) -> dict[str, object]:
    return {"assignment_id": w.assignment, "occurred_on": YESTERDAY.isoformat()}


def direct(c: TestClient, conn: Connection, w: World) -> None:
    _post(c, "/activities", _item(w), bearer(w.mentor, "peer_mentor"))


def proxy(c: TestClient, conn: Connection, w: World) -> None:
    _post(c, "/activities/proxy", _item(w), bearer(w.stand_in, "peer_mentor"))


def bulk(c: TestClient, conn: Connection, w: World) -> None:
    _post(c, "/activities/bulk", {"items": [_item(w)]}, bearer(w.mentor, "peer_mentor"))


def coordinator_proxy(c: TestClient, conn: Connection, w: World) -> None:
    _post(c, "/coordinator/activities", _item(w), bearer(w.coordinator, "coordinator"))


def coordinator_proxy_bulk(c: TestClient, conn: Connection, w: World) -> None:
    _post(
        c,
        "/coordinator/activities/bulk",
        {"items": [_item(w)]},
        bearer(w.coordinator, "coordinator"),
    )


def supabase_client_insert(c: TestClient, conn: Connection, w: World) -> None:
    with as_supabase_user(conn, w.mentor, "peer_mentor"):
        conn.execute(
            "INSERT INTO activities (assignment_id, occurred_on) VALUES (%(a)s, %(d)s)",
            {"a": w.assignment, "d": YESTERDAY},
        )


def plain_sql_insert(c: TestClient, conn: Connection, w: World) -> None:
    conn.execute(
        "INSERT INTO activities (assignment_id, occurred_on, registration_path)"
        " VALUES (%(a)s, %(d)s, 'sql')",
        {"a": w.assignment, "d": YESTERDAY},
    )


def admin_correction(c: TestClient, conn: Connection, w: World) -> None:
    r = c.put(
        f"/admin/assignments/{w.assignment}/last-contact-date",
        json={"date": YESTERDAY.isoformat(), "reason": "contact confirmed by phone"},
        headers=bearer(None, None, role="service_role"),
    )
    assert r.status_code == 200, r.text


def _reminded(conn: Connection) -> set[int]:
    rows = conn.execute(
        "SELECT assignment_id FROM reminders.reminder_dispatches WHERE kind = 'reminder'"
    ).fetchall()
    return {int(r["assignment_id"]) for r in rows}


@pytest.mark.parametrize(
    "register",
    [
        direct,
        proxy,
        bulk,
        coordinator_proxy,
        coordinator_proxy_bulk,
        supabase_client_insert,
        plain_sql_insert,
        admin_correction,
    ],
)
def test_registered_contact_stops_the_next_reminder(
    database_url: str, conn: Connection, register: Register
) -> None:
    w = make_world(conn)
    with api_client(database_url) as client:
        register(client, conn, w)
    settings = Settings.from_env({"DATABASE_URL": database_url, "REMINDERS_JWT_SECRET": SECRET})
    outcome = run_once(settings, now=NOW + timedelta(hours=1))
    assert outcome.status == "success", outcome.error
    reminded = _reminded(conn)
    assert w.assignment not in reminded
    assert {w.second, w.stand_in_own} <= reminded


def test_deleting_the_contact_makes_the_assignment_due_again(
    database_url: str, conn: Connection
) -> None:
    w = make_world(conn)
    with api_client(database_url) as client:
        r = client.post("/activities", json=_item(w), headers=bearer(w.mentor, "peer_mentor"))
        activity = r.json()["activities"][0]["id"]
        r = client.delete(f"/activities/{activity}", headers=bearer(w.mentor, "peer_mentor"))
        assert r.status_code == 200, r.text
    settings = Settings.from_env({"DATABASE_URL": database_url})
    assert run_once(settings, now=NOW).status == "success"
    assert w.assignment in _reminded(conn)
