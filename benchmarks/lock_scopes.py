"""The lock per route and scope: acquisition time, and how fast a lost or hung lock is noticed.

    python -m benchmarks.lock_scopes [--runs 30] [--heartbeat 1] [--idle-timeout 3]

Starts an embedded PostgreSQL and two PgBouncers (transaction and session pooling, needs the
``pgbouncer`` binary), then prints two tables:

* ``lock_acquire_ms`` of whole ``run_once`` invocations (what cron_execution_logs records; the
  specification allows 50 ms), per route and scope;
* lost lock: ``pg_terminate_backend`` on the lock backend -> ``checkpoint()`` raises; hung holder:
  the heartbeat stops -> the server's idle timeout frees the lock in ``pg_locks``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.locks import lock_pids
from tests.pgbouncer import running_pgbouncer

from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.embedded import embedded_database_url
from assignment_reminders.db.migrations import migrate
from assignment_reminders.exceptions import LockLostError
from assignment_reminders.job.compose import run_once
from assignment_reminders.locking.lock import (
    LockTiming,
    SessionAdvisoryLock,
    TransactionAdvisoryLock,
    open_job_lock,
)
from assignment_reminders.tables import render

from . import options


def until(predicate: Callable[[], bool], timeout: float = 120) -> float:
    """Seconds until *predicate* holds (polled every 10 ms)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError("condition not met")
        time.sleep(0.01)
    return time.monotonic() - started


def lost_after_terminate(url: str, watch: Connection, scope: str, timing: LockTiming) -> float:
    with connect(url, purpose="lock") as lk:
        lock = open_job_lock(lk, url, scope=scope, role="service_role", timing=timing)
        assert lock.try_acquire()
        watch.execute("SELECT pg_terminate_backend(%s)", (lock.backend_pid,))

        def noticed() -> bool:
            try:
                lock.checkpoint()
            except LockLostError:
                return True
            return False

        seconds = until(noticed)
        lock.release()
        return seconds


def freed_after_hang(url: str, watch: Connection, scope: str, timing: LockTiming) -> float:
    with connect(url, purpose="lock") as lk:
        lock = open_job_lock(lk, url, scope=scope, role="service_role", timing=timing)
        assert lock.try_acquire()
        assert isinstance(lock, SessionAdvisoryLock | TransactionAdvisoryLock)
        lock._stop_heartbeat()  # hung: nobody speaks on the lock connection any more
        seconds = until(lambda: lock_pids(watch) == [])
        lock.release()
        return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=options.positive, default=30)
    parser.add_argument("--heartbeat", type=options.seconds, default=1.0)
    parser.add_argument("--idle-timeout", type=options.seconds, default=3.0)
    args = parser.parse_args(argv)
    timing = LockTiming(args.heartbeat, args.idle_timeout)
    url = embedded_database_url(Path(tempfile.mkdtemp(prefix="lock-scopes-")), keep_running=False)
    with connect(url, purpose="bench") as watch:
        migrate(watch)
        with (
            running_pgbouncer(url, "transaction") as txn,
            running_pgbouncer(url, "session") as ses,
        ):
            routes = [
                ("direct", url, "session"),
                ("direct", url, "transaction"),
                ("pgbouncer session pooling", ses.url("postgres"), "session"),
                ("pgbouncer transaction pooling", txn.url("postgres"), "transaction"),
            ]
            acquire_rows = []
            for route, route_url, scope in routes:
                settings = Settings.from_env(
                    {"DATABASE_URL": route_url, "REMINDERS_LOCK_SCOPE": scope}
                )
                ms = sorted(run_once(settings).lock_acquire_ms for _ in range(args.runs))
                acquire_rows.append(
                    {
                        "route": route,
                        "scope": scope,
                        "p50": statistics.median(ms),
                        "p95": ms[max(0, int(len(ms) * 0.95) - 1)],
                        "max": ms[-1],
                    }
                )
            loss_rows = [
                {
                    "route": route,
                    "scope": scope,
                    "terminated": lost_after_terminate(route_url, watch, scope, timing),
                    "hung": freed_after_hang(route_url, watch, scope, timing),
                }
                for route, route_url, scope in routes
            ]
    print(f"lock_acquire_ms of run_once, {args.runs} runs per route (budget 50 ms)")
    print(
        render(
            acquire_rows,
            [
                ("route", "route"),
                ("scope", "scope"),
                ("p50", "p50 ms"),
                ("p95", "p95 ms"),
                ("max", "max ms"),
            ],
        )
    )
    print(
        f"\nlosing the lock (heartbeat {args.heartbeat:g} s, idle timeout {args.idle_timeout:g} s)"
    )
    print(
        render(
            loss_rows,
            [
                ("route", "route"),
                ("scope", "scope"),
                ("terminated", "terminate -> run stops, s"),
                ("hung", "hung -> lock freed, s"),
            ],
        )
    )


if __name__ == "__main__":
    main()
