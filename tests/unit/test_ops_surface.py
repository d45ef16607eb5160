"""The operator surface: the ops token, error bodies without hosts or users, a scrape that
answers while the database is down, per-route HTTP durations (no database is reachable here)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assignment_reminders.api.app import create_app
from assignment_reminders.api.ops_auth import is_loopback
from assignment_reminders.config import Settings
from assignment_reminders.locking.pooler_check import refusal
from assignment_reminders.monitoring.redact import short_error
from tests.jwt_tokens import SECRET, bearer

TOKEN = "ops-token-0123456789"
DOWN_URL = "postgresql://dbadmin:pw@db.internal.example:5432/prod?connect_timeout=2"  # refused


def client(**env: str) -> TestClient:
    settings = Settings.from_env({"DATABASE_URL": DOWN_URL, **env})
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.mark.parametrize("path", ["/ops", "/metrics"])
def test_with_an_ops_token_ops_and_metrics_need_it(path: str) -> None:
    c = client(REMINDERS_OPS_TOKEN=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        response = c.get(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in response.text
    authorized = c.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert authorized.status_code != 401


def test_health_stays_open_with_an_ops_token() -> None:
    assert client(REMINDERS_OPS_TOKEN=TOKEN).get("/health").json() == {"status": "ok"}


def test_without_an_ops_token_metrics_are_open() -> None:
    assert client().get("/metrics").status_code == 200


def test_a_scrape_answers_200_with_database_up_0_when_the_database_is_down() -> None:
    response = client(REMINDERS_OPS_TOKEN=TOKEN).get(
        "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200
    assert re.search(r"^reminders_database_up 0\.0$", response.text, re.MULTILINE)
    assert "reminders_job_runs_total" not in response.text  # nothing stale or made up
    assert "db.internal.example" not in response.text and "dbadmin" not in response.text


@pytest.mark.parametrize("path", ["/ready", "/ops"])
def test_error_bodies_name_no_host_and_no_user(path: str) -> None:
    response = client().get(path)
    assert response.status_code == 503
    for leak in ("db.internal.example", "dbadmin", "pw", "prod"):
        assert leak not in response.text, leak


def test_http_request_durations_are_labelled_by_route_template_and_status() -> None:
    c = client()
    c.get("/health")
    c.get("/health")
    c.get("/nowhere/12345")
    text = c.get("/metrics").text
    count = "reminders_http_request_duration_seconds_count"
    assert f'{count}{{method="GET",route="/health",status="200"}} 2.0' in text
    assert f'{count}{{method="GET",route="unmatched",status="404"}} 1.0' in text
    assert "12345" not in text


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),  # noqa: S104 - the value under test
        ("::", False),
        ("10.0.0.5", False),
        ("reminders.internal", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("error", "leaks"),
    [
        (
            'IntegrityError: duplicate key value violates unique constraint "x_key"\n'
            "DETAIL:  Key (user_id)=(3f1c2d4e-1111-2222-3333-444455556666) already exists.",
            ["3f1c2d4e", "DETAIL", "x_key"],
        ),
        (
            "InvalidTextRepresentation: invalid input syntax for type uuid: 'kari@example.org'",
            ["kari@example.org"],
        ),
        ("OperationalError: connection to db.example.org:5432 failed", ["db.example.org"]),
        ("RuntimeError: row 3f1c2d4e-1111-2222-3333-444455556666 is bad", ["3f1c2d4e"]),
    ],
)
def test_short_errors_carry_no_row_values(error: str, leaks: list[str]) -> None:
    short = short_error(error)
    assert short is not None
    assert (
        short.split(":", maxsplit=1)[0] == error.split(":", maxsplit=1)[0]
    )  # the kind of error stays
    for leak in leaks:
        assert leak not in short


def test_a_refused_lock_names_the_fix_but_not_the_database_address() -> None:
    url = "postgresql://postgres.abcdef:pw@aws-0-eu-north-1.pooler.supabase.com:6543/postgres"

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise refusal(url, "pgbouncer")

    settings = Settings.from_env({"DATABASE_URL": DOWN_URL, "REMINDERS_JWT_SECRET": SECRET})
    app = TestClient(create_app(settings, run_job=refuse))
    response = app.post("/functions/v1/assignment-reminder-cron", headers=bearer("service_role"))
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "REMINDERS_LOCK_SCOPE=transaction" in detail
    for leak in ("postgres.abcdef", "pooler.supabase.com", "pw@"):
        assert leak not in response.text
