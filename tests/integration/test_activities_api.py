"""Every registration path over HTTP, each asserting last_contact_date afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assignment_reminders.db.database import Connection
from tests.activity_world import (
    OVERDUE_CONTACT,
    STARTED,
    TODAY,
    World,
    api_client,
    bearer,
    last_contact,
    make_world,
)

YESTERDAY = TODAY - timedelta(days=1)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with api_client(database_url) as c:
        yield c


@pytest.fixture
def world(conn: Connection) -> World:
    return make_world(conn)


def item(assignment_id: int, day: date = YESTERDAY, note: str | None = None) -> dict[str, Any]:
    return {"assignment_id": assignment_id, "occurred_on": day.isoformat(), "note": note}


def activity_count(conn: Connection) -> int:
    row = conn.execute("SELECT count(*) AS n FROM activities").fetchone()
    assert row is not None
    return int(row["n"])


# --- the registration paths ---------------------------------------------------------------


def test_direct_registration_moves_last_contact(
    client: TestClient, conn: Connection, world: World
) -> None:
    r = client.post(
        "/activities", json=item(world.assignment), headers=bearer(world.mentor, "peer_mentor")
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["activities"][0]["registration_path"] == "direct"
    assert body["assignments"] == [
        {"assignment_id": world.assignment, "last_contact_date": YESTERDAY.isoformat()}
    ]
    assert last_contact(conn, world.assignment) == YESTERDAY


def test_proxy_registration_by_a_stand_in_moves_last_contact(
    client: TestClient, conn: Connection, world: World
) -> None:
    r = client.post(
        "/activities/proxy",
        json=item(world.assignment),
        headers=bearer(world.stand_in, "peer_mentor"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["activities"][0]["registered_by"] == str(world.stand_in)
    assert last_contact(conn, world.assignment) == YESTERDAY


def test_proxy_registration_needs_a_stand_in_relationship(
    client: TestClient, conn: Connection, world: World
) -> None:
    r = client.post(
        "/activities/proxy",
        json=item(world.stand_in_own),
        headers=bearer(world.mentor, "peer_mentor"),
    )
    assert r.status_code == 403
    assert last_contact(conn, world.stand_in_own) == OVERDUE_CONTACT


def test_bulk_registration_moves_every_assignment(
    client: TestClient, conn: Connection, world: World
) -> None:
    two_days = TODAY - timedelta(days=2)
    r = client.post(
        "/activities/bulk",
        json={"items": [item(world.assignment), item(world.second, two_days)]},
        headers=bearer(world.mentor, "peer_mentor"),
    )
    assert r.status_code == 201, r.text
    assert {a["registration_path"] for a in r.json()["activities"]} == {"bulk"}
    assert last_contact(conn, world.assignment) == YESTERDAY
    assert last_contact(conn, world.second) == two_days


def test_bulk_is_all_or_nothing_with_per_item_errors(
    client: TestClient, conn: Connection, world: World
) -> None:
    r = client.post(
        "/activities/bulk",
        json={
            "items": [
                item(world.assignment),
                item(world.second, TODAY + timedelta(days=1)),
                item(world.second, STARTED - timedelta(days=1)),
            ]
        },
        headers=bearer(world.mentor, "peer_mentor"),
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == [
        "items[1].occurred_on",
        "items[2].occurred_on",
    ]
    assert activity_count(conn) == 0
    assert last_contact(conn, world.assignment) == OVERDUE_CONTACT


def test_bulk_with_another_organizations_item_is_403_and_writes_nothing(
    client: TestClient, conn: Connection, world: World
) -> None:
    r = client.post(
        "/activities/bulk",
        json={"items": [item(world.assignment), item(world.foreign), item(999_999)]},
        headers=bearer(world.mentor, "peer_mentor"),
    )
    assert r.status_code == 403
    assert [(e["field"], e["status"]) for e in r.json()["errors"]] == [
        ("items[1].assignment_id", 403),
        ("items[2].assignment_id", 404),
    ]
    assert activity_count(conn) == 0


def test_coordinator_proxy_single_moves_last_contact(
    client: TestClient, conn: Connection, world: World
) -> None:
    r = client.post(
        "/coordinator/activities",
        json=item(world.stand_in_own),
        headers=bearer(world.coordinator, "coordinator"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["activities"][0]["registration_path"] == "coordinator_proxy"
    assert last_contact(conn, world.stand_in_own) == YESTERDAY


def test_coordinator_proxy_bulk_moves_every_assignment(
    client: TestClient, conn: Connection, world: World
) -> None:
    r = client.post(
        "/coordinator/activities/bulk",
        json={"items": [item(world.assignment), item(world.stand_in_own)]},
        headers=bearer(world.coordinator, "coordinator"),
    )
    assert r.status_code == 201, r.text
    assert last_contact(conn, world.assignment) == YESTERDAY
    assert last_contact(conn, world.stand_in_own) == YESTERDAY


def test_coordinator_of_another_organization_is_refused(
    client: TestClient, conn: Connection, world: World
) -> None:
    r = client.post(
        "/coordinator/activities",
        json=item(world.assignment),
        headers=bearer(world.other_coordinator, "coordinator"),
    )
    assert r.status_code == 403
    assert activity_count(conn) == 0


def test_deleting_an_activity_recomputes_last_contact(
    client: TestClient, conn: Connection, world: World
) -> None:
    headers = bearer(world.mentor, "peer_mentor")
    client.post(
        "/activities", json=item(world.assignment, TODAY - timedelta(days=3)), headers=headers
    )
    r = client.post("/activities", json=item(world.assignment), headers=headers)
    wrong = r.json()["activities"][0]["id"]
    r = client.delete(f"/activities/{wrong}", headers=bearer(world.coordinator, "coordinator"))
    assert r.status_code == 200, r.text
    assert r.json()["last_contact_date"] == (TODAY - timedelta(days=3)).isoformat()
    assert last_contact(conn, world.assignment) == TODAY - timedelta(days=3)


def test_deleting_someone_elses_activity_is_refused(
    client: TestClient, conn: Connection, world: World
) -> None:
    r = client.post(
        "/activities", json=item(world.assignment), headers=bearer(world.mentor, "peer_mentor")
    )
    activity = r.json()["activities"][0]["id"]
    r = client.delete(f"/activities/{activity}", headers=bearer(world.other_mentor, "peer_mentor"))
    assert r.status_code == 403
    r = client.delete("/activities/987654", headers=bearer(world.mentor, "peer_mentor"))
    assert r.status_code == 404
    assert last_contact(conn, world.assignment) == YESTERDAY


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-jwt"}, 401),
        ({"Authorization": "Basic abc"}, 401),
    ],
)
def test_missing_or_bad_token_is_401(
    client: TestClient, world: World, headers: dict[str, str], status: int
) -> None:
    r = client.post("/activities", json=item(world.assignment), headers=headers)
    assert r.status_code == status


def test_expired_or_foreign_signed_token_is_401(client: TestClient, world: World) -> None:
    expired = bearer(world.mentor, "peer_mentor", expires=datetime.now(UTC) - timedelta(hours=1))
    forged = bearer(world.mentor, "peer_mentor", secret="another-secret-0123456789abcdef-xyz")
    for headers in (expired, forged):
        r = client.post("/activities", json=item(world.assignment), headers=headers)
        assert r.status_code == 401


def test_wrong_app_role_is_403(client: TestClient, conn: Connection, world: World) -> None:
    r = client.post(
        "/activities", json=item(world.assignment), headers=bearer(world.coordinator, "coordinator")
    )
    assert r.status_code == 403
    r = client.post(
        "/coordinator/activities",
        json=item(world.assignment),
        headers=bearer(world.mentor, "peer_mentor"),
    )
    assert r.status_code == 403
    assert activity_count(conn) == 0


def test_another_mentors_assignment_is_403(client: TestClient, world: World) -> None:
    r = client.post(
        "/activities", json=item(world.foreign), headers=bearer(world.mentor, "peer_mentor")
    )
    assert r.status_code == 403


def test_unknown_assignment_is_404(client: TestClient, world: World) -> None:
    r = client.post("/activities", json=item(424242), headers=bearer(world.mentor, "peer_mentor"))
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"occurred_on": "2026-11-01"}, "assignment_id"),
        ({"assignment_id": 1, "occurred_on": "yesterday"}, "occurred_on"),
        ({"assignment_id": 1, "occurred_on": "2026-11-01", "extra": 1}, "extra"),
    ],
)
def test_malformed_body_is_422_naming_the_field(
    client: TestClient, world: World, body: dict[str, Any], field: str
) -> None:
    r = client.post("/activities", json=body, headers=bearer(world.mentor, "peer_mentor"))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_future_date_is_422_naming_occurred_on(
    client: TestClient, conn: Connection, world: World
) -> None:
    r = client.post(
        "/activities",
        json=item(world.assignment, TODAY + timedelta(days=1)),
        headers=bearer(world.mentor, "peer_mentor"),
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["occurred_on"]
    assert last_contact(conn, world.assignment) == OVERDUE_CONTACT


def test_today_is_the_organizations_day(database_url: str, conn: Connection, world: World) -> None:
    # 23:30 UTC on the 28th is already 00:30 on the 29th in Oslo.
    late = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    with api_client(database_url, now=late) as c:
        r = c.post(
            "/activities",
            json=item(world.assignment, TODAY + timedelta(days=1)),
            headers=bearer(world.mentor, "peer_mentor"),
        )
    assert r.status_code == 201, r.text
    assert last_contact(conn, world.assignment) == TODAY + timedelta(days=1)


# --- admin correction ---------------------------------------------------------------------


def _correct(
    client: TestClient, assignment_id: int, day: date, headers: dict[str, str], reason: str = "x"
) -> Any:
    return client.put(
        f"/admin/assignments/{assignment_id}/last-contact-date",
        json={"date": day.isoformat(), "reason": reason},
        headers=headers,
    )


def test_admin_correction_sets_the_date_and_is_audited(
    client: TestClient, conn: Connection, world: World
) -> None:
    admin = bearer("0b9a6f0e-0000-4000-8000-000000000001", "admin")
    r = _correct(client, world.assignment, TODAY - timedelta(days=3), admin, reason="phoned")
    assert r.status_code == 200, r.text
    assert r.json()["old_date"] == OVERDUE_CONTACT.isoformat()
    assert last_contact(conn, world.assignment) == TODAY - timedelta(days=3)
    r = _correct(
        client, world.assignment, TODAY - timedelta(days=5), bearer(None, None, role="service_role")
    )
    assert r.status_code == 200, r.text
    history = client.get(
        f"/admin/assignments/{world.assignment}/last-contact-date/history", headers=admin
    )
    assert history.status_code == 200
    assert [(h["new_date"], h["changed_by_role"], h["reason"]) for h in history.json()] == [
        ((TODAY - timedelta(days=5)).isoformat(), "service_role", "x"),
        ((TODAY - timedelta(days=3)).isoformat(), "admin", "phoned"),
    ]
    assert history.json()[1]["changed_by"] == "0b9a6f0e-0000-4000-8000-000000000001"
    assert history.json()[0]["changed_at"].startswith("2026-11-28T08:00:00")


def test_admin_correction_refuses_non_admins(
    client: TestClient, conn: Connection, world: World
) -> None:
    for headers in (bearer(world.coordinator, "coordinator"), bearer(world.mentor, "peer_mentor")):
        assert _correct(client, world.assignment, YESTERDAY, headers).status_code == 403
        r = client.get(
            f"/admin/assignments/{world.assignment}/last-contact-date/history", headers=headers
        )
        assert r.status_code == 403
    assert last_contact(conn, world.assignment) == OVERDUE_CONTACT


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ((TODAY + timedelta(days=1), "x"), "date"),
        ((STARTED - timedelta(days=1), "x"), "date"),
        ((YESTERDAY, "   "), "reason"),
        ((YESTERDAY, ""), "reason"),
    ],
)
def test_admin_correction_refuses_bad_input_naming_the_field(
    client: TestClient, conn: Connection, world: World, case: tuple[date, str], field: str
) -> None:
    day, reason = case
    r = _correct(client, world.assignment, day, bearer(None, None, role="service_role"), reason)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert last_contact(conn, world.assignment) == OVERDUE_CONTACT
    row = conn.execute("SELECT count(*) AS n FROM reminders.last_contact_corrections").fetchone()
    assert row == {"n": 0}


def test_admin_correction_of_unknown_assignment_is_404(client: TestClient, world: World) -> None:
    service = bearer(None, None, role="service_role")
    assert _correct(client, 777_777, YESTERDAY, service).status_code == 404
    r = client.get("/admin/assignments/777777/last-contact-date/history", headers=service)
    assert r.status_code == 404
