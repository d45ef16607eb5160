"""`reminders seed` speed with the core schema alone, with the activities migration, and with
every migration (the due index, computed in bulk after the COPY).

Run: ``python -m benchmarks.seed_with_activities [--assignments N]`` (DATABASE_URL or the embedded
PostgreSQL; scratch databases, dropped afterwards). The activities migration puts no trigger on
assignments, so the COPY of assignments should cost the same either way; the due index adds one
set-based refresh of the new id range after it.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from assignment_reminders.database import connect
from assignment_reminders.migrations import discover, migrate
from assignment_reminders.tables import render

from . import options
from .scratch import scratch_database, server


def seed_seconds(server: str, migrations: list[Path], assignments: int) -> float:
    from assignment_reminders.seed import seed

    with (
        scratch_database("bench_seed", admin_url=server) as url,
        connect(url, purpose="bench") as conn,
        tempfile.TemporaryDirectory() as folder,
    ):
        for path in migrations:
            shutil.copy(path, Path(folder) / path.name)
        migrate(conn, Path(folder))
        started = time.perf_counter()
        seed(conn, assignments=assignments, today=date(2026, 11, 28))
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=options.positive, default=1_000_000)
    args = parser.parse_args(argv)
    every = [m.path for m in discover()]
    upto_activities = [p for p in every if p.name <= "20261128000300_activities.sql"]
    core = [p for p in every if "core_schema" in p.name]
    with server() as admin:
        rows = [
            {"schema": "core only", "seconds": seed_seconds(admin, core, args.assignments)},
            {
                "schema": "core + activities",
                "seconds": seed_seconds(admin, upto_activities, args.assignments),
            },
            {"schema": "every migration", "seconds": seed_seconds(admin, every, args.assignments)},
        ]
    print(render(rows, [("schema", f"seed {args.assignments:,} assignments"), ("seconds", "s")]))


if __name__ == "__main__":
    main()
