"""Structured logs: REMINDERS_LOG_FORMAT=json makes every stderr line one JSON object, lines of a
run carry its run_id and invocation_id, and uvicorn's lines go through the same configuration."""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from assignment_reminders.db.database import Connection
from assignment_reminders.logs import JsonFormatter, TextFormatter, configure_logging, log_context
from tests.conftest import reminders_cmd, wait_for
from tests.receivers import free_port
from tests.run_rows import insert_run

RunCli = Callable[..., subprocess.CompletedProcess[str]]
NOW = "2026-11-28T06:00:00+00:00"
KEYS = {"time", "level", "logger", "message"}


def json_lines(stderr: str) -> list[dict[str, Any]]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines
    parsed = [json.loads(line) for line in lines]  # every line, or this raises
    for entry in parsed:
        assert set(entry) >= KEYS, entry
    return parsed


def json_logged_run(
    cli_env: dict[str, str], run_cli: RunCli, level: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``reminders run --json`` logging JSON lines at *level*: its outcome and its log lines."""
    cli_env.update(REMINDERS_LOG_FORMAT="json", REMINDERS_LOG_LEVEL=level)
    done = run_cli("run", "--now", NOW, "--allow-distant-now", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), json_lines(done.stderr)


def test_a_run_logs_json_lines_carrying_its_run_and_invocation(
    cli_env: dict[str, str], run_cli: RunCli
) -> None:
    outcome, entries = json_logged_run(cli_env, run_cli, "INFO")
    pass_done = [e for e in entries if e["message"].startswith("reminder pass done")]
    assert len(pass_done) == 1
    assert pass_done[0]["logger"] == "assignment_reminders.job.reminder_pass"
    assert pass_done[0]["level"] == "INFO"
    assert pass_done[0]["run_id"] == outcome["run_id"]
    assert pass_done[0]["invocation_id"] == outcome["invocation_id"]
    assert pass_done[0]["time"].endswith("Z")


@contextmanager
def serving(env: dict[str, str], stderr: list[str]) -> Iterator[str]:
    """``reminders serve`` on a free port; its stderr is appended to *stderr* when it stops."""
    port = free_port()
    proc = subprocess.Popen(
        reminders_cmd("serve", "--no-builtin-cron", "--port", str(port)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None
        try:
            return httpx.get(f"{base}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(up, timeout=60)
        yield base
    finally:
        proc.terminate()
        stderr.append(proc.communicate(timeout=30)[1])


def test_uvicorn_access_and_error_lines_are_json_too(cli_env: dict[str, str]) -> None:
    cli_env.update(REMINDERS_LOG_FORMAT="json", REMINDERS_LOG_LEVEL="INFO")
    stderr: list[str] = []
    with serving(cli_env, stderr) as base:
        assert httpx.get(f"{base}/health?probe=1").status_code == 200
    entries = json_lines(stderr[0])
    loggers = {e["logger"] for e in entries}
    assert "uvicorn.error" in loggers  # "Started server process", "Application startup complete"
    access = [e for e in entries if e["logger"] == "uvicorn.access" and e["path"].startswith("/h")]
    assert access[-1]["method"] == "GET"
    assert access[-1]["path"] == "/health?probe=1"
    assert access[-1]["status"] == 200


def test_uvicorn_lines_follow_the_text_format(cli_env: dict[str, str]) -> None:
    cli_env.update(REMINDERS_LOG_LEVEL="INFO")
    stderr: list[str] = []
    with serving(cli_env, stderr) as base:
        httpx.get(f"{base}/health")
    lines = stderr[0].splitlines()
    access = [line for line in lines if " INFO uvicorn.access: " in line]
    assert any('"GET /health HTTP/1.1" 200' in line for line in access), lines
    assert any(" INFO uvicorn.error: Application startup complete." in line for line in lines)


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("x", logging.INFO, __file__, 1, message, None, None)


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()])
def test_fields_bound_in_a_run_are_on_its_lines_only(formatter: logging.Formatter) -> None:
    from assignment_reminders.logs import ContextFilter

    attach = ContextFilter()
    with log_context(run_id=7, invocation_id="abc"):
        inside = record("inside")
        attach.filter(inside)
    outside = record("outside")
    attach.filter(outside)
    assert "run_id" in formatter.format(inside) and "abc" in formatter.format(inside)
    assert "run_id" not in formatter.format(outside)


def test_a_failing_command_ends_with_a_json_error_line_in_json_mode(
    cli_env: dict[str, str], run_cli: RunCli
) -> None:
    cli_env.update(
        REMINDERS_LOG_FORMAT="json",
        DATABASE_URL=f"postgresql://app:pw@127.0.0.1:{free_port()}/x",
    )
    done = run_cli("run")
    assert done.returncode == 1
    last = json_lines(done.stderr)[-1]  # every line parses, the error line too
    assert last["level"] == "ERROR"
    assert last["message"].startswith("cannot connect to postgresql://app@127.0.0.1:")
    assert "pw" not in done.stderr


def test_psycopgs_cleanup_warning_after_an_error_is_left_out_other_warnings_are_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A COPY whose server went away: psycopg warns that ending the COPY failed as well, then the
    # first error reaches the command, which prints it as its one line (seen in `reminders seed`
    # with its backend terminated mid-COPY).
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("INFO")
        driver = logging.getLogger("psycopg")
        driver.warning("error ignored terminating %r: %s", "<psycopg.Copy [BAD]>", "lost")
        driver.warning("connection pool: something else worth saying")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    err = capsys.readouterr().err
    assert "error ignored terminating" not in err
    assert "something else worth saying" in err


def test_every_line_of_a_run_carries_its_run_and_invocation_channel_lines_included(
    cli_env: dict[str, str], run_cli: RunCli
) -> None:
    """No channel is configured: the run says so for each channel, within the run."""
    outcome, entries = json_logged_run(cli_env, run_cli, "DEBUG")
    ours = [e for e in entries if e["logger"].startswith("assignment_reminders")]
    channel_lines = [e for e in ours if "channel not configured" in e["message"]]
    assert len(channel_lines) == 2
    for entry in ours:
        assert entry.get("run_id") == outcome["run_id"], entry
        assert entry.get("invocation_id") == outcome["invocation_id"], entry


@pytest.mark.parametrize(
    "env",
    [
        {"REMINDERS_BATCH_SIZE": "lots"},
        {"REMINDERS_MISSED_GRACE_SECONDS": "-1"},
        {"REMINDERS_LOG_LEVEL": "LOUD"},
    ],
)
def test_a_configuration_error_is_a_json_line_in_json_mode(
    cli_env: dict[str, str], run_cli: RunCli, env: dict[str, str]
) -> None:
    cli_env.update(REMINDERS_LOG_FORMAT="json", **env)
    for command in (("status",), ("check",), ("incidents", "list")):
        failed = run_cli(*command)
        assert failed.returncode == 1, failed.stderr
        [entry] = json_lines(failed.stderr)
        assert entry["level"] == "ERROR"
        assert next(iter(env)) in entry["message"]


def test_a_usage_error_is_a_json_line_in_json_mode(
    cli_env: dict[str, str], run_cli: RunCli
) -> None:
    cli_env.update(REMINDERS_LOG_FORMAT="json")
    for args in (("--no-such-option",), ("check", "--now", "yesterday"), ("nonsense",)):
        failed = run_cli(*args)
        assert failed.returncode == 2, failed.stderr
        [entry] = json_lines(failed.stderr)
        assert entry["level"] == "ERROR"


def test_alert_lines_carry_the_run_and_the_alert_kind_as_fields(
    cli_env: dict[str, str], run_cli: RunCli, conn: Connection
) -> None:
    run_id = insert_run(conn, "failed", datetime.now(UTC) - timedelta(minutes=5), error="boom")
    cli_env.update(REMINDERS_LOG_FORMAT="json")
    checked = run_cli("check")
    assert checked.returncode == 3, checked.stderr
    [alert] = [e for e in json_lines(checked.stderr) if e["message"].startswith("[ALERT]")]
    assert alert["alert_kind"] == "failure"
    assert alert["run_id"] == run_id
    assert alert["incident_id"] == 1
    assert alert["logger"] == "assignment_reminders.alerts"
