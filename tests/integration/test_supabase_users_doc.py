"""docs/supabase.md, "Users": its SQL, run as written, makes a coordinator and a mentor whom
the database and the HTTP API both recognise, with tokens built the way Supabase Auth builds
them from auth.users."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import psycopg
import pytest

from assignment_reminders.db.database import Connection
from tests.activity_world import NOW, SECRET, STARTED, TODAY, api_client, as_supabase_user
from tests.conftest import REPO

SECTION = "## Users: making someone a mentor or coordinator"


def documented_sql() -> str:
    """The section's SQL block, exactly as the page shows it."""
    text = (REPO / "docs" / "supabase.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks: list[str] = re.findall(r"```sql\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    return blocks[0]


def sign_up(conn: Connection, email: str) -> Any:
    """What a sign-up leaves in auth.users (the columns Supabase Auth fills that matter here)."""
    row = conn.execute(
        "INSERT INTO auth.users (id, email, raw_app_meta_data, raw_user_meta_data)"
        ' VALUES (gen_random_uuid(), %(e)s, \'{"provider": "email", "providers": ["email"]}\','
        " '{}') RETURNING id",
        {"e": email},
    ).fetchone()
    assert row is not None
    return row["id"]


def access_token(conn: Connection, user_id: Any) -> str:
    """A user's access token as Supabase Auth issues it: app_metadata is raw_app_meta_data."""
    row = conn.execute(
        "SELECT raw_app_meta_data, raw_user_meta_data, email FROM auth.users WHERE id = %(u)s",
        {"u": user_id},
    ).fetchone()
    assert row is not None
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "sub": str(user_id),
        "aud": "authenticated",
        "role": "authenticated",
        "email": row["email"],
        "iat": now,
        "exp": now + 3600,
        "app_metadata": row["raw_app_meta_data"],
        "user_metadata": row["raw_user_meta_data"],
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


def test_the_documented_sql_makes_a_coordinator_and_a_mentor_the_api_recognises(
    conn: Connection, database_url: str
) -> None:
    org = conn.execute(
        "INSERT INTO organizations (name) VALUES ('Oslo Peer Network') RETURNING id"
    ).fetchone()
    assert org is not None
    cora, mia = sign_up(conn, "cora@example.org"), sign_up(conn, "mia@example.org")
    conn.execute(documented_sql().encode())

    mentor = conn.execute(
        "SELECT pm.id, pm.organization_id, c.user_id AS coordinator_user FROM peer_mentors pm"
        " JOIN coordinators c ON c.id = pm.coordinator_id WHERE pm.user_id = %(u)s",
        {"u": mia},
    ).fetchone()
    assert mentor is not None
    assert (mentor["organization_id"], mentor["coordinator_user"]) == (org["id"], cora)
    contact = conn.execute(
        "INSERT INTO contacts (organization_id, first_name, last_name)"
        " VALUES (%(o)s, 'Kim', 'Contact') RETURNING id",
        {"o": org["id"]},
    ).fetchone()
    assert contact is not None
    assignment = conn.execute(
        "INSERT INTO assignments (organization_id, peer_mentor_id, contact_id, starts_on)"
        " VALUES (%(o)s, %(m)s, %(c)s, %(s)s) RETURNING id",
        {"o": org["id"], "m": mentor["id"], "c": contact["id"], "s": STARTED},
    ).fetchone()
    assert assignment is not None

    # the Data API: the row decides what each reads
    with as_supabase_user(conn, mia, "peer_mentor"):
        assert conn.execute("SELECT id FROM contacts").fetchall() == [{"id": contact["id"]}]
    with as_supabase_user(conn, cora, "coordinator"):
        mentors = conn.execute("SELECT user_id FROM peer_mentors").fetchall()
        assert mentors == [{"user_id": mia}]

    # the HTTP API: the role in app_metadata, from auth.users
    activity = {"assignment_id": assignment["id"], "occurred_on": str(TODAY - timedelta(days=1))}
    with api_client(database_url, NOW) as client:
        as_mia = {"Authorization": f"Bearer {access_token(conn, mia)}"}
        as_cora = {"Authorization": f"Bearer {access_token(conn, cora)}"}
        assert client.post("/activities", json=activity, headers=as_mia).status_code == 201
        r = client.post("/coordinator/activities", json=activity, headers=as_cora)
        assert r.status_code == 201, r.text
        # Mia's token as a coordinator's: refused, the role is hers alone
        r = client.post("/coordinator/activities", json=activity, headers=as_mia)
        assert r.status_code == 403, r.text


def test_deleting_a_mentors_login_is_refused_until_their_row_is_gone_and_takes_their_choices(
    conn: Connection,
) -> None:
    conn.execute("INSERT INTO organizations (name) VALUES ('Oslo Peer Network')")
    sign_up(conn, "cora@example.org")
    mia = sign_up(conn, "mia@example.org")
    conn.execute(documented_sql().encode())
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="peer_mentors_user_id_fkey"):
        conn.execute("DELETE FROM auth.users WHERE id = %(u)s", {"u": mia})
    conn.execute(
        "INSERT INTO reminders.delivery_preferences (user_id, channel, enabled)"
        " VALUES (%(u)s, 'email', false)",
        {"u": mia},
    )
    conn.execute("DELETE FROM peer_mentors WHERE user_id = %(u)s", {"u": mia})
    conn.execute("DELETE FROM auth.users WHERE id = %(u)s", {"u": mia})
    left = conn.execute("SELECT count(*) AS n FROM reminders.delivery_preferences").fetchone()
    assert left == {"n": 0}  # a person's channel choices go with their login


def test_a_mentor_row_needs_the_users_id(conn: Connection) -> None:
    """No made-up default: a row without a login is refused, and so is an unknown login."""
    org = conn.execute("INSERT INTO organizations (name) VALUES ('x') RETURNING id").fetchone()
    assert org is not None
    coordinator = (
        "INSERT INTO coordinators (organization_id, first_name, last_name{col})"
        " VALUES (%(o)s, 'a', 'b'{val})"
    )
    with pytest.raises(psycopg.errors.NotNullViolation):
        conn.execute(coordinator.format(col="", val=""), {"o": org["id"]})
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="coordinators_user_id_fkey"):
        conn.execute(
            coordinator.format(col=", user_id", val=", gen_random_uuid()"), {"o": org["id"]}
        )
