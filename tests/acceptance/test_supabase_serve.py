"""`reminders serve` as a real process configured like a Supabase project's neighbour: signing keys
from a JWKS server, the cron job's secret, and CORS for a browser app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from assignment_reminders.db.database import Connection
from tests.activity_world import make_world
from tests.served import served
from tests.signing_keys import JwksServer, ec_key, jwks_server, user_claims

pytestmark = pytest.mark.slow

APP = "https://mentors.example.org"
CRON_SECRET = "acceptance-cron-secret-0123456789abcdef"


@pytest.fixture
def project() -> Iterator[JwksServer]:
    with jwks_server(ec_key()) as server:
        yield server


@pytest.fixture
def server(cli_env: dict[str, str], project: JwksServer) -> Iterator[str]:
    env = {
        **cli_env,
        "SUPABASE_URL": project.url,
        "REMINDERS_CRON_SECRET": CRON_SECRET,
        "REMINDERS_CORS_ORIGINS": f"{APP},http://localhost:3000",
    }
    with served(env, "--no-builtin-cron") as base:
        yield base


def test_browser_app_preflight_then_a_signed_in_mentor_registers_a_contact(
    server: str, project: JwksServer, conn: Connection
) -> None:
    preflight = httpx.options(
        f"{server}/activities",
        headers={
            "Origin": APP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,apikey,content-type,x-client-info",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in preflight.headers

    refused = httpx.options(
        f"{server}/activities",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in refused.headers

    w = make_world(conn)
    yesterday = datetime.now(ZoneInfo("Europe/Oslo")).date() - timedelta(days=1)
    token = ec_key().sign(user_claims(project.issuer, str(w.mentor), app_role="peer_mentor"))
    r = httpx.post(
        f"{server}/activities",
        json={"assignment_id": w.assignment, "occurred_on": yesterday.isoformat()},
        headers={
            "Origin": APP,
            "Authorization": f"Bearer {token}",
            "apikey": "sb_publishable_AbCdEfGhIjKlMnOpQrStUv_12345678",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["access-control-allow-origin"] == APP


def test_cron_secret_runs_the_job_over_http(server: str, conn: Connection) -> None:
    r = httpx.post(
        f"{server}/functions/v1/assignment-reminder-cron",
        headers={"Authorization": f"Bearer {CRON_SECRET}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    row = conn.execute(
        "SELECT status, trigger_source FROM reminders.cron_execution_logs"
    ).fetchone()
    assert row == {"status": "success", "trigger_source": "http"}
