"""Heartbeat pings to a real local HTTP server, Healthchecks.io style (REMINDERS_PING_URL)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import date

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.dev.seed import seed
from assignment_reminders.locking.lock import LOCK_KEY
from tests.receivers import Requests, free_port, request_receiver

RunCli = Callable[..., subprocess.CompletedProcess[str]]
NOW = "2026-11-28T06:00:00+00:00"
CHECK = "/ping/5f0c1a2e-check"


def test_a_successful_run_pings_start_then_success_with_its_invocation_as_rid(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    seed(conn, assignments=30, today=date(2026, 11, 28))
    requests = Requests()
    with request_receiver(requests) as base:
        cli_env["REMINDERS_PING_URL"] = base + CHECK
        done = run_cli("run", "--now", NOW, "--allow-distant-now", "--json")
    assert done.returncode == 0, done.stderr
    rid = json.loads(done.stdout)["invocation_id"]
    assert requests.paths() == [f"{CHECK}/start?rid={rid}", f"{CHECK}?rid={rid}"]
    method, _, body = requests.seen[1]
    assert method == "POST"
    assert body.startswith(f"success: run {json.loads(done.stdout)['run_id']}, ")


def test_a_failed_run_pings_fail_with_a_short_error(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    seed(conn, assignments=20, today=date(2026, 11, 28))
    conn.execute("ALTER TABLE public.peer_mentors RENAME TO peer_mentors_gone")
    requests = Requests()
    with request_receiver(requests) as base:
        cli_env["REMINDERS_PING_URL"] = base + CHECK
        done = run_cli("run", "--now", NOW, "--allow-distant-now", "--json")
    assert done.returncode == 1
    rid = json.loads(done.stdout)["invocation_id"]
    assert requests.paths() == [f"{CHECK}/start?rid={rid}", f"{CHECK}/fail?rid={rid}"]
    body = requests.seen[1][2]
    assert body.startswith("UndefinedTable: ")
    assert "\n" not in body


def test_a_run_that_cannot_reach_its_database_pings_fail_alone(
    cli_env: dict[str, str], run_cli: RunCli
) -> None:
    requests = Requests()
    with request_receiver(requests) as base:
        cli_env["REMINDERS_PING_URL"] = base + CHECK
        cli_env["DATABASE_URL"] = f"postgresql://app:pw@127.0.0.1:{free_port()}/x"
        done = run_cli("run")
    assert done.returncode == 1
    assert requests.paths() == [f"{CHECK}/fail"]
    assert requests.seen[0][2] == (
        "DatabaseUnavailableError: the run could not start or was stopped"
    )


def test_a_skipped_run_pings_nothing(
    database_url: str, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    requests = Requests()
    with connect(database_url, purpose="test-holder") as holder, request_receiver(requests) as base:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        cli_env["REMINDERS_PING_URL"] = base + CHECK
        done = run_cli("run", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "skipped"
    assert requests.paths() == []


def test_a_ping_that_fails_never_fails_the_run(cli_env: dict[str, str], run_cli: RunCli) -> None:
    cli_env["REMINDERS_PING_URL"] = f"http://127.0.0.1:{free_port()}{CHECK}"  # nobody listens
    cli_env["REMINDERS_LOG_LEVEL"] = "WARNING"
    done = run_cli("run", "--now", NOW, "--allow-distant-now")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("success")
    assert "ping start not delivered: ConnectError" in done.stderr
    assert "ping success not delivered: ConnectError" in done.stderr
    assert "127.0.0.1" not in done.stderr and CHECK not in done.stderr


def test_a_ping_answered_with_an_error_status_is_logged_and_ignored(
    cli_env: dict[str, str], run_cli: RunCli
) -> None:
    requests = Requests(status=503)
    with request_receiver(requests) as base:
        cli_env["REMINDERS_PING_URL"] = base + CHECK
        done = run_cli("run", "--now", NOW, "--allow-distant-now")
    assert done.returncode == 0, done.stderr
    assert "ping success not accepted: HTTP 503" in done.stderr
    assert len(requests.seen) == 2
