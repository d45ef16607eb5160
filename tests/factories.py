"""Small builders for test rows. Each returns the new row's id."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from assignment_reminders.db.database import Connection


def _insert(conn: Connection, table: str, values: dict[str, Any]) -> int:
    cols = ", ".join(values)
    params = ", ".join(f"%({k})s" for k in values)
    row = conn.execute(
        f"INSERT INTO {table if '.' in table else 'public.' + table} ({cols}) VALUES"
        f" ({params}) RETURNING id",
        values,
    ).fetchone()
    assert row is not None
    return int(row["id"])


def auth_user(conn: Connection, user_id: UUID | str | None = None) -> UUID:
    """A Supabase Auth user (a row in auth.users, where it exists): what user_id references."""
    uid = UUID(str(user_id)) if user_id is not None else uuid4()
    conn.execute(
        "DO $u$ BEGIN IF to_regclass('auth.users') IS NOT NULL THEN"
        f" INSERT INTO auth.users (id) VALUES ('{uid}') ON CONFLICT DO NOTHING;"
        " END IF; END $u$"
    )
    return uid


def organization(conn: Connection, **values: Any) -> int:
    return _insert(conn, "organizations", {"name": "Test org", **values})


def coordinator(conn: Connection, organization_id: int, **values: Any) -> int:
    return _insert(
        conn,
        "coordinators",
        {
            "organization_id": organization_id,
            "first_name": "Cora",
            "last_name": "Dinator",
            **values,
            "user_id": auth_user(conn, values.get("user_id")),
        },
    )


def peer_mentor(conn: Connection, organization_id: int, coordinator_id: int, **values: Any) -> int:
    return _insert(
        conn,
        "peer_mentors",
        {
            "organization_id": organization_id,
            "coordinator_id": coordinator_id,
            "first_name": "Pia",
            "last_name": "Mentor",
            **values,
            "user_id": auth_user(conn, values.get("user_id")),
        },
    )


def contact(conn: Connection, organization_id: int, **values: Any) -> int:
    return _insert(
        conn,
        "contacts",
        {"organization_id": organization_id, "first_name": "Kim", "last_name": "Contact", **values},
    )


def assignment(
    conn: Connection,
    *,
    starts_on: date,
    last_contact_date: date | None = None,
    organization_id: int | None = None,
    peer_mentor_id: int | None = None,
    **values: Any,
) -> int:
    """An assignment; builds an organization, coordinator and mentor when none are given."""
    if organization_id is None:
        organization_id = organization(conn)
    if peer_mentor_id is None:
        peer_mentor_id = peer_mentor(conn, organization_id, coordinator(conn, organization_id))
    return _insert(
        conn,
        "assignments",
        {
            "organization_id": organization_id,
            "peer_mentor_id": peer_mentor_id,
            "contact_id": contact(conn, organization_id),
            "starts_on": starts_on,
            "last_contact_date": last_contact_date,
            **values,
        },
    )
