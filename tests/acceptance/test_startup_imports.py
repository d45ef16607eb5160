"""Start-up (issue 12, item 5): a serverless cron pays ``reminders run``'s imports on every call,
so a run imports neither the HTTP server nor the delivery and monitoring clients it does not use.
The figure itself is a benchmark (benchmarks/startup.py), not a timed test."""

from __future__ import annotations

import subprocess
import sys

#: What only `reminders serve`, `/ops`, delivery or alerting need.
NOT_FOR_A_RUN = (
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "psycopg_pool",
    "prometheus_client",
    "jinja2",
    "httpx",
    "aiohttp",
    "aiosmtplib",
    "cronsim",
)


def imported_by(env: dict[str, str], *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "assignment_reminders", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [x for x in done.stderr.splitlines() if x.startswith("import time:")]
    return {x.rsplit("|", 1)[1].strip() for x in lines}


def test_a_run_imports_nothing_only_the_server_or_the_senders_need(
    cli_env: dict[str, str],
) -> None:
    modules = imported_by(cli_env, "run")
    assert "psycopg" in modules  # the list is real
    loaded = sorted(m for m in modules if m.split(".")[0] in NOT_FOR_A_RUN)
    assert loaded == []
