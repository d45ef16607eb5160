"""How long a registration waits while the first run goes (issue 18, item 1's latency target).

Run: ``python -m benchmarks.registration_latency [--assignments 1000000] [--writers 2]
[--rate 20] [--before-seconds 10]`` (DATABASE_URL or a throwaway embedded PostgreSQL; one scratch
database, seeded as ``make bench`` seeds, dropped afterwards).

``reminders serve`` runs as its own process (as in benchmarks/activity_api.py). Writers post
one-row ``POST /activities`` for assignments that are DUE (each request a different one, in a
seeded random order, so that some meet the batch the pass is writing), ``--rate`` requests/s in
all, evenly spaced: an open loop of independent arrivals (``http_load.run_arrivals_until``). Each
request goes out at its intended time on an idle keep-alive connection (``--writers`` are open
from the start; another opens when all are busy), and its latency is counted from that time: a
request that waits on the run shows its whole wait and holds up no other, as for mentors who each
register on their own.

- *before the run*: ``--before-seconds`` of that load, the baseline;
- *during the first run*: ``reminders run`` (the CLI, a process of its own, as cron starts it)
  on the seeded database, the load going on until it exits. Only the requests due while the run
  held its lock count: from its exit back by its own ``duration_ms``.

The target: p99 <= 50 ms during the run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

import psycopg

from assignment_reminders.config import Settings
from assignment_reminders.db.database import connect
from assignment_reminders.db.migrations import migrate
from assignment_reminders.dev.seed import seed

from . import http_load, options
from .activity_api import headers_for, percentile, serving
from .scratch import cli_env, scratch_database
from .targets import Target
from .targets import render as render_targets

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
DAY = TODAY - timedelta(days=1)
RANDOM_SEED = 18
P99_TARGET_MS = 50.0

DUE = """
SELECT d.assignment_id, pm.user_id
FROM reminders.assignment_due d
JOIN public.assignments a ON a.id = d.assignment_id
JOIN public.peer_mentors pm ON pm.id = a.peer_mentor_id
WHERE d.kind = 'reminder' AND d.due_on <= %(today)s AND d.gap_started_on < %(day)s
"""


@dataclass(frozen=True)
class Window:
    """The requests due in one window: latencies from their intended send times and service
    times from their actual ones (ms), the answers that were not 2xx, the most requests in
    flight at once, and the window's length."""

    what: str
    latencies_ms: list[float]
    service_ms: list[float]
    errors: int
    seconds: float
    peak: int = 0

    @classmethod
    def of(cls, what: str, timeline: http_load.Timeline, seconds: float) -> Window:
        return cls(
            what,
            timeline.latencies_ms,
            timeline.service_ms,
            timeline.errors,
            seconds,
            timeline.peak_connections,
        )

    def row(self) -> tuple[str, ...]:
        if not self.latencies_ms:
            return (self.what, "0", "-", "-", "-", "-", "-", "-", str(self.peak), str(self.errors))
        return (
            self.what,
            f"{len(self.latencies_ms):,} in {self.seconds:.1f} s",
            *_spread(self.latencies_ms),
            *_spread(self.service_ms),
            str(self.peak),
            str(self.errors),
        )


def _spread(ms: list[float]) -> tuple[str, str, str]:
    return f"{statistics.median(ms):.1f}", f"{percentile(ms, 0.99):.1f}", f"{max(ms):.1f}"


@dataclass(frozen=True)
class Latency:
    assignments: int
    writers: int
    rate: float
    before: Window
    during: Window
    run: dict[str, Any]


class FirstRun:
    """``reminders run --json`` in a process of its own (see :func:`first_run`); :attr:`ended`
    is set, and :attr:`exited_at` is ``perf_counter()``, the moment it exits."""

    def __init__(self, proc: subprocess.Popen[str], out: IO[str], err: IO[str]) -> None:
        self._proc, self._out, self._err = proc, out, err
        self.ended = threading.Event()
        self.exited_at = 0.0
        threading.Thread(target=self._wait, daemon=True).start()

    def _wait(self) -> None:
        self._proc.wait()
        self.exited_at = time.perf_counter()
        self.ended.set()

    def outcome(self) -> dict[str, Any]:
        """The run's JSON, once it has exited; raises with its stderr when it failed."""
        self.ended.wait()
        self._out.seek(0)
        self._err.seek(0)
        if self._proc.returncode != 0:
            raise RuntimeError(f"reminders run failed: {self._err.read().strip()[-2000:]}")
        result: dict[str, Any] = json.loads(self._out.read())
        return result


@contextmanager
def first_run(url: str, batch_size: int) -> Iterator[FirstRun]:
    """Start ``reminders run`` on *url* at NOW; stopped on the way out if still running."""
    env = cli_env(url, REMINDERS_BATCH_SIZE=str(batch_size))
    command = [sys.executable, "-m", "assignment_reminders", "run", "--json"]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [*command, "--now", NOW.isoformat(), "--allow-distant-now"],
            env=env,
            stdout=out,
            stderr=err,
            text=True,
        )
        try:
            yield FirstRun(proc, out, err)
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)


def in_run_window(exited_at: float, duration_ms: float) -> tuple[float, float]:
    """From when the run took its lock to its exit (``perf_counter()`` s): its own duration
    counted back from the exit (the process's start-up before it is not the run)."""
    return exited_at - duration_ms / 1000, exited_at


def requests_for(rows: list[dict[str, Any]]) -> Iterator[bytes]:
    """One POST per due assignment, in a seeded random order, made as they are needed."""
    order = list(rows)
    random.Random(RANDOM_SEED).shuffle(order)
    tokens: dict[object, dict[str, str]] = {}
    for r in order:
        token = tokens.setdefault(r["user_id"], headers_for(r["user_id"]))
        body = {"assignment_id": r["assignment_id"], "occurred_on": str(DAY)}
        yield http_load.post_json("/activities", body, token)


def bench_registration_latency(
    url: str,
    assignments: int,
    *,
    writers: int = 2,
    rate: float = 20,
    before_s: float = 10,
    batch_size: int = Settings.batch_size,
) -> Latency:
    """Seed *assignments* into *url* (an empty database), then the load before and during the
    first run."""
    print(f"registration latency: seeding {assignments:,} ...", file=sys.stderr, flush=True)
    with connect(url, purpose="bench-latency") as conn:
        migrate(conn)
        seed(conn, assignments=assignments, today=TODAY, random_seed=1)
        conn.execute("VACUUM ANALYZE")
        rows = conn.execute(DUE, {"today": TODAY, "day": DAY}).fetchall()
        with suppress(psycopg.errors.InsufficientPrivilege):  # pg_checkpoint or superuser
            conn.execute("CHECKPOINT")  # as `make bench` does before a run it times
    requests = requests_for(rows)
    host = "127.0.0.1"
    with serving(url) as port:
        warm = [next(requests) for _ in range(2 * writers)]
        http_load.run(host, port, [warm[k::writers] for k in range(writers)])
        print("registration latency: before the run ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        before = http_load.run_arrivals_until(
            host,
            port,
            requests,
            rate,
            writers,
            until=lambda: time.perf_counter() - started >= before_s,
        )
        print("registration latency: during the first run ...", file=sys.stderr, flush=True)
        with first_run(url, batch_size) as run:
            during = http_load.run_arrivals_until(
                host, port, requests, rate, writers, until=run.ended.is_set
            )
            outcome = run.outcome()
    start, end = in_run_window(run.exited_at, float(outcome["duration_ms"]))
    return Latency(
        assignments,
        writers,
        rate,
        Window.of("before the run", before, before_s),
        Window.of("during the first run", during.between(start, end), end - start),
        outcome,
    )


def table(r: Latency) -> str:
    head = (
        *("POST /activities", "requests", "p50 ms", "p99 ms", "max ms"),
        *("service p50", "p99", "max", "conns", "errors"),
    )
    rows = [head, r.before.row(), r.during.row()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    counts = r.run.get("counts", {})
    made = int(counts.get("reminders_created", 0)) + int(counts.get("escalations_created", 0))
    return "\n".join(
        [
            f"Registrations during the first run at {r.assignments:,} assignments: POST"
            f" /activities over HTTP, {r.rate:g}/s arriving evenly ({r.writers} connections open"
            " at the start, more while all are busy):",
            *lines,
            "",
            "p50/p99/max: from each request's intended send time; service: from when it was sent"
            " (later only when it",
            "waited for a connection to open); conns: the most requests in flight at once.",
            f"The run: {float(r.run['duration_ms']) / 1000:.1f} s in-run, {made:,} reminders.",
        ]
    )


def latency_targets(r: Latency) -> list[Target]:
    ms = r.during.latencies_ms
    before = r.before.latencies_ms
    what = f"{r.assignments:,}: POST /activities p99 during the first run"
    if not ms:  # a run shorter than the gap between two requests
        return [
            Target(what, "no request was due in the run", f"<= {P99_TARGET_MS:g} ms", "-", False)
        ]
    p99 = percentile(ms, 0.99)
    errors = f", {r.during.errors} errors" if r.during.errors else ""
    baseline = f"{p99 / percentile(before, 0.99):.1f}x p99 before the run" if before else "-"
    service = percentile(r.during.service_ms, 0.99)
    return [
        Target(
            what,
            f"{p99:.1f} ms{errors}",
            f"<= {P99_TARGET_MS:g} ms",
            baseline,
            p99 <= P99_TARGET_MS and not r.during.errors,
        ),
        Target(
            f"{r.assignments:,}: POST /activities service p99 during the run (informs)",
            f"{service:.1f} ms",
            "- (from the actual send)",
            "-",
            None,
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.registration_latency", description=__doc__.splitlines()[0]
    )
    options.add_assignments(parser, 1_000_000)
    parser.add_argument(
        "--writers",
        type=options.positive,
        default=2,
        help="connections posting activities (default: %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=options.rate,
        default=20.0,
        help="requests/s the writers offer together (default: %(default)s)",
    )
    parser.add_argument(
        "--before-seconds",
        type=options.seconds,
        default=10.0,
        help="seconds of load measured before the run (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=options.positive,
        default=Settings.batch_size,
        help="the run's REMINDERS_BATCH_SIZE (default: the product's, %(default)s)",
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    with scratch_database("bench_latency") as url:
        result = bench_registration_latency(
            url,
            args.assignments,
            writers=args.writers,
            rate=args.rate,
            before_s=args.before_seconds,
            batch_size=args.batch_size,
        )
    print(table(result))
    print()
    print(render_targets(latency_targets(result)))
    print(
        f"\n{os.cpu_count()} CPUs; load average at start {load:.2f}, at end"
        f" {os.getloadavg()[0]:.2f}."
    )


if __name__ == "__main__":
    main()
