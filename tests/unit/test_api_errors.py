"""Every 4xx and 5xx of the API is one RFC 9457 problem body (no database is touched)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assignment_reminders.api.activities import ActivityIn
from assignment_reminders.api.app import create_app
from assignment_reminders.api.errors import MEDIA_TYPE, field_name, install, safe_text
from assignment_reminders.config import Settings
from assignment_reminders.exceptions import ConfigurationError, TransactionPoolerError
from tests.jwt_tokens import SECRET, bearer

CRON = "/functions/v1/assignment-reminder-cron"
MEMBERS = {"type", "title", "status", "detail"}


def refuse(*args: Any, **kwargs: Any) -> Any:
    raise TransactionPoolerError("the lock connection to x is transaction-pooled: use y")


def explode(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("secret-input-value")


def app_client(run_job: Any = refuse, env: dict[str, str] | None = None) -> TestClient:
    settings = Settings.from_env({"REMINDERS_JWT_SECRET": SECRET, **(env or {})})
    return TestClient(create_app(settings, run_job=run_job), raise_server_exceptions=False)


def model_client() -> TestClient:
    """A bare app with the real body model and the real handlers: validation without auth."""
    app = FastAPI()
    install(app)

    @app.post("/items")
    def items(body: ActivityIn) -> dict[str, str]:
        return {"ok": "yes"}

    return TestClient(app)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert set(body) >= MEMBERS
    assert body["status"] == status
    return body


def test_a_refused_lock_connection_answers_503_with_the_fix() -> None:
    response = app_client().post(CRON, headers=bearer("service_role"), json={})
    body = assert_problem(response, 503)
    assert body["detail"] == "the lock connection to x is transaction-pooled: use y"


def test_missing_token_is_401_with_www_authenticate() -> None:
    response = app_client().post(CRON, json={})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_role_is_403() -> None:
    assert_problem(app_client().post(CRON, headers=bearer("anon"), json={}), 403)


def test_unknown_route_and_wrong_method_are_problems() -> None:
    client = app_client()
    assert assert_problem(client.get("/nowhere"), 404)["type"] == "about:blank"
    response = client.get(CRON)
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"


def test_an_unexpected_error_is_500_without_echoing_anything() -> None:
    response = app_client(run_job=explode).post(CRON, headers=bearer("service_role"), json={})
    body = assert_problem(response, 500)
    assert "secret-input-value" not in response.text
    assert body["title"] == "Internal error"


def test_an_unreachable_database_is_503() -> None:
    client = app_client(env={"DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/x?connect_timeout=2"})
    body = assert_problem(client.get("/ops"), 503)
    assert "pw" not in body["detail"]


def test_a_naive_now_is_422_naming_the_field() -> None:
    response = app_client().post(
        CRON, headers=bearer("service_role"), json={"now": "2026-11-28T06:00:00"}
    )
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["now"]


def test_a_distant_now_is_judged_before_the_job_runs() -> None:
    """The database's clock is read first: while it cannot be, a 503, and the job not called."""
    down = {
        "DATABASE_URL": "postgresql://u:pw@127.0.0.1:1/x?connect_timeout=2",
        "REMINDERS_DB_POOL_TIMEOUT_SECONDS": "0.2",  # the database is down: 503 at once
    }
    response = app_client(run_job=explode, env=down).post(
        CRON, headers=bearer("service_role"), json={"now": "2030-01-01T06:00:00Z"}
    )
    body = assert_problem(response, 503)
    assert "pw" not in body["detail"]


def test_allow_distant_now_must_be_a_json_boolean() -> None:
    response = app_client().post(
        CRON,
        headers=bearer("service_role"),
        json={"now": "2030-01-01T06:00:00Z", "allow_distant_now": "true"},
    )
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["allow_distant_now"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"assignment_id": True, "occurred_on": "2026-11-01"}, "assignment_id"),
        ({"assignment_id": "1", "occurred_on": "2026-11-01"}, "assignment_id"),
        ({"assignment_id": 1.5, "occurred_on": "2026-11-01"}, "assignment_id"),
        ({"assignment_id": 2**63, "occurred_on": "2026-11-01"}, "assignment_id"),
        ({"assignment_id": 1, "occurred_on": 0}, "occurred_on"),
        ({"assignment_id": 1, "occurred_on": "1732752000"}, "occurred_on"),
        ({"assignment_id": 1, "occurred_on": "2026-11-01", "note": 5}, "note"),
        ({"occurred_on": "2026-11-01"}, "assignment_id"),
        ({"assignment_id": 1, "occurred_on": "2026-11-01", "extra": 1}, "extra"),
    ],
)
def test_strict_types_refuse_look_alikes_naming_the_field(body: dict[str, Any], field: str) -> None:
    problem = assert_problem(model_client().post("/items", json=body), 422)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert field in problem["detail"]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b'{"assignment_id": 1, "occurred_on": "2026-11-01", "\\ud800": 1}', 422),
        (b'{"assignment_id": "\\udfff", "occurred_on": "\\ud800"}', 422),
        (b'{"assignment_id": 1e400, "occurred_on": "2026-11-01"}', 422),
        (b'{"assignment_id": 1, "occurred_on": [' + b"[" * 50 + b"]" * 50 + b"]}", 422),
        (b'{"a": NaN}', 422),
        (b"[]", 422),
        (b"", 422),
        (b"{", 422),
        # the body cannot even be decoded: FastAPI's 400, answered as the documented 422
        (b'{"assignment_id": 1' + b"0" * 5000 + b', "occurred_on": "2026-11-01"}', 422),
        (b'{"assignment_id": 1, "occurred_on": "\xff\xfe"}', 422),
    ],
)
def test_the_validation_handler_never_fails_and_never_echoes(raw: bytes, status: int) -> None:
    response = model_client().post(
        "/items", content=raw, headers={"content-type": "application/json"}
    )
    body = assert_problem(response, status)
    json.dumps(body, ensure_ascii=False).encode("utf-8")  # encodable, strictly
    assert "00000" not in response.text
    assert body["errors"], body


def test_a_bulk_refusal_lists_each_item_with_its_status() -> None:
    from assignment_reminders.exceptions import FieldRejection, ItemsRejectedError

    app = FastAPI()
    install(app)

    @app.post("/bulk")
    def bulk() -> None:
        raise ItemsRejectedError(
            [FieldRejection("items[1].assignment_id", "not yours", 403)], status=403
        )

    body = assert_problem(TestClient(app).post("/bulk"), 403)
    assert body["errors"] == [
        {"field": "items[1].assignment_id", "message": "not yours", "status": 403}
    ]


def test_field_names_and_text_are_safe() -> None:
    assert field_name(("body", "items", 1, "occurred_on")) == "items[1].occurred_on"
    assert field_name(("body",)) == "body"
    assert field_name(("path", "activity_id")) == "activity_id"
    assert safe_text("\ud800x") == "?x"
    assert len(safe_text("x" * 10_000)) == 500


def test_a_misconfiguration_is_500_and_the_log_has_the_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def misconfigured(*args: Any, **kwargs: Any) -> Any:
        raise ConfigurationError("REMINDERS_LOCK_ROLE is 'x', a role this database does not have")

    response = app_client(run_job=misconfigured).post(CRON, headers=bearer("service_role"), json={})
    body = assert_problem(response, 500)
    assert body["title"] == "The service is misconfigured"
    assert "REMINDERS_LOCK_ROLE" not in response.text
    assert "REMINDERS_LOCK_ROLE" in caplog.text
