"""Latency of registering one activity over the API (in-process ASGI, a real PostgreSQL).

Run: ``python -m benchmarks.activity_api [--requests N]`` (DATABASE_URL or the embedded
PostgreSQL; a scratch database, dropped afterwards). Each request opens its connection, checks the
caller, inserts in one transaction, and reads the new last_contact_date back.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import jwt
from fastapi.testclient import TestClient

from assignment_reminders.api import create_app
from assignment_reminders.config import AuthSettings, Secret, Settings
from assignment_reminders.database import connect
from assignment_reminders.migrations import migrate
from assignment_reminders.seed import seed
from assignment_reminders.tables import render

from .scratch import scratch_database

SECRET = "benchmark-secret-0123456789abcdef-0123"  # noqa: S105 - a throwaway signing key
TODAY = date(2026, 11, 28)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args(argv)
    with scratch_database("bench_api") as url:
        with connect(url, purpose="bench") as conn:
            migrate(conn)
            seed(conn, assignments=10_000, today=TODAY)
            conn.execute("ANALYZE")
            rows = conn.execute(
                "SELECT a.id, pm.user_id FROM assignments a"
                " JOIN peer_mentors pm ON pm.id = a.peer_mentor_id"
                " WHERE a.starts_on < %(d)s ORDER BY a.id LIMIT %(n)s",
                {"d": TODAY - timedelta(days=1), "n": args.requests},
            ).fetchall()
        settings = Settings(database_url=Secret(url), auth=AuthSettings(jwt_secret=Secret(SECRET)))
        client = TestClient(create_app(settings))
        exp = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
        samples = []
        for row in rows:
            claims = {
                "sub": str(row["user_id"]),
                "role": "authenticated",
                "exp": exp,
                "app_metadata": {"role": "peer_mentor"},
            }
            headers = {"Authorization": f"Bearer {jwt.encode(claims, SECRET, 'HS256')}"}
            body = {"assignment_id": row["id"], "occurred_on": str(TODAY - timedelta(days=1))}
            started = time.perf_counter()
            response = client.post("/activities", json=body, headers=headers)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.text
        samples.sort()
        print(
            render(
                [
                    {
                        "requests": len(samples),
                        "p50": statistics.median(samples),
                        "p95": samples[int(len(samples) * 0.95) - 1],
                        "max": samples[-1],
                    }
                ],
                [
                    ("requests", "POST /activities"),
                    ("p50", "p50 ms"),
                    ("p95", "p95 ms"),
                    ("max", "max ms"),
                ],
            )
        )


if __name__ == "__main__":
    main()
