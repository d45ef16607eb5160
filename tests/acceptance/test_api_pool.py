"""The API's connection pool against a database that goes away and comes back: `reminders serve`
keeps answering /health, answers 503 (problem+json) while it cannot get a connection, and
serves again once the database is back, without a restart. The PostgreSQL is this test's own."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from assignment_reminders.db.database import connect
from assignment_reminders.db.embedded import stop_embedded_database
from tests.acceptance.test_database_faults import own_server, restart
from tests.activity_world import SECRET, bearer, make_world
from tests.conftest import wait_for
from tests.served import served

pytestmark = pytest.mark.slow
__all__ = ["own_server"]  # the fixture: a PostgreSQL of this test's own, migrated


def pool_metric(base: str, name: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    [line] = [x for x in text.splitlines() if x.startswith(name + " ")]
    return float(line.split()[1])


def test_health_answers_while_the_database_is_down_and_the_pool_recovers(
    own_server: tuple[Path, str], cli_env: dict[str, str]
) -> None:
    data, url = own_server
    with connect(url, purpose="test-world") as c:
        w = make_world(c)
    env = {
        **cli_env,
        "DATABASE_URL": url,
        "REMINDERS_JWT_SECRET": SECRET,
        "REMINDERS_DB_POOL_TIMEOUT_SECONDS": "1",
    }
    yesterday = datetime.now(ZoneInfo("Europe/Oslo")).date() - timedelta(days=1)

    with served(env, "--no-builtin-cron") as base:

        def post() -> httpx.Response:
            return httpx.post(
                f"{base}/activities",
                json={"assignment_id": w.assignment, "occurred_on": yesterday.isoformat()},
                headers=bearer(w.mentor, "peer_mentor"),
                timeout=10,
            )

        assert post().status_code == 201
        assert pool_metric(base, "reminders_db_pool_connections") >= 1

        stop_embedded_database(data)
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200
        down = post()
        assert down.status_code == 503, down.text
        assert down.headers["content-type"].startswith("application/problem+json")
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200

        restart(data)
        wait_for(lambda: post().status_code == 201, timeout=60, interval=0.2)
        # the connections the stop broke were noticed and replaced, not handed out again
        assert pool_metric(base, "reminders_db_pool_connections_lost_total") >= 1
