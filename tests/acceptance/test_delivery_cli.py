"""``reminders run`` drains what it created; ``reminders worker`` drains the rest (processes)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable

from assignment_reminders.database import Connection
from assignment_reminders.seed import seed
from tests.conftest import reminders_cmd, wait_for
from tests.receivers import Recorder, webhook_receiver

NOW = "2026-11-28T12:00:00+00:00"

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def dispatch_count(conn: Connection) -> int:
    row = conn.execute("SELECT count(*) AS n FROM public.reminder_dispatches").fetchone()
    assert row is not None
    return int(row["n"])


def test_the_cron_run_delivers_what_it_created(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    from datetime import date

    seed(conn, assignments=50, today=date(2026, 11, 28))
    recorder = Recorder()
    with webhook_receiver(recorder) as url:
        cli_env.update(REMINDERS_WEBHOOK_URL=url, REMINDERS_WEBHOOK_SECRET="s3cret")
        done = run_cli("run", "--now", NOW)
        assert done.returncode == 0, done.stderr
        assert "s3cret" not in done.stdout + done.stderr
        created = dispatch_count(conn)
        assert created > 0
        assert recorder.accepted_total == created
        again = run_cli("run", "--now", NOW)
        assert again.returncode == 0, again.stderr
        assert recorder.accepted_total == created
    assert f"{created} already sent" in again.stdout


def test_without_channels_the_run_logs_the_skip_and_succeeds(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    cli_env["REMINDERS_LOG_LEVEL"] = "INFO"
    done = run_cli("run", "--now", NOW)
    assert done.returncode == 0, done.stderr
    assert "email channel not configured (REMINDERS_SMTP_HOST is unset): skipped" in done.stderr
    assert "webhook channel not configured" in done.stderr


def test_the_worker_delivers_a_backlog_and_stops_on_sigterm(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    from datetime import date

    seed(conn, assignments=50, today=date(2026, 11, 28))
    recorder = Recorder()
    with webhook_receiver(recorder) as url:
        # the run queues webhook deliveries but has no time budget to send them
        cli_env.update(
            REMINDERS_WEBHOOK_URL=url,
            REMINDERS_WEBHOOK_SECRET="s3cret",
            REMINDERS_DELIVERY_BUDGET_SECONDS="0",
        )
        assert run_cli("run", "--now", NOW).returncode == 0
        created = dispatch_count(conn)
        assert recorder.accepted_total == 0
        cli_env.pop("REMINDERS_DELIVERY_BUDGET_SECONDS")
        worker = subprocess.Popen(
            reminders_cmd("worker", "--poll-seconds", "0.1"),
            env=cli_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(lambda: recorder.accepted_total == created, timeout=30)
        finally:
            worker.send_signal(signal.SIGTERM)
            out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert f"worker: {created} delivered, 0 dead" in out


def test_the_worker_without_channels_says_so(run_cli: RunCli) -> None:
    done = run_cli("worker", "--once")
    assert done.returncode == 0
    assert "no delivery channel is configured" in done.stdout


def test_a_webhook_url_without_a_secret_is_a_one_line_error(
    cli_env: dict[str, str], run_cli: RunCli
) -> None:
    cli_env["REMINDERS_WEBHOOK_URL"] = "http://127.0.0.1:9/hook"
    done = run_cli("worker", "--once")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: REMINDERS_WEBHOOK_URL is set but REMINDERS_WEBHOOK_SECRET is not: webhooks are"
        " signed"
    ]
