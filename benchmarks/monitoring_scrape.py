"""What monitoring costs as the execution log grows: one check pass, a /metrics scrape, /ops.

Run: ``python -m benchmarks.monitoring_scrape [--rows 1000 10000 100000] [--iterations N]``
(uses DATABASE_URL or the embedded PostgreSQL; works in a scratch database it drops afterwards).
Each size is N log rows over the retention window (180 days): 90 % success, 5 % failed, 5 %
skipped. A daily job keeps about 180 rows; 100,000 is many replicas skipping every few minutes.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import UTC, datetime

from assignment_reminders.api.metrics import _scrape
from assignment_reminders.api.ops import _page
from assignment_reminders.config import Secret, Settings
from assignment_reminders.db.database import connect
from assignment_reminders.db.migrations import migrate
from assignment_reminders.monitoring.monitor import run_checks
from assignment_reminders.monitoring.sinks import LogSink
from assignment_reminders.tables import render

from . import options
from .scratch import measure, p50_p95, scratch_database

FILL = """
INSERT INTO reminders.cron_execution_logs (job_name, invocation_id, status, note, started_at,
    finished_at, duration_ms, lock_key, lock_acquire_ms, unlock_ok, reminders_created, error,
    host, pid)
SELECT 'assignment-reminder-cron', gen_random_uuid(), s.status,
       CASE s.status WHEN 'skipped' THEN 'advisory_lock_held' END,
       %(now)s - make_interval(secs => i * %(step)s),
       %(now)s - make_interval(secs => i * %(step)s) + interval '2 minutes',
       120000 * random(), 6184437623531313646, random(),
       CASE WHEN s.status <> 'skipped' THEN true END,
       (random() * 100)::int, CASE s.status WHEN 'failed' THEN 'RuntimeError: boom' END,
       'bench', 1
FROM generate_series(1, %(rows)s) AS i
CROSS JOIN LATERAL (
    SELECT CASE WHEN i %% 20 = 0 THEN 'failed' WHEN i %% 20 = 1 THEN 'skipped'
                ELSE 'success' END AS status
) s
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=options.positive, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--iterations", type=options.positive, default=20)
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    rows = []
    with scratch_database("bench_monitoring") as url:
        settings = replace(Settings.from_env(), database_url=Secret(url))
        with connect(url, purpose="bench") as conn:
            migrate(conn)
            for n in args.rows:
                conn.execute("TRUNCATE reminders.cron_execution_logs CASCADE")
                conn.execute(FILL, {"now": now, "rows": n, "step": 180 * 86400 / n})
                conn.execute("ANALYZE reminders.cron_execution_logs")
                for what, fn in (
                    (
                        "check pass",
                        lambda: run_checks(conn, settings, now=now, sinks=[LogSink()], record=True),
                    ),
                    ("/metrics scrape (incl. connect)", lambda: _scrape(settings)),
                    ("/ops page (incl. connect)", lambda: _page(settings, now)),
                ):
                    p50, p95 = p50_p95(measure(fn, args.iterations))
                    rows.append({"log rows": n, "what": what, "p50": p50, "p95": p95})
    print(f"monitoring cost by execution log size, {args.iterations} iterations each")
    columns = (("log rows", "log rows"), ("what", "what"), ("p50", "p50 ms"), ("p95", "p95 ms"))
    print(render(rows, columns))


if __name__ == "__main__":
    main()
