"""Latency and throughput of registering activities over loopback HTTP (`reminders serve`).

Run: ``python -m benchmarks.activity_api [--assignments 200000] [--requests 500]
[--clients 32]`` (DATABASE_URL or the embedded PostgreSQL; a scratch database, dropped
afterwards). `reminders serve` runs as its own process with its connection pool; a mentor posts
one activity at a time (keep-alive), then ``--clients`` mentors post at once, each request on an
assignment without activities yet (the dearer case: its first activity also sets its baseline).
Each request checks the caller's token and registers the activity in one statement (the triggers
move last_contact_date and the due index). The baselines are ``GET /health`` on the same server
(HTTP and the framework, no database), sequential and with the same clients, in the same run.
The client is benchmarks/http_load.py (asyncio on raw sockets: its own cost is in the baseline).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import jwt

from assignment_reminders.database import connect
from assignment_reminders.migrations import migrate
from assignment_reminders.seed import seed
from assignment_reminders.tables import render

from . import http_load
from .scratch import scratch_database
from .targets import Target
from .targets import render as render_targets

SECRET = "benchmark-secret-0123456789abcdef-0123"  # noqa: S105 - a throwaway signing key
TODAY = date(2026, 11, 28)
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(http_load.get("/health"))
            return s.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


@contextmanager
def serving(url: str, *serve_args: str) -> Iterator[int]:
    """`reminders serve` on a free port; yields the port once /health answers. If the server
    exits first, or does not answer within a minute, fails at once with its stderr."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
    env.update(DATABASE_URL=url, REMINDERS_JWT_SECRET=SECRET, REMINDERS_LOG_LEVEL="WARNING")
    cmd = [sys.executable, "-m", "assignment_reminders", "serve", "--no-scheduler"]
    with tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(
            [*cmd, "--port", str(port), *serve_args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )

        def failure(why: str) -> RuntimeError:
            stderr.seek(0)
            return RuntimeError(f"reminders serve {why}:\n{stderr.read()[-4000:]}")

        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not answers(port):
                if proc.poll() is not None:
                    raise failure(f"exited with status {proc.returncode} before answering")
                if time.monotonic() > deadline:
                    raise failure(f"did not answer /health within {STARTUP_TIMEOUT_S} s")
                time.sleep(0.05)
            yield port
            if proc.poll() is not None:
                raise failure(f"exited with status {proc.returncode} during the benchmark")
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


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(len(ordered) * p) - 1)]


def row(what: str, load: http_load.Load, *, rate: bool) -> dict[str, object]:
    ms = load.latencies_ms
    return {
        "what": what,
        "p50": statistics.median(ms),
        "p95": percentile(ms, 0.95),
        "p99": percentile(ms, 0.99),
        "rate": f"{load.rate:,.0f}/s" if rate else "-",
    }


def measure(
    port: int, posts: list[bytes], requests: int, clients: int
) -> dict[str, http_load.Load]:
    """The four phases on one server; *posts* holds one request per assignment, each used once."""
    run, health = http_load.run, http_load.get("/health")
    run("127.0.0.1", port, [posts[:20]])  # warm-up: the pool, the plans, the caches
    sequential = posts[20 : 20 + requests]
    rest = posts[20 + requests :]
    per_client = max(1, requests * 2 // clients)
    return {
        "health": run("127.0.0.1", port, [[health] * requests]),
        "sequential": run("127.0.0.1", port, [sequential]),
        "health_concurrent": run("127.0.0.1", port, [[health] * per_client] * clients),
        "concurrent": run(
            "127.0.0.1",
            port,
            [rest[k * per_client : (k + 1) * per_client] for k in range(clients)],
        ),
    }


@dataclass(frozen=True)
class ApiResult:
    assignments: int
    clients: int
    health: http_load.Load
    sequential: http_load.Load
    health_concurrent: http_load.Load
    concurrent: http_load.Load


def bench_api(url: str, assignments: int, requests: int, clients: int) -> ApiResult:
    """The four phases against `reminders serve` on *url*, an empty database (migrated and
    seeded here)."""
    print("api: POST /activities over loopback HTTP ...", file=sys.stderr, flush=True)
    per_client = max(1, requests * 2 // clients)
    needed = 20 + requests + per_client * clients
    assignments = max(assignments, needed)
    with connect(url, purpose="bench") as conn:
        migrate(conn)
        seed(conn, assignments=assignments, today=TODAY)
        conn.execute("VACUUM ANALYZE")
        rows = conn.execute(
            "SELECT a.id, pm.user_id FROM assignments a"
            " JOIN peer_mentors pm ON pm.id = a.peer_mentor_id"
            " WHERE a.starts_on < %(d)s ORDER BY a.id LIMIT %(n)s",
            {"d": TODAY - timedelta(days=1), "n": needed},
        ).fetchall()
    if len(rows) < needed:
        raise SystemExit(f"need {needed:,} assignments that started before {TODAY}")
    day = str(TODAY - timedelta(days=1))
    tokens = {r["user_id"]: headers_for(r["user_id"]) for r in rows}
    posts = [
        http_load.post_json(
            "/activities", {"assignment_id": r["id"], "occurred_on": day}, tokens[r["user_id"]]
        )
        for r in rows
    ]
    with serving(url) as port:
        phases = measure(port, posts, requests, clients)
    return ApiResult(assignments, clients, **phases)


def table(r: ApiResult) -> str:
    c = r.clients
    return render(
        [
            row("GET /health, sequential (baseline)", r.health, rate=True),
            row("POST /activities, sequential", r.sequential, rate=True),
            row(f"GET /health, {c} clients (baseline)", r.health_concurrent, rate=True),
            row(f"POST /activities, {c} clients", r.concurrent, rate=True),
        ],
        [
            ("what", "requests"),
            ("p50", "p50 ms"),
            ("p95", "p95 ms"),
            ("p99", "p99 ms"),
            ("rate", "throughput"),
        ],
    )


def api_targets(r: ApiResult) -> list[Target]:
    """Issue 12's API targets, each against the /health baseline of the same run."""
    h50 = statistics.median(r.health.latencies_ms)
    s50 = statistics.median(r.sequential.latencies_ms)
    s95 = percentile(r.sequential.latencies_ms, 0.95)
    c99 = percentile(r.concurrent.latencies_ms, 0.99)
    hc99 = percentile(r.health_concurrent.latencies_ms, 0.99)
    rate, c = r.concurrent.rate, r.clients
    return [
        Target(
            "api: sequential POST p50",
            f"{s50:.1f} ms",
            "<= 5 ms",
            f"{s50 / h50:.1f}x /health p50",
            s50 <= 5,
        ),
        Target(
            "api: sequential POST p95",
            f"{s95:.1f} ms",
            "<= 15 ms",
            f"{s95 / h50:.1f}x /health p50",
            s95 <= 15,
        ),
        Target(
            f"api: {c} clients, throughput",
            f"{rate:,.0f}/s",
            ">= 500/s",
            f"{rate / r.health_concurrent.rate:.2f}x /health, {c} clients",
            rate >= 500,
        ),
        Target(
            f"api: {c} clients, p99",
            f"{c99:.1f} ms",
            "<= 50 ms",
            f"{c99 / hc99:.1f}x /health p99, {c} clients",
            c99 <= 50,
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=500, help="sequential, and per phase")
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    with scratch_database("bench_api") as url:
        result = bench_api(url, args.assignments, args.requests, args.clients)
    print(table(result))
    print()
    print(render_targets(api_targets(result)))
    print(
        f"\n{result.assignments:,} assignments; {os.cpu_count()} CPUs; load average"
        f" at start {load:.2f}, at end {os.getloadavg()[0]:.2f}."
    )


if __name__ == "__main__":
    main()
