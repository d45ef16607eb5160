"""POST /functions/v1/assignment-reminder-cron: the same code path as `reminders run`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from fastapi.testclient import TestClient

from assignment_reminders.api import create_app
from assignment_reminders.config import Settings
from assignment_reminders.database import Connection
from assignment_reminders.lock import LOCK_KEY
from tests import factories
from tests.jwt_tokens import SECRET, bearer

URL = "/functions/v1/assignment-reminder-cron"


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = Settings.from_env({"DATABASE_URL": database_url, "REMINDERS_JWT_SECRET": SECRET})
    with TestClient(create_app(settings)) as c:
        yield c


def test_service_role_token_runs_the_job(client: TestClient, conn: Connection) -> None:
    factories.assignment(conn, starts_on=date(2026, 11, 10))
    response = client.post(URL, headers=bearer(), json={"now": "2026-11-28T06:00:00+01:00"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["counts"]["reminders_created"] == 1
    row = conn.execute(
        "SELECT status, trigger_source FROM reminders.cron_execution_logs"
    ).fetchone()
    assert row == {"status": "success", "trigger_source": "http"}


def test_lock_held_elsewhere_answers_200_skipped(
    client: TestClient, conn: Connection, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        response = client.post(URL, headers=bearer())
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["note"]) == ("skipped", "advisory_lock_held")


def test_failed_run_answers_500_with_the_outcome(client: TestClient, conn: Connection) -> None:
    factories.assignment(conn, starts_on=date(2026, 11, 10))
    conn.execute("ALTER TABLE peer_mentors RENAME TO peer_mentors_gone")
    response = client.post(URL, headers=bearer())
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["outcome"]["status"] == "failed"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"Authorization": "Bearer not-a-jwt"}, 401),
        (bearer(secret="another-secret-another-secret-xx"), 401),
        (bearer(expires_in=-10), 401),
        (bearer("anon"), 403),
        (bearer("authenticated"), 403),
    ],
)
def test_only_service_role_tokens_may_call(
    client: TestClient, conn: Connection, headers: dict[str, str], code: int
) -> None:
    response = client.post(URL, headers=headers)
    assert response.status_code == code
    assert "detail" in response.json()
    assert conn.execute("SELECT count(*) AS n FROM reminders.cron_execution_logs").fetchone() == {
        "n": 0
    }


def test_naive_now_is_422_naming_the_field(client: TestClient) -> None:
    response = client.post(URL, headers=bearer(), json={"now": "2026-11-28T06:00:00"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["now"]


def test_health_needs_no_database_and_ready_checks_it(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}


def test_ready_reports_pending_migrations(empty_database_url: str) -> None:
    settings = Settings.from_env({"DATABASE_URL": empty_database_url})
    with TestClient(create_app(settings)) as c:
        response = c.get("/ready")
    assert response.status_code == 503
    assert response.json()["detail"] == "migrations pending"
