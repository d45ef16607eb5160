"""The benchmark: ``python -m benchmarks [--sizes 10000,100000,1000000]``.

For each N it seeds N assignments once, then works on copies of that database
(``CREATE DATABASE ... TEMPLATE``), so every figure sees the same data on the same server:

* ``floor``: the pure-SQL floor, one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into the
  ledger plus the notification rows (``benchmarks/floor.sql``), timed around the statement,
  without the due index's upkeep (the ledger's trigger stands aside for its session);
* ``run``: ``reminders run`` as a separate process, wall time from spawn to exit (interpreter
  start, imports, connections, lock, execution log and all), and its peak RSS;
* below ten million, ``floor`` and ``run`` twice each (``FIRST_RUN_REPEATS``), taking turns on
  fresh copies, the fastest of each counting;
* ``re-run``: the same command again on the same database (nothing to create);
* ``run+queue``: ``reminders run`` with the email and webhook channels configured, so that it
  also writes one delivery row per reminder and channel (time budget 0: nothing is sent);

then delivery throughput with default settings against each receiver's own ceiling
(``benchmarks/delivery.py``, also runnable alone: ``python -m benchmarks.delivery``), start-up,
the API over loopback HTTP (``benchmarks/activity_api.py``, also runnable alone), what our
triggers cost the app's own writes (``benchmarks/write_tax.py``), and how long a registration
waits during a first run (``benchmarks/registration_latency.py``), both also runnable alone.

The server is ``DATABASE_URL`` (a role that may create databases) when set, else an embedded
PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO

from assignment_reminders.db.database import connect
from assignment_reminders.db.migrations import migrate
from assignment_reminders.dev.seed import seed

from . import options
from .activity_api import Phases, api_targets, bench_api
from .activity_api import table as api_table
from .delivery import BENCH_WEBHOOK_SECRET, DeliveryBench, bench_delivery, delivery_targets
from .delivery import table as delivery_table
from .docs_page import parse_with_docs_option, write_docs_if_asked
from .naive import naive_run
from .race import run_race
from .race import table as race_table
from .registration_latency import bench_registration_latency, latency_targets
from .registration_latency import table as latency_table
from .results import ProcessRun, SizeResult, created_by, in_run
from .scratch import Databases, cli_env, server
from .startup import bench_startup
from .targets import render, size_targets, startup_target
from .write_tax import REPEATS as WRITE_TAX_REPEATS
from .write_tax import bench_write_tax, write_tax_targets

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
FLOOR_SQL = (Path(__file__).with_name("floor.sql")).read_text(encoding="utf-8")


def seeded(dbs: Databases, assignments: int) -> str:
    return seeded_timed(dbs, assignments)[0]


def seeded_timed(dbs: Databases, assignments: int) -> tuple[str, float, float]:
    """A migrated database with *assignments* seeded; the seed's seconds and the disk it uses
    (MB, after VACUUM)."""
    url = dbs.create()
    with connect(url, purpose="bench-seed") as conn:
        migrate(conn)
        started = time.perf_counter()
        seed(conn, assignments=assignments, today=TODAY, random_seed=1)
        seed_s = time.perf_counter() - started
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SELECT pg_database_size(current_database()) AS size").fetchone()
    assert row is not None
    return url, seed_s, int(row["size"]) / 2**20


def checkpoint(url: str) -> None:
    with connect(url, purpose="bench") as conn:
        conn.execute("CHECKPOINT")


# Runs the command in its argv and writes "<wall seconds> <peak RSS in KiB>" of it to the file
# named first. A child's ru_maxrss starts at its parent's resident size when it was forked (Linux
# keeps the larger across exec), and the benchmark itself holds the seed's memory (about 115 MB
# after ten million): measured from this small launcher, the figure is the run's own.
_LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    out.write(f"{wall} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measured_call(
    command: list[str], *, env: dict[str, str], stdout: IO[str], stderr: IO[str]
) -> tuple[int, float, float]:
    """*command*'s exit code, wall seconds (spawn to exit) and own peak RSS in MB."""
    with tempfile.NamedTemporaryFile("r") as measured:
        returncode = subprocess.call(
            [sys.executable, "-c", _LAUNCHER, measured.name, *command],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        wall, max_rss_kib = measured.read().split()
    return returncode, float(wall), int(max_rss_kib) / 1024


def reminders_run_measured(
    url: str, extra_env: dict[str, str] | None = None, now: datetime = NOW
) -> ProcessRun:
    """``reminders run`` with its own wall time and peak RSS (wait4 in a small launcher)."""
    env = cli_env(url, **(extra_env or {}))
    checkpoint(url)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        command = [sys.executable, "-m", "assignment_reminders", "run", "--json"]
        command += ["--now", now.isoformat(), "--allow-distant-now"]
        returncode, wall, rss_mb = measured_call(command, env=env, stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        if returncode != 0:
            raise RuntimeError(f"reminders run failed: {err.read().strip()}")
        return ProcessRun(wall, rss_mb, json.loads(out.read()))


# The floor is the minimal writing: without the due index's upkeep, which is ours to make cheap
# (the pass deletes its rows itself). The documented switch that makes the ledger's due-index
# trigger stand aside, for this session only.
FLOOR_WITHOUT_DUE_INDEX_UPKEEP = "SELECT set_config('reminders.pass_keeps_due_index', 'on', false)"


def a_day_later(url: str) -> None:
    """What autovacuum does with a run's writes in the hours before the next day's run (vacuum
    the deleted due rows, analyze the grown ledger), done now: otherwise it would start during
    the next day's measurement, on the same two cores."""
    with connect(url, purpose="bench") as conn:
        conn.execute("VACUUM ANALYZE")


def floor(url: str) -> tuple[float, int]:
    checkpoint(url)
    with connect(url, purpose="bench-floor") as conn:
        conn.execute(FLOOR_WITHOUT_DUE_INDEX_UPKEEP)
        started = time.perf_counter()
        row = conn.execute(FLOOR_SQL, {"now": NOW}).fetchone()
        elapsed = time.perf_counter() - started
    assert row is not None
    return elapsed, int(row["created"])


# Below ten million, the floor and the first run are each measured this many times, taking turns
# on fresh copies, the fastest of each counting: their ratio otherwise moves with whatever the
# machine did during one of them (docs/benchmarks.md, "The table"). At ten million one of each
# takes most of the benchmark's time.
FIRST_RUN_REPEATS = 2


def first_run_repeats(n: int) -> int:
    return FIRST_RUN_REPEATS if n < 10_000_000 else 1


def bench_size(dbs: Databases, n: int, *, with_queue: bool, naive_up_to: int) -> SizeResult:
    print(f"N={n:,}: seeding ...", file=sys.stderr, flush=True)
    source, seed_s, disk_mb = seeded_timed(dbs, n)
    template = dbs.name_of(source)
    queue_url = dbs.create(template) if with_queue else None
    naive_url = dbs.create(template) if n <= naive_up_to else None
    floors: list[float] = []
    runs: list[ProcessRun] = []
    repeats = first_run_repeats(n)
    for attempt in range(1, repeats + 1):
        floor_url, run_url = dbs.create(template), dbs.create(template)
        print(f"N={n:,}: floor ({attempt}) ...", file=sys.stderr, flush=True)
        floor_s, created = floor(floor_url)
        # Its 478k rows per million assignments would keep autovacuum busy during the run's figure.
        dbs.drop(floor_url)
        print(f"N={n:,}: reminders run ({attempt}) ...", file=sys.stderr, flush=True)
        run = reminders_run_measured(run_url)
        made = created_by(run)
        if made != created:
            raise RuntimeError(f"run created {made} reminders, the floor {created}")
        floors.append(floor_s)
        runs.append(run)
        if attempt < repeats:
            dbs.drop(run_url)  # the last one's database goes on to the re-run and the next day
    floor_s, run = min(floors), min(runs, key=in_run)
    rerun = reminders_run_measured(run_url)
    print(f"N={n:,}: the next day's run ...", file=sys.stderr, flush=True)
    a_day_later(run_url)
    next_day = reminders_run_measured(run_url, now=NOW + timedelta(days=1))
    queued = None
    if queue_url is not None:
        print(f"N={n:,}: reminders run with delivery rows ...", file=sys.stderr, flush=True)
        queued = reminders_run_measured(
            queue_url,
            {
                "REMINDERS_SMTP_HOST": "127.0.0.1",
                "REMINDERS_WEBHOOK_URL": "http://127.0.0.1:9/unused",
                "REMINDERS_WEBHOOK_SECRET": BENCH_WEBHOOK_SECRET,
                "REMINDERS_DELIVERY_BUDGET_SECONDS": "0",
            },
        )
    naive_s = None
    if naive_url is not None:
        print(f"N={n:,}: naive per-row loop ...", file=sys.stderr, flush=True)
        checkpoint(naive_url)
        naive_s, naive_created = naive_run(naive_url, NOW)
        if naive_created != created:
            raise RuntimeError(f"the naive loop created {naive_created}, the floor {created}")
    dbs.drop_all()
    return SizeResult(n, created, floor_s, run, rerun, next_day, queued, seed_s, disk_mb, naive_s)


def ratio(value: float, floor_s: float) -> str:
    return f"{value:7.2f} s ({value / floor_s:4.2f}x)"


def table(sizes: list[SizeResult], deliveries: DeliveryBench | None) -> str:
    head = (
        f"{'N':>9}  {'reminders':>9}  {'SQL floor':>9}  {'run (wall)':>19}  {'run (in-run)':>19}"
        f"  {'re-run (wall)':>19}  {'run+queue (wall)':>19}  {'peak RSS':>8}  {'naive loop':>19}"
    )
    lines = [head, "-" * len(head)]
    seeds = [f"{'N':>9}  {'seed':>8}  {'disk':>8}  {'next day':>19}  {'new':>7}"]
    for s in sizes:
        queued = ratio(s.queued.wall_s, s.floor_s) if s.queued else "-"
        rss = max(r.peak_rss_mb for r in (s.run, s.rerun, s.queued) if r is not None)
        naive = ratio(s.naive_s, s.floor_s) if s.naive_s is not None else "-"
        lines.append(
            f"{s.n:>9,}  {s.created:>9,}  {s.floor_s:7.2f} s  {ratio(s.run.wall_s, s.floor_s):>19}"
            f"  {ratio(s.run_in_process_s, s.floor_s):>19}  {ratio(s.rerun.wall_s, s.floor_s):>19}"
            f"  {queued:>19}  {rss:5.0f} MB  {naive:>19}"
        )
        seeds.append(
            f"{s.n:>9,}  {s.seed_s:6.1f} s  {s.disk_mb:5.0f} MB  "
            f"{ratio(in_run(s.next_day), s.floor_s):>19}  {created_by(s.next_day):>7,}"
        )
    lines += ["", *seeds]
    if deliveries:
        lines += ["", delivery_table(deliveries)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--sizes",
        type=options.sizes,
        default="10000,100000,1000000",
        help="comma-separated numbers of assignments (default: %(default)s)",
    )
    parser.add_argument(
        "--delivery-messages",
        type=options.non_negative,
        default=5000,
        help="messages per channel in the delivery benchmark; 0 skips it (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=options.non_negative,
        default=2,
        help="also time this many `reminders worker --once` processes on one queue (default: 2)",
    )
    parser.add_argument(
        "--naive-up-to",
        type=options.non_negative,
        default=10000,
        help="also time a naive per-row Python loop for N up to this (default: %(default)s)",
    )
    parser.add_argument(
        "--no-queue", action="store_true", help="skip the run with delivery rows (run+queue)"
    )
    parser.add_argument(
        "--api-assignments",
        type=options.non_negative,
        default=200_000,
        help="assignments for the API benchmark (benchmarks/activity_api.py); 0 skips it"
        " (default: %(default)s)",
    )
    parser.add_argument(
        "--api-requests",
        type=options.positive,
        default=500,
        help="API requests sequentially; twice that with 32 clients at saturation"
        " (default: %(default)s)",
    )
    parser.add_argument(
        "--api-rate-requests",
        type=options.positive,
        default=Phases.rate_requests,
        help="API requests offered at 500/s by 32 clients (default: %(default)s)",
    )
    parser.add_argument(
        "--race-seconds",
        type=options.non_negative,
        default=60,
        help="host writers racing reminder passes for this long, on a server of its own"
        " (benchmarks/race.py); 0 skips it (default: %(default)s)",
    )
    parser.add_argument(
        "--race-assignments",
        type=options.positive,
        default=100_000,
        help="assignments seeded for the race (default: %(default)s)",
    )
    parser.add_argument(
        "--write-tax-assignments",
        type=options.non_negative,
        default=200_000,
        help="assignments for the write-tax benchmark (benchmarks/write_tax.py); 0 skips it"
        " (default: %(default)s)",
    )
    parser.add_argument(
        "--write-tax-rows",
        type=options.positive,
        default=50_000,
        help="rows of each bulk write in the write-tax benchmark (default: %(default)s)",
    )
    parser.add_argument(
        "--write-tax-repeats",
        type=options.positive,
        default=WRITE_TAX_REPEATS,
        help="repetitions of each way in the write-tax benchmark, the fastest counting"
        " (default: %(default)s)",
    )
    parser.add_argument(
        "--latency-assignments",
        type=options.non_negative,
        default=1_000_000,
        help="assignments for the registration latency during a first run"
        " (benchmarks/registration_latency.py); 0 skips it (default: %(default)s)",
    )
    args = parse_with_docs_option(parser, argv)
    sizes: list[int] = args.sizes
    load = os.getloadavg()
    with server() as admin_url:
        dbs = Databases(admin_url)
        try:
            results = [
                bench_size(dbs, n, with_queue=not args.no_queue, naive_up_to=args.naive_up_to)
                for n in sizes
            ]
            deliveries = (
                bench_delivery(dbs, args.delivery_messages, args.workers)
                if args.delivery_messages > 0
                else None
            )
            startup = bench_startup(dbs)
            api = (
                bench_api(
                    dbs.create(),
                    args.api_assignments,
                    Phases(requests=args.api_requests, rate_requests=args.api_rate_requests),
                )
                if args.api_assignments > 0
                else None
            )
            tax = (
                bench_write_tax(
                    dbs.create(),
                    args.write_tax_assignments,
                    rows=args.write_tax_rows,
                    repeats=args.write_tax_repeats,
                )
                if args.write_tax_assignments > 0
                else None
            )
            latency = (
                bench_registration_latency(dbs.create(), args.latency_assignments)
                if args.latency_assignments > 0
                else None
            )
        finally:
            dbs.drop_all()
    print(table(results, deliveries))
    if api is not None:
        print()
        print(api_table(api))
    if tax is not None:
        print()
        print(tax.report())
    if latency is not None:
        print()
        print(latency_table(latency))
    print()
    targets = [
        *(t for s in results for t in size_targets(s)),
        startup_target(startup),
        *(api_targets(api) if api is not None else []),
        *(write_tax_targets(tax.taxes, tax.assignments) if tax is not None else []),
        *(latency_targets(latency) if latency is not None else []),
        *(delivery_targets(deliveries) if deliveries else []),
    ]
    print(render(targets))
    write_docs_if_asked(args.write_docs, targets, argv, load[0])
    if args.race_seconds > 0:
        print()
        print(race_table(run_race(args.race_assignments, args.race_seconds)))
    print(
        f"\n{os.cpu_count()} CPUs; load average at start {load[0]:.2f}, at end"
        f" {os.getloadavg()[0]:.2f}. Ratios are to the SQL floor of the same N."
    )


if __name__ == "__main__":
    main()
