"""POST /functions/v1/assignment-reminder-cron on a served process, racing a CLI run."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import httpx
import pytest

from assignment_reminders.db.database import Connection
from tests.conftest import start_reminders, wait_for
from tests.jwt_tokens import SECRET, bearer
from tests.run_rows import running
from tests.served import served

pytestmark = pytest.mark.slow
URL = "/functions/v1/assignment-reminder-cron"
RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def server(cli_env: dict[str, str]) -> Iterator[str]:
    with served({**cli_env, "REMINDERS_JWT_SECRET": SECRET}, "--no-builtin-cron") as base:
        yield base


def test_http_invocation_skips_while_a_cli_run_holds_the_lock_then_runs(
    server: str, conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    seeded = run_cli("seed", "--assignments", "200")
    assert seeded.returncode == 0, seeded.stderr
    cli_run = start_reminders(cli_env, "run", "--hold-seconds", "3")
    holder = wait_for(lambda: (row := running(conn)) and row["lock_backend_pid"], timeout=30)

    skipped = httpx.post(f"{server}{URL}", headers=bearer(), timeout=30)
    assert skipped.status_code == 200, skipped.text
    assert (skipped.json()["status"], skipped.json()["note"]) == ("skipped", "advisory_lock_held")
    assert skipped.json()["holder"]["pid"] == holder
    assert cli_run.poll() is None, (
        "the CLI run ended before the HTTP call started: the overlap was missed"
    )

    out, err = cli_run.communicate(timeout=60)
    assert cli_run.returncode == 0, err
    assert out.startswith("success")

    ran = httpx.post(f"{server}{URL}", headers=bearer(), timeout=60)
    assert ran.status_code == 200, ran.text
    body = ran.json()
    assert body["status"] == "success"
    assert body["counts"]["reminders_created"] == 0  # the CLI run created them; none twice
    assert body["counts"]["due_rows_read"] == 0  # they left the due index
    sources = conn.execute(
        "SELECT status, trigger_source FROM reminders.cron_execution_logs ORDER BY id"
    ).fetchall()
    assert [(r["status"], r["trigger_source"]) for r in sources] == [
        ("success", "cli"),
        ("skipped", "http"),
        ("success", "http"),
    ]
