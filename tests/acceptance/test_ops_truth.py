"""One truth for state and incidents, as an operator meets it: status, check, incidents,
maintenance windows, and a run that opens its own incident (issue 20, items 4 and 5)."""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from assignment_reminders.db.database import Connection
from tests.alert_receivers import ALERT_WEBHOOK_SECRET, WebhookReceiver, webhook
from tests.conftest import run_reminders, start_reminders, wait_for
from tests.locks import CLASSID, OBJID
from tests.run_rows import insert_run, running, runs
from tests.served import served

__all__ = ["webhook"]

Run = Callable[..., subprocess.CompletedProcess[str]]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"


@pytest.fixture
def alerting_cli(cli_env: dict[str, str], webhook: WebhookReceiver) -> Run:
    """``reminders`` logging at INFO, with the alert webhook pointing at a real local receiver."""
    env = {
        **cli_env,
        "REMINDERS_ALERT_WEBHOOK_URL": webhook.url,
        "REMINDERS_ALERT_WEBHOOK_SECRET": ALERT_WEBHOOK_SECRET,
        "REMINDERS_LOG_LEVEL": "INFO",
    }
    return functools.partial(run_reminders, env)


def alerts(conn: Connection) -> list[dict[str, Any]]:
    return conn.execute("SELECT * FROM reminders.monitoring_alerts ORDER BY id").fetchall()


def state(conn: Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
    windows = conn.execute("SELECT * FROM reminders.maintenance_windows ORDER BY id").fetchall()
    return alerts(conn), runs(conn), windows


def test_check_now_is_a_dry_run_unless_record_is_given(
    conn: Connection, alerting_cli: Run, webhook: WebhookReceiver
) -> None:
    insert_run(conn, "failed", datetime.now(UTC) - timedelta(hours=2), error="RuntimeError: boom")
    before = state(conn)
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    dry = alerting_cli("check", "--now", future)
    assert dry.returncode == 3, dry.stderr
    assert "failure: run" in dry.stdout and "missed_run: " in dry.stdout
    assert dry.stdout.splitlines()[-1] == (
        "dry run: nothing was opened, resolved or sent (--record to record)"
    )
    assert state(conn) == before  # no incident, no run marked announced, nothing else
    assert webhook.texts() == []
    assert "[ALERT]" not in dry.stderr
    as_json = alerting_cli("check", "--now", future, "--json")
    assert '"recorded": false' in as_json.stdout and state(conn) == before

    recorded = alerting_cli("check", "--now", future, "--record")
    assert recorded.returncode == 3, recorded.stderr
    assert "dry run" not in recorded.stdout
    assert sorted(a["kind"] for a in alerts(conn)) == ["failure", "missed_run"]
    assert sorted(t.split(":")[0] for t in webhook.texts()) == [
        "[ALERT] failure",
        "[ALERT] missed_run",
    ]


def test_status_says_the_state_and_the_incident_before_any_check(
    conn: Connection, run_cli: Run
) -> None:
    run_id = insert_run(
        conn, "failed", datetime.now(UTC) - timedelta(minutes=5), error="RuntimeError: boom"
    )
    status = run_cli("status")
    assert status.returncode == 0, status.stderr
    first = status.stdout.splitlines()[0]
    assert first.startswith(f"state: FAILING: run {run_id} failed")
    assert f"failure: run {run_id} of" in status.stdout
    assert "(new: the next check alerts it)" in status.stdout
    assert alerts(conn) == []  # status only reads
    listed = run_cli("incidents", "list")
    assert listed.stdout.splitlines()[0] == first
    assert listed.stdout.splitlines()[1].startswith(f"new failure: run {run_id}")


def test_a_run_that_finds_a_dead_holder_announces_its_failure_without_a_check(
    conn: Connection, alerting_cli: Run, webhook: WebhookReceiver
) -> None:
    """The killed run (holder_died) used to become an incident only if a check ran before the
    next success; now the run that finds it announces it (alert and recovery) as it ends."""
    dead = insert_run(conn, "running", datetime.now(UTC) - timedelta(hours=1), host="gone", pid=1)
    result = alerting_cli("run")
    assert result.returncode == 0, result.stderr
    [incident] = alerts(conn)
    assert incident["kind"] == "failure" and incident["subject"] == f"run:{dead}"
    assert incident["opened_by"].startswith("run@") and incident["resolved_at"] is not None
    texts = webhook.texts()
    assert [t.split(" ")[0] for t in texts] == ["[ALERT]", "[RECOVERED]"]
    assert "holder_died" in texts[0]


def test_a_maintenance_window_records_the_alert_and_does_not_send_it(
    conn: Connection, alerting_cli: Run, webhook: WebhookReceiver
) -> None:
    now = datetime.now(UTC)
    opened = alerting_cli(
        "maintenance",
        "open",
        "--end",
        (now + timedelta(hours=1)).isoformat(),
        "--reason",
        "database upgrade",
        "--by",
        "kari",
    )
    assert opened.returncode == 0, opened.stderr
    window = int(re.search(r"maintenance window (\d+):", opened.stdout)[1])  # type: ignore[index]
    assert "maintenance window" in opened.stderr and "opened by kari" in opened.stderr
    insert_run(conn, "failed", now - timedelta(minutes=5), error="RuntimeError: boom")
    checked = alerting_cli("check")
    assert checked.returncode == 3
    [incident] = alerts(conn)
    assert incident["muted_by"] == window
    assert f"muted by maintenance window {window}: recorded, not sent" in checked.stderr
    assert webhook.texts() == []

    closed = alerting_cli("maintenance", "close", str(window), "--by", "kari")
    assert closed.returncode == 0, closed.stderr
    insert_run(conn, "success", datetime.now(UTC), unlock_ok=True)
    assert alerting_cli("check").returncode == 0
    assert [t.split(" ")[0] for t in webhook.texts()] == ["[RECOVERED]"]


def test_acknowledging_is_recorded_once_and_bad_input_changes_nothing(
    conn: Connection, run_cli: Run, alerting_cli: Run
) -> None:
    insert_run(conn, "failed", datetime.now(UTC) - timedelta(minutes=5), error="boom")
    assert run_cli("check").returncode == 3
    [incident] = alerts(conn)
    acked = alerting_cli("incidents", "ack", str(incident["id"]), "--by", "kari", "--note", "on it")
    assert acked.returncode == 0, acked.stderr
    assert acked.stdout.strip() == f"incident {incident['id']} (failure) acknowledged by kari"
    assert f"incident {incident['id']} (failure) acknowledged by kari: on it" in acked.stderr
    before = state(conn)
    for args, code, said in [
        (("incidents", "ack", str(incident["id"]), "--by", "ola"), 1, "already acknowledged"),
        (("incidents", "ack", "999", "--by", "ola"), 1, "incident 999 does not exist"),
        (("incidents", "ack", "1", "--by", " "), 2, "'--by': must not be blank"),
        (("maintenance", "open", "--end", "2030-01-01T00:00:00Z", "--reason", " ", "--by", "o"),
         2, "'--reason': must not be blank"),
        (("incidents", "ack", "0", "--by", "ola"), 2, "'ID'"),
        (("maintenance", "close", "7", "--by", "ola"), 1, "window 7 does not exist"),
        (
            ("maintenance", "open", "--start", "2030-01-02T00:00:00Z", "--end",
             "2030-01-01T00:00:00Z", "--reason", "x", "--by", "ola"),
            1,
            "--end must be after --start",
        ),
        (("maintenance", "open", "--end", "tomorrow", "--reason", "x", "--by", "o"), 2, "--end"),
        (
            ("maintenance", "open", "--end", "2020-01-01T00:00:00Z", "--reason", "x", "--by", "o"),
            1,
            "--end must be in the future",
        ),
        (("incidents", "ack", "abc", "--by", "ola"), 2, "'abc' is not a valid integer."),
    ]:  # fmt: skip
        result = run_cli(*args)
        assert result.returncode == code, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and said in lines[0], (args, lines)
    assert state(conn) == before
    [after] = alerts(conn)
    assert (after["acknowledged_by"], after["acknowledged_note"]) == ("kari", "on it")


def documented_commands() -> list[list[str]]:
    text = DOCS.read_text()
    section = text[text.index("## Acknowledging and muting") :]
    block = section[section.index("```console") : section.index("```\n", 10)]
    return [shlex.split(line[2:]) for line in block.splitlines() if line.startswith("$ ")]


def test_the_documented_commands_run(conn: Connection, run_cli: Run) -> None:
    commands = documented_commands()
    assert len(commands) == 7
    insert_run(conn, "failed", datetime.now(UTC) - timedelta(minutes=5), error="boom")
    assert run_cli("check").returncode == 3  # incident 1: what `ack 1` acknowledges
    for command in commands:
        assert command[0] == "reminders"
        result = run_cli(*command[1:])
        expected = (0, 3) if command[1] == "check" else (0,)
        assert result.returncode in expected, (command, result.stdout, result.stderr)
    [incident] = [a for a in alerts(conn) if a["kind"] == "failure"]
    assert (incident["id"], incident["acknowledged_by"]) == (1, "kari")
    [window] = state(conn)[2]
    assert (window["id"], window["reason"], window["closed_by"]) == (1, "database upgrade", "kari")


def test_the_ops_banner_and_its_incidents_agree_before_and_after_a_check(
    conn: Connection, cli_env: dict[str, str], run_cli: Run
) -> None:
    """FAILING with no incident, or UP with open incidents, between two checks: not any more."""
    run_id = insert_run(
        conn, "failed", datetime.now(UTC) - timedelta(minutes=5), error="RuntimeError: boom"
    )
    with served(cli_env, "--no-builtin-cron") as base:
        before = httpx.get(f"{base}/ops", timeout=30).text
        assert '<body data-state="failing"' in before
        assert f"run {run_id} of assignment-reminder-cron failed" in incidents_table(before)
        assert "open (the next check alerts it)" in incidents_table(before)
        assert run_cli("check").returncode == 3
        recorded = httpx.get(f"{base}/ops", timeout=30).text
        assert "<strong>open</strong>" in incidents_table(recorded)
        insert_run(conn, "success", datetime.now(UTC), unlock_ok=True)
        after = httpx.get(f"{base}/ops", timeout=30).text
        assert '<body data-state="up"' in after
        assert "clearing (the next check resolves it)" in incidents_table(after)


def incidents_table(page: str) -> str:
    found = re.search(r'<table id="incidents"[^>]*>.*?</table>', page, re.S)
    assert found, page[:3000]
    return found.group(0)


def test_a_run_that_loses_its_lock_opens_its_incident_as_it_is_recorded(
    conn: Connection, cli_env: dict[str, str], webhook: WebhookReceiver
) -> None:
    """lock_lost: the run's end opens the failure incident and alerts it, no check involved."""
    env = {
        **cli_env,
        "REMINDERS_ALERT_WEBHOOK_URL": webhook.url,
        "REMINDERS_ALERT_WEBHOOK_SECRET": ALERT_WEBHOOK_SECRET,
    }
    proc = start_reminders(env, "run", "--hold-seconds", "60")
    try:
        row = wait_for(lambda: running(conn), timeout=60)
        cut = conn.execute(
            "SELECT bool_or(pg_terminate_backend(pid)) AS cut FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND classid = %s AND objid = %s",
            (CLASSID, OBJID),
        ).fetchone()
        assert cut is not None and cut["cut"]
        assert proc.wait(timeout=60) == 1
    finally:
        proc.kill()
        proc.communicate()
    [ended] = [r for r in runs(conn) if r["id"] == row["id"]]
    assert ended["status"] == "failed" and ended["note"].startswith("lock_lost")
    opened = {a["kind"]: a for a in alerts(conn)}
    assert sorted(opened) == ["failure", "unlock_failed"]  # its release found the lock gone
    for incident in opened.values():
        assert incident["resolved_at"] is None and incident["opened_by"].startswith("run@")
        assert incident["details"]["run_id"] == row["id"]
    texts = sorted(webhook.texts())
    assert texts[0].startswith(f"[ALERT] failure: run {row['id']} of")
    assert "LockLostError" in texts[0]
    assert texts[1].startswith(f"[ALERT] unlock_failed: run {row['id']} of")
