"""CORS in-process: allowed origins get their headers, others and the default get none.

The same preflight through a real `reminders serve` is in tests/acceptance/test_supabase_serve.py.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assignment_reminders.api.app import create_app
from assignment_reminders.config import Settings

APP = "https://app.example.org"


def client(origins: str | None) -> TestClient:
    env = {"REMINDERS_CORS_ORIGINS": origins} if origins is not None else {}
    return TestClient(create_app(Settings.from_env(env)))


def preflight(c: TestClient, origin: str, method: str = "POST") -> dict[str, str]:
    r = c.options(
        "/activities",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, apikey, content-type, x-client-info",
        },
    )
    return {k.lower(): v for k, v in r.headers.items()} | {"status": str(r.status_code)}


def test_a_listed_origin_may_send_tokens_but_never_credentials() -> None:
    h = preflight(client(f"{APP},http://localhost:3000"), APP)
    assert h["status"] == "200"
    assert h["access-control-allow-origin"] == APP
    allowed = {v.strip() for v in h["access-control-allow-headers"].split(",")}
    assert {"authorization", "apikey", "content-type", "x-client-info"} <= allowed
    assert "POST" in h["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in h


def test_a_refused_preflight_is_a_problem_naming_what_was_refused() -> None:
    c = client(APP)
    r = c.options(
        "/activities",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PATCH"},
    )
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert "access-control-allow-origin" not in r.headers
    body = r.json()
    assert body["type"].endswith("/cors-refused")
    assert "origin, method" in body["detail"]
    assert "REMINDERS_CORS_ORIGINS" in body["detail"]


@pytest.mark.parametrize("origins", [None, "", "http://localhost:3000"])
def test_other_origins_and_the_default_get_no_cors_headers(origins: str | None) -> None:
    h = preflight(client(origins), APP)
    assert "access-control-allow-origin" not in h
    c = client(origins)
    r = c.get("/health", headers={"Origin": APP})
    assert "access-control-allow-origin" not in r.headers


def test_star_allows_any_origin_without_credentials() -> None:
    h = preflight(client("*"), "https://anywhere.example")
    assert h["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in h


def test_a_simple_request_from_a_listed_origin_carries_the_header() -> None:
    r = client(APP).get("/health", headers={"Origin": APP})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == APP
