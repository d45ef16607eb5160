"""The API with a Supabase project's credentials: signing keys (JWKS), the legacy secret, the
``apikey`` header supabase-js sends, and the cron job's own secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from assignment_reminders.api.app import create_app
from assignment_reminders.api.deps import request_now
from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection
from tests.activity_world import NOW, SECRET, TODAY, World, make_world
from tests.signing_keys import JwksServer, ec_key, jwks_server, rsa_key, user_claims

CRON = "/functions/v1/assignment-reminder-cron"
CRON_SECRET = "cron-secret-for-tests-0123456789abcdef"
PUBLISHABLE = "sb_publishable_AbCdEfGhIjKlMnOpQrStUv_12345678"
SB_SECRET = "sb_secret_AbCdEfGhIjKlMnOpQrStUv_12345678"


@pytest.fixture
def project() -> Iterator[JwksServer]:
    with jwks_server(ec_key(), rsa_key()) as server:
        yield server


@pytest.fixture
def client(database_url: str, project: JwksServer) -> Iterator[TestClient]:
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "SUPABASE_URL": project.url,
            "REMINDERS_JWT_SECRET": SECRET,
            "REMINDERS_CRON_SECRET": CRON_SECRET,
        }
    )
    app = create_app(settings)
    app.dependency_overrides[request_now] = lambda: NOW
    with TestClient(app) as c:
        yield c


@pytest.fixture
def world(conn: Connection) -> World:
    return make_world(conn)


def activity(world: World) -> dict[str, object]:
    return {"assignment_id": world.assignment, "occurred_on": str(TODAY - timedelta(days=1))}


def count(conn: Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()
    assert row is not None
    return int(row["n"])


def test_supabase_js_request_with_a_signing_key_token_and_a_publishable_key(
    client: TestClient, project: JwksServer, world: World, conn: Connection
) -> None:
    """What supabase-js sends: the session's access token and the project's publishable key."""
    for key in (ec_key(), rsa_key()):
        token = key.sign(user_claims(project.issuer, str(world.mentor), app_role="peer_mentor"))
        r = client.post(
            "/activities",
            json=activity(world),
            headers={"Authorization": f"Bearer {token}", "apikey": PUBLISHABLE},
        )
        assert r.status_code == 201, r.text
    assert count(conn, "activities") == 2


def test_legacy_hs256_user_tokens_work_beside_signing_keys(
    client: TestClient, project: JwksServer, world: World
) -> None:
    claims = user_claims(project.issuer, str(world.mentor), app_role="peer_mentor")
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    r = client.post(
        "/activities", json=activity(world), headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"apikey": PUBLISHABLE}, "missing Authorization"),
        ({"Authorization": f"Bearer {PUBLISHABLE}"}, "Supabase API key"),
        ({"Authorization": f"Bearer {SB_SECRET}"}, "Supabase API key"),
        ({"Authorization": f"Bearer {CRON_SECRET}"}, "not a JWT"),  # the job's, not a user's
    ],
)
def test_api_keys_and_the_cron_secret_are_not_user_credentials(
    client: TestClient, world: World, conn: Connection, headers: dict[str, str], says: str
) -> None:
    r = client.post("/activities", json=activity(world), headers=headers)
    assert r.status_code == 401
    assert says in r.json()["detail"]
    assert SB_SECRET not in r.text and CRON_SECRET not in r.text
    assert count(conn, "activities") == 0


def test_auth_server_down_is_503_and_writes_nothing(
    client: TestClient, project: JwksServer, world: World, conn: Connection
) -> None:
    project.fail = True
    token = ec_key().sign(user_claims(project.issuer, str(world.mentor), app_role="peer_mentor"))
    r = client.post(
        "/activities", json=activity(world), headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 503
    assert "signing keys could not be fetched" in r.json()["detail"]
    assert count(conn, "activities") == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {CRON_SECRET}"},
        {"apikey": CRON_SECRET},
        {"apikey": CRON_SECRET, "Authorization": f"Bearer {PUBLISHABLE}"},
        {
            "Authorization": "Bearer "
            + jwt.encode({"role": "service_role", "iss": "supabase", "exp": 2**31}, SECRET, "HS256")
        },
    ],
    ids=["bearer-secret", "apikey-secret", "apikey-secret-beside-a-key", "service-role-jwt"],
)
def test_cron_endpoint_accepts_the_job_secret_or_a_service_role_jwt(
    client: TestClient, conn: Connection, headers: dict[str, str]
) -> None:
    r = client.post(CRON, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "success"
    assert count(conn, "reminders.cron_execution_logs") == 1


@pytest.mark.parametrize(
    ("headers", "code", "says"),
    [
        ({"Authorization": f"Bearer {CRON_SECRET}x"}, 401, "neither this job's secret"),
        ({"apikey": CRON_SECRET[:-1]}, 401, "REMINDERS_CRON_SECRET"),
        ({"apikey": SB_SECRET}, 401, "REMINDERS_CRON_SECRET"),
        ({"Authorization": f"Bearer {SB_SECRET}"}, 401, "REMINDERS_CRON_SECRET"),
        ({"Authorization": f"Bearer {PUBLISHABLE}", "apikey": PUBLISHABLE}, 401, "API keys"),
        ({}, 401, "missing Authorization"),
    ],
)
def test_cron_endpoint_refuses_anything_else(
    client: TestClient, conn: Connection, headers: dict[str, str], code: int, says: str
) -> None:
    r = client.post(CRON, headers=headers)
    assert r.status_code == code
    assert says in r.json()["detail"]
    assert CRON_SECRET not in r.text and SB_SECRET not in r.text
    assert count(conn, "reminders.cron_execution_logs") == 0


def test_cron_endpoint_refuses_a_signed_in_user(
    client: TestClient, project: JwksServer, conn: Connection
) -> None:
    token = ec_key().sign(user_claims(project.issuer, app_role="admin"))
    r = client.post(CRON, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    assert count(conn, "reminders.cron_execution_logs") == 0
