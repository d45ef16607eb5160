"""A small world for the activity tests: two organizations, their people and assignments."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
from fastapi.testclient import TestClient

from assignment_reminders.api.app import create_app
from assignment_reminders.api.deps import request_now
from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection
from tests.factories import auth_user

SECRET = "test-secret-for-activities-0123456789abcdef"
# 08:00 UTC is 09:00 in Oslo: the same calendar day in both.
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
TODAY = date(2026, 11, 28)
STARTED = TODAY - timedelta(days=60)
OVERDUE_CONTACT = TODAY - timedelta(days=15)  # reminder_after_days is 10


@dataclass(frozen=True)
class World:
    org: int
    other_org: int
    coordinator: UUID
    other_coordinator: UUID
    mentor: UUID
    mentor_id: int
    stand_in: UUID
    stand_in_id: int
    other_mentor: UUID
    assignment: int  # mentor's, overdue
    second: int  # mentor's, overdue, stays untouched in end-to-end tests
    stood_in: int  # stand-in's absent colleague is `mentor`: same as assignment, seen by stand_in
    stand_in_own: int  # stand_in's own assignment
    foreign: int  # other organization's


def _one(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    row = conn.execute(sql, params or {}).fetchone()
    assert row is not None
    return row


def make_world(conn: Connection) -> World:
    def org(name: str) -> int:
        return int(
            _one(
                conn,
                "INSERT INTO organizations (name, time_zone) VALUES (%(n)s, 'Europe/Oslo')"
                " RETURNING id",
                {"n": name},
            )["id"]
        )

    def coordinator(org_id: int) -> tuple[int, UUID]:
        row = _one(
            conn,
            "INSERT INTO coordinators (organization_id, first_name, last_name, user_id)"
            " VALUES (%(o)s, 'Cora', 'Coordinator', %(u)s) RETURNING id, user_id",
            {"o": org_id, "u": auth_user(conn)},
        )
        return int(row["id"]), row["user_id"]

    def mentor(org_id: int, coord_id: int, first: str) -> tuple[int, UUID]:
        row = _one(
            conn,
            "INSERT INTO peer_mentors (organization_id, coordinator_id, first_name, last_name,"
            " user_id) VALUES (%(o)s, %(c)s, %(f)s, 'Mentor', %(u)s) RETURNING id, user_id",
            {"o": org_id, "c": coord_id, "f": first, "u": auth_user(conn)},
        )
        return int(row["id"]), row["user_id"]

    def assignment(org_id: int, mentor_id: int) -> int:
        contact = _one(
            conn,
            "INSERT INTO contacts (organization_id, first_name, last_name)"
            " VALUES (%(o)s, 'Kim', 'Contact') RETURNING id",
            {"o": org_id},
        )["id"]
        return int(
            _one(
                conn,
                "INSERT INTO assignments (organization_id, peer_mentor_id, contact_id, starts_on,"
                " last_contact_date) VALUES (%(o)s, %(m)s, %(c)s, %(s)s, %(l)s) RETURNING id",
                {"o": org_id, "m": mentor_id, "c": contact, "s": STARTED, "l": OVERDUE_CONTACT},
            )["id"]
        )

    org_id, other_org = org("Oslo Peers"), org("Bergen Peers")
    coord_id, coord_user = coordinator(org_id)
    other_coord_id, other_coord_user = coordinator(other_org)
    mentor_id, mentor_user = mentor(org_id, coord_id, "Mia")
    stand_in_id, stand_in_user = mentor(org_id, coord_id, "Sam")
    other_mentor_id, other_mentor_user = mentor(other_org, other_coord_id, "Olav")
    first = assignment(org_id, mentor_id)
    conn.execute(
        "INSERT INTO reminders.mentor_stand_ins (mentor_id, stand_in_id, starts_on)"
        " VALUES (%(m)s, %(s)s, %(d)s)",
        {"m": mentor_id, "s": stand_in_id, "d": TODAY - timedelta(days=7)},
    )
    return World(
        org=org_id,
        other_org=other_org,
        coordinator=coord_user,
        other_coordinator=other_coord_user,
        mentor=mentor_user,
        mentor_id=mentor_id,
        stand_in=stand_in_user,
        stand_in_id=stand_in_id,
        other_mentor=other_mentor_user,
        assignment=first,
        second=assignment(org_id, mentor_id),
        stood_in=first,
        stand_in_own=assignment(org_id, stand_in_id),
        foreign=assignment(other_org, other_mentor_id),
    )


def last_contact(conn: Connection, assignment_id: int) -> date | None:
    row = _one(
        conn, "SELECT last_contact_date FROM assignments WHERE id = %(i)s", {"i": assignment_id}
    )
    value: date | None = row["last_contact_date"]
    return value


def token(
    sub: UUID | str | None,
    app_role: str | None,
    *,
    role: str = "authenticated",
    secret: str = SECRET,
    expires: datetime | None = None,
) -> str:
    claims: dict[str, Any] = {
        "role": role,
        "exp": int((expires or datetime.now(UTC) + timedelta(hours=1)).timestamp()),
    }
    if sub is not None:
        claims["sub"] = str(sub)
    if app_role is not None:
        claims["app_metadata"] = {"role": app_role}
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer(sub: UUID | str | None, app_role: str | None, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(sub, app_role, **kwargs)}"}


@contextmanager
def as_supabase_user(conn: Connection, user: UUID, app_role: str) -> Iterator[Connection]:
    """Inside a transaction: SET ROLE authenticated with request.jwt.claims, as PostgREST does."""
    claims = {"sub": str(user), "role": "authenticated", "app_metadata": {"role": app_role}}
    with conn.transaction():
        conn.execute("SET LOCAL ROLE authenticated")
        conn.execute(
            "SELECT set_config('request.jwt.claims', %(c)s, true)", {"c": json.dumps(claims)}
        )
        yield conn


def api_client(database_url: str, now: datetime = NOW) -> TestClient:
    """The API in-process, its clock fixed at *now*."""
    app = create_app(
        Settings.from_env({"DATABASE_URL": database_url, "REMINDERS_JWT_SECRET": SECRET})
    )
    app.dependency_overrides[request_now] = lambda: now
    return TestClient(app)
