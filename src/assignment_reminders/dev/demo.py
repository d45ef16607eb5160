"""``make demo``: the main job on the embedded PostgreSQL, two overlapping invocations.

Starts (or reuses) the embedded database, applies the migrations, seeds a small organization,
then fires two invocations of ``reminders run`` as separate processes: the first holds the lock a
few seconds past its work (a run that outlasts the next trigger), the second starts once the first
holds the lock. Prints one line per step, the two ``cron_execution_logs`` rows (as wide as the
terminal), and the next three commands to try.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import click

from ..config import Settings
from ..db.database import connect, database_url
from ..db.gateway import fetch_all, named
from ..db.migrations import applied_summary, migrate
from ..figures import counted
from ..job.run_row import RunRow
from ..locking.holder import LockHolder
from ..locking.lock import LOCK_KEY
from ..tables import render, shorten
from ..terminal import Terminal
from .seed import seed

COLUMNS = (  # the most telling first: on a narrow terminal the last ones are left out
    ("status", "status"),
    ("note", "note"),
    ("held_by", "held by"),
    ("reminders_created", "reminders"),
    ("escalations_created", "escalations"),
    ("duplicates_suppressed", "duplicates"),
    ("due_rows_read", "due rows"),
    ("duration_ms", "ms"),
    ("lock_acquire_ms", "lock ms"),
    ("trigger_source", "source"),
    ("holder_pid", "backend pid"),
)

NEXT_COMMANDS = (
    ("reminders status", "the runs, the lock and open alerts"),
    ("reminders doctor", "is this deployment safe to run the job?"),
    ("reminders run --json", "one more run: nothing is due twice"),
)
"""What to try after the demo (each runs on the same embedded database)."""

_LOCK_HOLDER = named("lock_holder")
_RUNS_BY_INVOCATION = named("runs_by_invocation")


def _run(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assignment_reminders",
            "--log-level=ERROR",  # the parent already said which database
            "run",
            "--json",
            *args,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def held_by(row: RunRow) -> str | None:
    """Who held the lock when a run was skipped, as a person reads it: ``process 10680 on vm``
    (our connections' application_name is ``assignment-reminders/<purpose> <host>:<pid>``)."""
    name = row.holder_application_name
    if not name:
        return None
    host, _, pid = str(name).rsplit(" ", 1)[-1].rpartition(":")
    return f"process {pid} on {host}" if host and pid.isdigit() else str(name)


HOLDER_LEGEND = (
    "held by: the process (pid on host) of the run that held the lock; backend pid: its lock"
    " session in pg_stat_activity"
)


def main() -> int:
    settings = Settings.from_env()
    term = Terminal.detect()
    print(shorten(f"database: {settings.describe_database()}", term.width))
    url = database_url(settings)
    with connect(url, purpose="demo") as conn:
        print(applied_summary(migrate(conn)))
        result = seed(
            conn, assignments=2000, today=datetime.now(UTC).date(), random_seed=int(time.time())
        )
        print(
            f"seeded {counted(result.assignments, 'assignment')} for"
            f" {counted(result.peer_mentors, 'peer mentor')} in"
            f" {counted(result.organizations, 'new organization')}"
        )

        first = _run("--hold-seconds", "3")
        deadline = time.monotonic() + 30
        while not fetch_all(conn, _LOCK_HOLDER, {"lock_key": LOCK_KEY}, row=LockHolder):
            if first.poll() is not None or time.monotonic() > deadline:
                print("the first run never took the lock", file=sys.stderr)
                return 1
            time.sleep(0.05)
        print("first run holds the lock; firing the second run now")
        second = _run()
        outcomes: list[dict[str, Any]] = []
        for proc in (first, second):
            out, _ = proc.communicate(timeout=120)
            outcomes.append(json.loads(out))
        rows = fetch_all(
            conn,
            _RUNS_BY_INVOCATION,
            {"invocation_ids": [UUID(o["invocation_id"]) for o in outcomes]},
            row=RunRow,
        )
    table = [{**r.as_dict(), "held_by": held_by(r)} for r in rows]
    print()
    click.echo(render(table, COLUMNS, width=term.width, colour=term.colour), color=term.colour)
    print(textwrap.fill(HOLDER_LEGEND, term.width) if term.width else HOLDER_LEGEND)
    codes = {p.returncode for p in (first, second)}
    print(f"\nboth invocations exited {'0' if codes == {0} else codes}")
    print("\nnext, try:")
    for command, what in NEXT_COMMANDS:
        print(f"  .venv/bin/{command:<24} # {what}")
    return 0 if codes == {0} else 1


if __name__ == "__main__":
    sys.exit(main())
