"""Signing in to /ops at the HTTP level: the session cookie, bad tokens, expired and forged
cookies, cross-site POSTs, browsers redirected while scripts get 401 (no database here: an
authorized /ops answers 503, which is enough to tell it was let in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from assignment_reminders.api.app import create_app
from assignment_reminders.api.ops_auth import (
    SESSION_COOKIE,
    SessionState,
    issue_session,
    session_state,
)
from assignment_reminders.config import Secret, Settings

TOKEN = "ops-token-for-the-sign-in-test-0123456789"
DOWN_URL = "postgresql://u:pw@127.0.0.1:5432/db?connect_timeout=1"  # refused (tests/unit)
SITE = "https://ops.example.org"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SAME_SITE = {"Origin": SITE}
LET_IN = {200, 503}  # /ops reads the database (down here): 503 means it got past the check


def client(**env: str) -> TestClient:
    settings = Settings.from_env({"DATABASE_URL": DOWN_URL, "REMINDERS_OPS_TOKEN": TOKEN, **env})
    return TestClient(
        create_app(settings), base_url=SITE, raise_server_exceptions=False, follow_redirects=False
    )


def signed_in() -> TestClient:
    c = client()
    response = c.post("/ops/sign-in", data={"token": TOKEN}, headers={**HTML, **SAME_SITE})
    assert response.status_code == 303, response.text
    return c


def test_a_browser_without_a_session_is_sent_to_the_sign_in_page() -> None:
    response = client().get("/ops", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/ops/sign-in?next=/ops"
    form = client().get(response.headers["location"], headers=HTML)
    assert form.status_code == 200
    assert 'type="password" id="token" name="token"' in form.text
    assert form.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("accept", ["*/*", "application/json", "application/openmetrics-text"])
@pytest.mark.parametrize("path", ["/ops", "/metrics"])
def test_scripts_without_credentials_still_get_the_401_problem(path: str, accept: str) -> None:
    response = client().get(path, headers={"Accept": accept})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


def test_signing_in_sets_a_secure_httponly_strict_expiring_session_that_is_not_the_token() -> None:
    c = client()
    response = c.post("/ops/sign-in", data={"token": TOKEN}, headers={**HTML, **SAME_SITE})
    assert response.status_code == 303
    assert response.headers["location"] == "/ops"
    cookie = response.headers["set-cookie"]
    attributes = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite", "max-age", "path"} <= set(attributes)
    assert attributes["samesite"].strip().lower() == "samesite=strict"
    assert attributes["max-age"].strip() == "Max-Age=43200"
    assert attributes["path"].strip() == "Path=/"
    assert TOKEN not in cookie
    value = c.cookies[SESSION_COOKIE]
    assert session_state(value, Secret(TOKEN), datetime.now(UTC)) is SessionState.VALID
    assert c.get("/ops", headers=HTML).status_code in LET_IN
    assert c.get("/metrics").status_code == 200


def test_the_page_of_a_signed_in_person_offers_sign_out_and_bearer_pages_stay_as_they_were() -> (
    None
):
    c = signed_in()
    assert c.get("/ops/sign-in", headers=HTML).status_code == 200  # the form still shows
    bearer = client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 200


@pytest.mark.parametrize(
    ("accept", "kind"), [(HTML["Accept"], "text/html"), ("*/*", "application/problem+json")]
)
def test_a_wrong_token_sets_no_cookie(accept: str, kind: str) -> None:
    c = client()
    for token in ("wrong", TOKEN[:-1], TOKEN + "x", ""):
        response = c.post(
            "/ops/sign-in", data={"token": token}, headers={"Accept": accept, **SAME_SITE}
        )
        assert response.status_code == 401, token
        assert response.headers["content-type"].startswith(kind)
        assert "set-cookie" not in response.headers
    assert (
        "That is not the ops token."
        in c.post("/ops/sign-in", data={"token": "wrong"}, headers={**HTML, **SAME_SITE}).text
    )
    problem = c.post("/ops/sign-in", data={"token": "wrong"}, headers=SAME_SITE).json()
    assert problem["errors"] == [{"field": "token", "message": "not the ops token"}]
    assert c.get("/ops", headers=HTML).status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "https://ops.example.org.evil.example"},
        {"Referer": "https://evil.example/ops"},
        {"Origin": "http://[::1"},
        {},  # neither: not from a page of this site
    ],
    ids=["other-origin", "null-origin", "lookalike", "other-referer", "malformed", "no-origin"],
)
def test_cross_site_posts_are_refused_and_change_nothing(headers: dict[str, str]) -> None:
    c = signed_in()
    session = c.cookies[SESSION_COOKIE]
    fresh = client()
    refused = fresh.post("/ops/sign-in", data={"token": TOKEN}, headers={**HTML, **headers})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "origin"
    assert "set-cookie" not in refused.headers
    out = c.post("/ops/sign-out", headers={**HTML, **headers})
    assert out.status_code == 403
    assert "set-cookie" not in out.headers
    assert c.cookies[SESSION_COOKIE] == session
    assert c.get("/ops", headers=HTML).status_code in LET_IN


def test_a_referer_of_this_site_is_enough_without_an_origin() -> None:
    response = client().post(
        "/ops/sign-in", data={"token": TOKEN}, headers={**HTML, "Referer": f"{SITE}/ops/sign-in"}
    )
    assert response.status_code == 303


def test_signing_out_clears_the_session() -> None:
    c = signed_in()
    response = c.post("/ops/sign-out", headers={**HTML, **SAME_SITE})
    assert response.status_code == 303
    assert response.headers["location"] == "/ops/sign-in?reason=signed-out"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f'{SESSION_COOKIE}="";') or cookie.startswith(f"{SESSION_COOKIE}=;")
    assert "Max-Age=0" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert SESSION_COOKIE not in c.cookies
    assert c.get("/ops", headers=HTML).status_code == 303
    assert "Signed out." in c.get(response.headers["location"], headers=HTML).text


def test_an_expired_session_sends_a_browser_to_sign_in_again_and_a_script_gets_401() -> None:
    expired = issue_session(Secret(TOKEN), datetime.now(UTC) - timedelta(hours=13))
    c = client()
    c.cookies.set(SESSION_COOKIE, expired, domain="ops.example.org")
    response = c.get("/ops", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/ops/sign-in?next=/ops&reason=expired"
    assert "Max-Age=0" in response.headers["set-cookie"]
    page = client().get(response.headers["location"], headers=HTML)
    assert "Your session has expired" in page.text
    script = client()
    script.cookies.set(SESSION_COOKIE, expired, domain="ops.example.org")
    assert script.get("/metrics").status_code == 401


def test_sessions_expire_and_cannot_be_forged_or_outlive_the_token() -> None:
    token, now = Secret(TOKEN), datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    value = issue_session(token, now, timedelta(hours=12))
    assert session_state(value, token, now + timedelta(hours=11, minutes=59)) is SessionState.VALID
    assert session_state(value, token, now + timedelta(hours=12)) is SessionState.EXPIRED
    version, expiry, nonce, signature = value.split(".")
    longer = f"{version}.{int(expiry) + 86400}.{nonce}.{signature}"
    assert session_state(longer, token, now) is SessionState.INVALID
    assert session_state(value, Secret(TOKEN + "-rotated"), now) is SessionState.INVALID
    assert session_state(TOKEN, token, now) is SessionState.INVALID
    assert session_state(None, token, now) is SessionState.NONE
    assert value != issue_session(token, now, timedelta(hours=12))  # a nonce per sign-in


@pytest.mark.parametrize("given", ["https://evil.example/", "//evil.example", "/admin"])
def test_signing_in_never_leads_off_the_ops_pages(given: str) -> None:
    response = client().post(
        "/ops/sign-in", data={"token": TOKEN, "next": given}, headers={**HTML, **SAME_SITE}
    )
    assert response.headers["location"] == "/ops"


def test_without_an_ops_token_there_is_nothing_to_sign_in_to() -> None:
    settings = Settings.from_env({"DATABASE_URL": DOWN_URL})
    c = TestClient(create_app(settings), base_url=SITE, follow_redirects=False)
    response = c.get("/ops/sign-in", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/ops"


def test_an_oversized_form_is_refused_without_being_read_whole() -> None:
    response = client().post(
        "/ops/sign-in", data={"token": "x" * 100_000}, headers={**HTML, **SAME_SITE}
    )
    assert response.status_code == 413
    assert response.json()["errors"] == [{"field": "token", "message": "too long"}]
    assert "set-cookie" not in response.headers
