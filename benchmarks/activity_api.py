"""Latency and throughput of registering activities over loopback HTTP (`reminders serve`).

Run: ``python -m benchmarks.activity_api [--assignments 200000] [--requests 500]
[--clients 32]`` (DATABASE_URL or the embedded PostgreSQL; a scratch database, dropped
afterwards). `reminders serve` runs as its own process with its connection pool; a mentor posts
one activity at a time (keep-alive), then ``--clients`` mentors post at once. Each request checks
the caller's token, inserts in one transaction (the triggers move last_contact_date and the due
index) and reads the new date back. The baseline is ``GET /health`` on the same server (HTTP and
the framework, no database), measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import jwt

from assignment_reminders.database import connect
from assignment_reminders.migrations import migrate
from assignment_reminders.seed import seed
from assignment_reminders.tables import render

from .scratch import scratch_database

SECRET = "benchmark-secret-0123456789abcdef-0123"  # noqa: S105 - a throwaway signing key
TODAY = date(2026, 11, 28)


@contextmanager
def serving(url: str) -> Iterator[str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
    env.update(DATABASE_URL=url, REMINDERS_JWT_SECRET=SECRET, REMINDERS_LOG_LEVEL="WARNING")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assignment_reminders",
            "serve",
            "--no-scheduler",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def headers_for(user_id: object) -> dict[str, str]:
    claims = {
        "sub": str(user_id),
        "role": "authenticated",
        "exp": int((datetime.now(UTC) + timedelta(hours=1)).timestamp()),
        "app_metadata": {"role": "peer_mentor"},
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, 'HS256')}"}


def timed(client: httpx.Client, method: str, url: str, **kw: Any) -> float:
    started = time.perf_counter()
    response = client.request(method, url, **kw)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:200]}")
    return elapsed


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(len(ordered) * p) - 1)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=500, help="sequential, and per phase")
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    with scratch_database("bench_api") as url:
        with connect(url, purpose="bench") as conn:
            migrate(conn)
            seed(conn, assignments=args.assignments, today=TODAY)
            conn.execute("VACUUM ANALYZE")
            rows = conn.execute(
                "SELECT a.id, pm.user_id FROM assignments a"
                " JOIN peer_mentors pm ON pm.id = a.peer_mentor_id"
                " WHERE a.starts_on < %(d)s ORDER BY a.id LIMIT %(n)s",
                {"d": TODAY - timedelta(days=1), "n": max(args.requests, args.clients)},
            ).fetchall()
        day = str(TODAY - timedelta(days=1))
        posts = [
            ({"assignment_id": r["id"], "occurred_on": day}, headers_for(r["user_id"]))
            for r in rows
        ]
        with serving(url) as base, httpx.Client(base_url=base) as client:
            for body, headers in posts[:20]:  # warm-up: the pool, the plans, the caches
                timed(client, "POST", "/activities", json=body, headers=headers)
            health = [timed(client, "GET", "/health") for _ in range(args.requests)]
            sequential = [
                timed(
                    client,
                    "POST",
                    "/activities",
                    json=posts[i % len(posts)][0],
                    headers=posts[i % len(posts)][1],
                )
                for i in range(args.requests)
            ]
            concurrent: list[float] = []
            lock = threading.Lock()

            def one_client(k: int) -> None:
                body, headers = posts[k % len(posts)]
                mine = []
                with httpx.Client(base_url=base) as c:
                    for _ in range(max(1, args.requests * 2 // args.clients)):
                        mine.append(timed(c, "POST", "/activities", json=body, headers=headers))
                with lock:
                    concurrent.extend(mine)

            threads = [threading.Thread(target=one_client, args=(k,)) for k in range(args.clients)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
    rate = len(concurrent) / wall
    h50 = statistics.median(health)
    s50, s95 = statistics.median(sequential), percentile(sequential, 0.95)
    c99 = percentile(concurrent, 0.99)
    table = [
        {
            "what": "GET /health, sequential (baseline)",
            "p50": h50,
            "p95": percentile(health, 0.95),
            "p99": percentile(health, 0.99),
            "rate": "-",
        },
        {
            "what": "POST /activities, sequential",
            "p50": s50,
            "p95": s95,
            "p99": percentile(sequential, 0.99),
            "rate": "-",
        },
        {
            "what": f"POST /activities, {args.clients} clients",
            "p50": statistics.median(concurrent),
            "p95": percentile(concurrent, 0.95),
            "p99": c99,
            "rate": f"{rate:,.0f}/s",
        },
    ]
    cols = [
        ("what", "requests"),
        ("p50", "p50 ms"),
        ("p95", "p95 ms"),
        ("p99", "p99 ms"),
        ("rate", "throughput"),
    ]
    print(render(table, cols))
    targets = [
        {
            "t": "sequential POST p50",
            "f": f"{s50:.1f} ms",
            "g": "<= 5 ms",
            "r": f"{s50 / h50:.1f}x /health",
            "m": "yes" if s50 <= 5 else "NO",
        },
        {
            "t": "sequential POST p95",
            "f": f"{s95:.1f} ms",
            "g": "<= 15 ms",
            "r": f"{s95 / h50:.1f}x /health p50",
            "m": "yes" if s95 <= 15 else "NO",
        },
        {
            "t": f"{args.clients} clients: throughput",
            "f": f"{rate:,.0f}/s",
            "g": ">= 500/s",
            "r": "-",
            "m": "yes" if rate >= 500 else "NO",
        },
        {
            "t": f"{args.clients} clients: p99",
            "f": f"{c99:.1f} ms",
            "g": "<= 50 ms",
            "r": f"{c99 / h50:.1f}x /health p50",
            "m": "yes" if c99 <= 50 else "NO",
        },
    ]
    print()
    print(
        render(
            targets,
            [
                ("t", "target"),
                ("f", "figure"),
                ("g", "goal"),
                ("r", "ratio to baseline"),
                ("m", "met"),
            ],
        )
    )
    print(
        f"\n{args.assignments:,} assignments; {os.cpu_count()} CPUs; load average at start"
        f" {load:.2f}, at end {os.getloadavg()[0]:.2f}."
    )


if __name__ == "__main__":
    main()
