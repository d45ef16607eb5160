"""Where the time of one ``reminders seed`` goes: each phase of a seed into a fresh database.

Run: ``python -m benchmarks.seed_phases [--assignments N]`` (DATABASE_URL or a throwaway embedded
PostgreSQL, as a superuser: the bulk load `make bench` times; one scratch database, dropped
afterwards). Prints each phase as it ends (on stderr) and a table at the end: each COPY (Python
writing the lines and the server loading them, overlapped), each index build, ANALYZE, and what
is left (locks, id reservations, COMMIT). The phases are the seed's own DEBUG log lines.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import resource
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from assignment_reminders.db.database import connect
from assignment_reminders.db.migrations import migrate
from assignment_reminders.dev.seed import logger as seed_logger
from assignment_reminders.dev.seed import seed
from assignment_reminders.tables import render

from . import options
from .scratch import Databases, server

TODAY = date(2026, 11, 28)
_PHASE = re.compile(r"seed phase (?P<name>.*): (?P<seconds>[0-9.]+) s$")
_INDEX = re.compile(
    r"build (CREATE (UNIQUE )?INDEX|ALTER TABLE \S+ ADD CONSTRAINT) (?P<name>\S+).*"
)


def backend_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) of the server process *pid*, when it runs on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Phases(logging.Handler):
    """The seed's phases, from its log, in the order they ended, with the CPU time the Python
    process and the server's backend spent since the previous one (less noisy than wall time
    on a shared machine; parallel index-build workers are not counted)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.rows: list[dict[str, Any]] = []
        self.backend_pid: int | None = None
        self.start()

    def start(self) -> None:
        self.started = time.perf_counter()
        self.cpu = (time.process_time(), backend_cpu(self.backend_pid))

    def emit(self, record: logging.LogRecord) -> None:
        found = _PHASE.match(record.getMessage())
        if not found:
            return
        name = _INDEX.sub(r"build \g<name>", " ".join(found["name"].split()))[:72]
        python, backend = time.process_time(), backend_cpu(self.backend_pid)
        row = {
            "phase": name,
            "seconds": float(found["seconds"]),
            "python": python - self.cpu[0],
            "server": None if backend is None or self.cpu[1] is None else backend - self.cpu[1],
        }
        self.cpu = (python, backend)
        self.rows.append(row)
        print(
            f"{time.perf_counter() - self.started:7.1f} s  {name}: {row['seconds']:.2f} s"
            f" (CPU: Python {row['python']:.2f} s, server {row['server'] or 0:.2f} s)",
            file=sys.stderr,
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_assignments(parser, 1_000_000)
    args = parser.parse_args(argv)
    phases = Phases()
    seed_logger.addHandler(phases)
    seed_logger.setLevel(logging.DEBUG)
    load = os.getloadavg()
    with server() as admin:
        dbs = Databases(admin, "bench_phases")
        try:
            url = dbs.create()
            with connect(url, purpose="bench") as conn:
                migrate(conn)
                pid = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()
                phases.backend_pid = None if pid is None else int(pid["pid"])
                phases.start()
                started = phases.started
                seed(conn, assignments=args.assignments, today=TODAY)
                total = time.perf_counter() - started
                conn.execute("VACUUM ANALYZE")
                row = conn.execute("SELECT pg_database_size(current_database()) AS s").fetchone()
        finally:
            dbs.drop_all()
    rows = [r for r in phases.rows if r["seconds"] >= 0.05]
    rows.append({"phase": "the rest", "seconds": total - sum(r["seconds"] for r in phases.rows)})
    rows.append({"phase": "seed() in all", "seconds": total})
    columns = [
        ("phase", f"seed {args.assignments:,} assignments"),
        ("seconds", "wall s"),
        ("python", "Python CPU s"),
        ("server", "backend CPU s"),
    ]
    print(render(rows, columns))
    assert row is not None
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\ndisk after VACUUM: {int(row['s']) / 2**20:.0f} MB; peak RSS of this process"
        f" {rss_mb:.0f} MB; load average {load[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end"
        f" ({os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
