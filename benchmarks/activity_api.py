"""Latency and throughput of registering activities over loopback HTTP (`reminders serve`).

Run: ``python -m benchmarks.activity_api [--assignments 200000] [--requests 500]
[--clients 32] [--rate 500] [--rate-requests 3000]`` (DATABASE_URL or the embedded PostgreSQL;
a scratch database, dropped afterwards). `reminders serve` runs as its own process with its
connection pool. Three phases, each request on an assignment without activities yet (the dearer
case: its first activity also sets its baseline):

- sequential: one mentor posts one activity at a time (keep-alive);
- at a constant rate: ``--clients`` connections together offer ``--rate`` requests/s (an open
  loop, coordinated omission corrected: benchmarks/http_load.py), the target's p99;
- at saturation: ``--clients`` mentors post as fast as the server answers (a closed loop), the
  target's throughput; its p99 is the queue's (Little's law) and is printed to inform only.

Each request checks the caller's token and registers the activity in one statement (the triggers
move last_contact_date and the due index). Each phase's baseline is ``GET /health`` on the same
server (HTTP and the framework, no database), driven the same way just before it, in the same
run. The client is benchmarks/http_load.py (asyncio on raw sockets: its own cost is in the
baseline).
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

from assignment_reminders.db.database import connect
from assignment_reminders.db.migrations import migrate
from assignment_reminders.dev.seed import seed
from assignment_reminders.tables import render

from . import http_load, options
from .scratch import cli_env, scratch_database
from .targets import Target
from .targets import render as render_targets

SECRET = "benchmark-secret-0123456789abcdef-0123"  # noqa: S105 - a throwaway signing key
TODAY = date(2026, 11, 28)
STARTUP_TIMEOUT_S = 60
FELL_BEHIND = 0.98  # achieved / offered below this: the last answers came >2 % of the phase late
WARM_UP = 2  # POSTs per connection before any phase, all connections at once
KEEP_ALIVE_S = 4  # under uvicorn's keep-alive timeout (5 s): the open loop's longest idle gap


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
    env = cli_env(url, REMINDERS_JWT_SECRET=SECRET)
    cmd = [sys.executable, "-m", "assignment_reminders", "serve", "--no-builtin-cron"]
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


def row(what: str, load: http_load.Load) -> dict[str, object]:
    ms = load.latencies_ms
    return {
        "what": what,
        "p50": statistics.median(ms),
        "p95": percentile(ms, 0.95),
        "p99": percentile(ms, 0.99),
        "max": max(ms),
        "rate": f"{load.rate:,.0f}/s",
        "errors": load.errors,
    }


@dataclass(frozen=True)
class Phases:
    """How much each phase sends: *requests* sequentially, *clients* connections offering
    *rate* requests/s for *rate_requests*, and *clients* at saturation, *requests* x 2 in all."""

    requests: int = 500
    clients: int = 32
    rate: float = 500
    rate_requests: int = 3000

    @property
    def per_client(self) -> int:
        return max(1, self.requests * 2 // self.clients)

    @property
    def posts(self) -> int:
        """POSTs sent in all, the warm-up's included (one assignment each)."""
        return self.warm_up + self.requests + self.rate_requests + self.per_client * self.clients

    @property
    def warm_up(self) -> int:
        """WARM_UP POSTs on each of the clients' connections."""
        return WARM_UP * self.clients


@dataclass(frozen=True)
class ApiResult:
    assignments: int
    phases: Phases
    health: http_load.Load
    sequential: http_load.Load
    health_at_rate: http_load.Load
    at_rate: http_load.Load
    health_concurrent: http_load.Load
    concurrent: http_load.Load


def measure(port: int, posts: list[bytes], p: Phases) -> dict[str, http_load.Load]:
    """The six phases on one server; *posts* holds one request per assignment, each used once.
    Each /health baseline runs just before the phase it is the baseline of."""
    host, health = "127.0.0.1", http_load.get("/health")
    # Warm-up, all clients at once: the pool grows to its size and every database thread starts
    # (once per process: a thread start blocks the event loop), the plans and caches fill.
    warm, rest = posts[: p.warm_up], posts[p.warm_up :]
    http_load.run(host, port, [warm[k :: p.clients] for k in range(p.clients)])
    sequential, rest = rest[: p.requests], rest[p.requests :]
    at_rate, rest = rest[: p.rate_requests], rest[p.rate_requests :]
    per_client = p.per_client
    return {
        "health": http_load.run(host, port, [[health] * p.requests]),
        "sequential": http_load.run(host, port, [sequential]),
        "health_at_rate": http_load.run_at_rate(
            host, port, [health] * p.rate_requests, p.rate, p.clients
        ),
        "at_rate": http_load.run_at_rate(host, port, at_rate, p.rate, p.clients),
        "health_concurrent": http_load.run(host, port, [[health] * per_client] * p.clients),
        "concurrent": http_load.run(
            host, port, [rest[k * per_client : (k + 1) * per_client] for k in range(p.clients)]
        ),
    }


def bench_api(url: str, assignments: int, phases: Phases) -> ApiResult:
    """The six phases against `reminders serve` on *url*, an empty database (migrated and
    seeded here)."""
    print("api: POST /activities over loopback HTTP ...", file=sys.stderr, flush=True)
    needed = phases.posts
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
        loads = measure(port, posts, phases)
    return ApiResult(assignments, phases, **loads)


def table(r: ApiResult) -> str:
    c, rate = r.phases.clients, f"{r.phases.rate:,.0f}/s"
    rows = render(
        [
            row("GET /health, sequential (baseline)", r.health),
            row("POST /activities, sequential", r.sequential),
            row(f"GET /health, {c} clients at {rate} (baseline)", r.health_at_rate),
            row(f"POST /activities, {c} clients at {rate}", r.at_rate),
            row(f"GET /health, {c} clients, saturation (baseline)", r.health_concurrent),
            row(f"POST /activities, {c} clients, saturation", r.concurrent),
        ],
        [
            ("what", "requests"),
            ("p50", "p50 ms"),
            ("p95", "p95 ms"),
            ("p99", "p99 ms"),
            ("max", "max ms"),
            ("rate", "throughput"),
            ("errors", "errors"),
        ],
    )
    return rows + fell_behind(r.at_rate)


def fell_behind(load: http_load.Load) -> str:
    """A note when an open loop's server did not keep up: its p99 then measures a queue that
    grew for the whole phase (how long the phase was, not the service); a lower rate says more."""
    if load.offered is None or load.rate >= FELL_BEHIND * load.offered:
        return ""
    return (
        f"\nThe server fell behind at {load.offered:,.0f}/s offered ({load.rate:,.0f}/s achieved):"
        " the p99 at that rate measures a queue that grew for the whole phase."
    )


def api_targets(r: ApiResult) -> list[Target]:
    """Issue 12's API targets, each against the /health baseline of the same run driven the same
    way, and the saturated p99 as an informative row (not a target)."""
    h50 = statistics.median(r.health.latencies_ms)
    s50 = statistics.median(r.sequential.latencies_ms)
    s95 = percentile(r.sequential.latencies_ms, 0.95)
    r99 = percentile(r.at_rate.latencies_ms, 0.99)
    hr99 = percentile(r.health_at_rate.latencies_ms, 0.99)
    c99 = percentile(r.concurrent.latencies_ms, 0.99)
    hc99 = percentile(r.health_concurrent.latencies_ms, 0.99)
    rate, c, offered = r.concurrent.rate, r.phases.clients, f"{r.phases.rate:,.0f}"
    errors = f", {r.at_rate.errors} errors" if r.at_rate.errors else ""
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
            f"api: {c} clients, throughput at saturation",
            f"{rate:,.0f}/s",
            ">= 500/s",
            f"{rate / r.health_concurrent.rate:.2f}x /health, {c} clients",
            rate >= 500,
        ),
        Target(
            f"api: {c} clients at {offered} req/s offered, p99",
            f"{r99:.1f} ms{errors}",
            "<= 50 ms",
            f"{r99 / hr99:.1f}x /health p99 at {offered}/s",
            r99 <= 50 and not r.at_rate.errors,
        ),
        Target(
            f"api: {c} clients, p99 at saturation (informs)",
            f"{c99:.1f} ms",
            f"- (Little: mean = {c} / {rate:,.0f}/s = {c / rate * 1000:.0f} ms)",
            f"{c99 / hc99:.1f}x /health p99, {c} clients",
            None,
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_assignments(parser, 200_000)
    parser.add_argument(
        "--requests",
        type=options.positive,
        default=Phases.requests,
        help="sequential; twice that at saturation (default: %(default)s)",
    )
    parser.add_argument(
        "--clients", type=options.positive, default=Phases.clients, help="connections"
    )
    parser.add_argument(
        "--rate",
        type=options.rate,
        default=Phases.rate,
        help="requests/s the clients offer together in the constant-rate phase"
        " (default: %(default)s)",
    )
    parser.add_argument(
        "--rate-requests",
        type=options.positive,
        default=Phases.rate_requests,
        help="requests sent in the constant-rate phase (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.clients / args.rate > KEEP_ALIVE_S:
        parser.error(
            f"--clients / --rate must be at most {KEEP_ALIVE_S} s: each connection sends once every"
            " clients / rate seconds, and uvicorn closes a connection idle for 5 s"
        )
    phases = Phases(args.requests, args.clients, args.rate, args.rate_requests)
    load = os.getloadavg()[0]
    with scratch_database("bench_api") as url:
        result = bench_api(url, args.assignments, phases)
    print(table(result))
    print()
    print(render_targets(api_targets(result)))
    print(
        f"\n{result.assignments:,} assignments; {os.cpu_count()} CPUs; load average"
        f" at start {load:.2f}, at end {os.getloadavg()[0]:.2f}."
    )


if __name__ == "__main__":
    main()
