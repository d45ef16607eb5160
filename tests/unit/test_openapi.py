"""The OpenAPI document is one a client generator can use, and the API answers what it says:
explicit operation ids, security schemes, a response model for every status, and one error body
(RFC 9457 problem+json) that real error responses validate against. No database is reachable."""

from __future__ import annotations

from typing import Any, NamedTuple
from uuid import uuid4

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from assignment_reminders.api.app import create_app
from assignment_reminders.api.errors import MEDIA_TYPE
from assignment_reminders.api.openapi import OPERATION_IDS
from assignment_reminders.config import Settings
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.run_status import RunStatus
from assignment_reminders.job.trigger import RunOutcome
from tests.activity_world import SECRET, bearer
from tests.jwt_tokens import bearer as service_bearer

OPS_TOKEN = "ops-token-for-the-openapi-test"
DOWN = "postgresql://app:pw@127.0.0.1:5432/x?connect_timeout=2"  # refused: tests/unit/conftest.py


def failed_run(*args: Any, **kwargs: Any) -> RunOutcome:
    return RunOutcome(
        invocation_id=uuid4(),
        status=RunStatus.FAILED,
        run_id=7,
        error="UniqueViolation: Key (user_id)=(3f1c2d4e-1111-2222-3333-444455556666) exists",
        counts=RunCounts(due_rows_read=10),
    )


def app_client() -> TestClient:
    settings = Settings.from_env(
        {
            "DATABASE_URL": DOWN,
            "REMINDERS_JWT_SECRET": SECRET,
            "REMINDERS_OPS_TOKEN": OPS_TOKEN,
            "REMINDERS_DB_POOL_TIMEOUT_SECONDS": "0.2",  # the database is down: 503 at once
        }
    )
    return TestClient(create_app(settings, run_job=failed_run), raise_server_exceptions=False)


CLIENT = app_client()
DOC: dict[str, Any] = CLIENT.get("/openapi.json").json()
OPERATIONS = [
    (path, method, operation)
    for path, item in DOC["paths"].items()
    for method, operation in item.items()
]


def test_every_operation_has_its_explicit_operation_id() -> None:
    ids = [operation["operationId"] for _, _, operation in OPERATIONS]
    assert sorted(ids) == sorted(OPERATION_IDS.values())
    assert len(set(ids)) == len(ids)
    assert all(i[0].islower() and "_" not in i for i in ids)  # camelCase, as generators expect


def test_security_schemes_are_bearer_jwt_apikey_and_the_ops_token() -> None:
    schemes = DOC["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["bearerAuth"]["bearerFormat"] == "JWT"
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header"}
    assert schemes["apiKey"]["name"] == "apikey"
    assert schemes["opsToken"]["scheme"] == "bearer"
    used = {name for _, _, op in OPERATIONS for entry in op.get("security", []) for name in entry}
    assert used == set(schemes)
    by_id = {op["operationId"]: op.get("security") for _, _, op in OPERATIONS}
    assert by_id["runReminderJob"] == [{"bearerAuth": []}, {"apiKey": []}]  # either one
    assert by_id["getOpsPage"] == by_id["getMetrics"] == [{"opsToken": []}]
    assert by_id["registerActivity"] == [{"bearerAuth": []}]
    assert by_id["getHealth"] is None


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS)
def test_every_status_has_a_response_model_and_errors_are_problems(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    responses = operation["responses"]
    assert responses, f"{method} {path}"
    assert "default" not in responses
    for status, response in responses.items():
        assert response["description"]
        [(media, content)] = response["content"].items()
        assert content["schema"], f"{method} {path} {status}"
        if int(status) >= 400:
            assert media == MEDIA_TYPE
            name = content["schema"]["$ref"].rsplit("/", 1)[1]
            schema = DOC["components"]["schemas"][name]
            assert {"type", "title", "status", "detail"} <= set(schema["required"]), name
    assert "HTTPValidationError" not in DOC["components"]["schemas"]


def conforms(response: Response, path: str, method: str) -> dict[str, Any]:
    """The response's status is documented for the operation and its body matches the schema."""
    documented = DOC["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, (method, path, response.status_code)
    [(media, content)] = documented[str(response.status_code)]["content"].items()
    assert response.headers["content-type"].split(";")[0] == media.split(";")[0]
    body: dict[str, Any] = response.json()
    validator = jsonschema_rs.validator_for({**content["schema"], "components": DOC["components"]})
    errors = [e.message for e in validator.iter_errors(body)]
    assert errors == [], (method, path, body)
    return body


CRON = "/functions/v1/assignment-reminder-cron"
USER = bearer(str(uuid4()), "peer_mentor")


class Call(NamedTuple):
    method: str
    path: str
    template: str  # the path as the document names it
    headers: dict[str, str]
    json: Any
    status: int


HISTORY = "/admin/assignments/{assignment_id}/last-contact-date/history"
VALID = {"assignment_id": 1, "occurred_on": "2026-11-01"}
FORM = "application/x-www-form-urlencoded"
SERVICE, ANON = service_bearer("service_role", secret=SECRET), service_bearer("anon", secret=SECRET)
CALLS = [
    Call("post", "/activities", "/activities", {}, {}, 401),
    Call("post", "/activities", "/activities", USER, {"assignment_id": "x"}, 422),
    Call("post", "/activities", "/activities", USER, VALID, 503),
    Call("delete", "/activities/1", "/activities/{activity_id}", USER, None, 503),
    Call("get", HISTORY.replace("{assignment_id}", "1"), HISTORY, USER, None, 403),
    Call("post", CRON, CRON, {}, None, 401),
    Call("post", CRON, CRON, ANON, None, 403),
    Call("post", CRON, CRON, SERVICE, {"now": 1}, 422),
    Call("post", CRON, CRON, SERVICE, {"now": "2030-01-01T06:00Z", "allow_distant_now": 1}, 422),
    Call("post", CRON, CRON, SERVICE, {"now": "2030-01-01T06:00:00Z"}, 503),  # the clock: down
    Call("get", "/ops", "/ops", {}, None, 401),
    Call("get", "/ops", "/ops", {"Authorization": f"Bearer {OPS_TOKEN}"}, None, 503),
    Call("get", "/metrics", "/metrics", {}, None, 401),
    Call("get", "/ready", "/ready", {}, None, 503),
]


@pytest.mark.parametrize("call", CALLS, ids=[f"{c.method} {c.path} {c.status}" for c in CALLS])
def test_error_answers_are_what_the_document_says(call: Call) -> None:
    response = CLIENT.request(call.method, call.path, headers=call.headers, json=call.json)
    assert response.status_code == call.status, response.text
    body = conforms(response, call.template, call.method)
    assert body["status"] == call.status
    for leak in ("127.0.0.1", "app@", "pw"):
        assert leak not in response.text


def test_a_failed_run_is_a_run_failed_problem_with_its_outcome_and_no_row_values() -> None:
    response = CLIENT.post(CRON, headers=service_bearer("service_role", secret=SECRET))
    assert response.status_code == 500
    body = conforms(response, CRON, "post")
    assert body["outcome"]["status"] == "failed"
    assert body["outcome"]["counts"]["due_rows_read"] == 10
    assert "3f1c2d4e" not in response.text


def test_health_answers_what_the_document_says() -> None:
    assert conforms(CLIENT.get("/health"), "/health", "get") == {"status": "ok"}


def test_the_cron_body_documents_now_and_its_limit_and_allow_distant_now() -> None:
    body = DOC["paths"][CRON]["post"]["requestBody"]["content"]["application/json"]["schema"]
    [ref] = [b["$ref"] for b in body["anyOf"] if "$ref" in b]  # the body is optional
    schema = DOC["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "24 hours from the database's clock" in schema["properties"]["now"]["description"]
    flag = schema["properties"]["allow_distant_now"]
    assert (flag["type"], flag["default"]) == ("boolean", False)
    assert "24 hours" in flag["description"]
    assert "422 naming ``now``" in DOC["paths"][CRON]["post"]["description"]


BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def integer_bounds(node: Any, where: str = "") -> list[tuple[str, str, Any]]:
    """(where, bound, value) of every bound of every integer schema in the document."""
    found: list[tuple[str, str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "integer":
            found += [(where, b, node[b]) for b in BOUNDS if b in node]
        for key, value in node.items():
            found += integer_bounds(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += integer_bounds(value, f"{where}/{i}")
    return found


def test_integer_limits_are_written_as_integers() -> None:
    bounds = integer_bounds(DOC)
    assert bounds, "no integer schema has a bound"
    assert [b for b in bounds if type(b[2]) is not int] == []
    item = DOC["components"]["schemas"]["ActivityIn"]["properties"]["assignment_id"]
    assert (item["exclusiveMinimum"], item["maximum"]) == (0, 9223372036854775807)
    assert '"maximum":9223372036854775807' in CLIENT.get("/openapi.json").text.replace(" ", "")


@pytest.mark.parametrize("body", [b'\xff{"a": 1}', b'{"now": "\xe9"}', b"{bad"])
def test_a_body_that_is_not_utf8_json_is_the_documented_422_naming_body(body: bytes) -> None:
    for path, headers in (("/activities", USER), (CRON, SERVICE)):
        response = CLIENT.post(
            path, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 422, (path, body, response.text)
        answer = conforms(response, path, "post")
        assert answer["type"].endswith("/validation")
        assert answer["errors"] == [{"field": "body", "message": "the body is not valid JSON"}]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"[]", "application/json"), (b'"now"', "application/json"), (b"now=x", FORM)],
)
def test_a_body_that_is_not_a_json_object_says_so(body: bytes, content_type: str) -> None:
    for path, headers in (("/activities", USER), (CRON, SERVICE)):
        response = CLIENT.post(
            path, content=body, headers={**headers, "Content-Type": content_type}
        )
        assert response.status_code == 422, (path, body, response.text)
        answer = conforms(response, path, "post")
        message = "the body must be a JSON object (sent as Content-Type: application/json)"
        assert answer["errors"] == [{"field": "body", "message": message}]


def test_an_item_that_is_not_a_json_object_is_named() -> None:
    response = CLIENT.post("/activities/bulk", headers=USER, json={"items": [VALID, [1]]})
    assert response.status_code == 422, response.text
    answer = conforms(response, "/activities/bulk", "post")
    assert answer["errors"] == [{"field": "items[1]", "message": "must be a JSON object"}]


def test_an_integral_number_is_an_id_as_json_schema_reads_it_and_true_is_not() -> None:
    ok = CLIENT.post("/activities", headers=USER, json={**VALID, "assignment_id": 1.0})
    assert ok.status_code == 503, ok.text  # past validation: the database is down here
    for wrong in (True, "1", 1.5):
        refused = CLIENT.post("/activities", headers=USER, json={**VALID, "assignment_id": wrong})
        assert refused.status_code == 422, (wrong, refused.text)
        assert conforms(refused, "/activities", "post")["type"].endswith("/validation")
