"""Start-up: ``reminders run`` on an empty (migrated) database, spawn to exit, against the bare
interpreter (``python -c pass``) measured in the same run."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from assignment_reminders.db.database import connect
from assignment_reminders.db.migrations import migrate

from .scratch import Databases, cli_env


@dataclass(frozen=True)
class Startup:
    run_s: float
    """median wall time of ``reminders run`` on an empty database"""
    interpreter_s: float
    """median wall time of ``python -c pass``"""


def _median_wall(cmd: list[str], env: dict[str, str], times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bench_startup(dbs: Databases, times: int = 7) -> Startup:
    print("start-up: reminders run on an empty database ...", file=sys.stderr, flush=True)
    url = dbs.create()
    with connect(url, purpose="bench-startup") as conn:
        migrate(conn)
    env = cli_env(url)
    run = [sys.executable, "-m", "assignment_reminders", "run"]
    interpreter = _median_wall([sys.executable, "-c", "pass"], env, times)
    result = Startup(_median_wall(run, env, times), interpreter)
    dbs.drop_all()
    return result
