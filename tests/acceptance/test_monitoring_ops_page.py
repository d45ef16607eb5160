"""The /ops page of a real ``reminders serve``, rendered by headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assignment_reminders.db.database import Connection
from assignment_reminders.monitoring.cron import CronSchedule
from tests.dependencies import missing
from tests.png import read_png
from tests.run_rows import insert_run
from tests.served import served

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing("chromium", "`make test` installs it (make system-deps)")
    return found


@pytest.fixture
def server(cli_env: dict[str, str]) -> Iterator[str]:
    with served(cli_env, "--no-builtin-cron") as base:
        yield base


def test_headless_chromium_renders_the_duration_chart(
    conn: Connection, server: str, tmp_path: Path
) -> None:
    browser = chromium()
    now = datetime.now(UTC)
    for day in range(1, 8):
        insert_run(conn, "success", now - timedelta(days=day), minutes=2 + day)
    insert_run(conn, "success", now - timedelta(days=9), minutes=42)  # an overrun, finished
    insert_run(conn, "failed", now - timedelta(days=10), minutes=1, error="RuntimeError: boom")
    insert_run(conn, "skipped", now - timedelta(days=11), minutes=0)
    dom = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,900",
            "--dump-dom",
            f"{server}/ops",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", dom.stdout)
    assert body, dom.stdout[:2000]
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
    assert attrs["chart-width"] == "900"  # laid out by the browser at its full size
    assert attrs["chart-height"] == "320"
    assert attrs["chart-markers"] == "10"
    assert attrs["chart-limit-line"] == "1"
    assert dom.stdout.count('class="run run-failed"') == 1
    assert dom.stdout.count('class="run run-skipped"') == 1


# --- An on-call person's view: healthy, late and failing deployments, as screenshots -------------

STATE_COLOURS = {
    "up": (0x15, 0x80, 0x3D),
    "late": (0xB4, 0x53, 0x09),
    "failing": (0xB9, 0x1C, 0x1C),
}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: $TEST_ARTIFACTS_DIR (CI keeps it) or a pytest temp dir."""
    chosen = os.environ.get("TEST_ARTIFACTS_DIR")
    path = Path(chosen) / "ops" if chosen else tmp_path_factory.mktemp("ops-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def two_hours_ago_daily() -> tuple[str, datetime]:
    """A daily schedule whose last fire time was two hours ago: past the 30-minute grace, well
    within the 26-hour missed-run limit, whenever the test runs."""
    zone = ZoneInfo("Europe/Oslo")
    fire = (datetime.now(UTC) - timedelta(hours=2)).astimezone(zone).replace(second=0)
    fire = fire.replace(microsecond=0)
    expression = f"{fire.minute} {fire.hour} * * *"
    previous = CronSchedule.parse(expression, zone.key).previous_at_or_before(datetime.now(UTC))
    assert previous is not None
    return expression, previous


def healthy(conn: Connection, fired: datetime) -> None:
    for day in range(1, 10):
        insert_run(
            conn,
            "success",
            fired - timedelta(days=day),
            minutes=3 + day % 4,
            due_rows_read=2000,
            reminders_created=day,
            trigger_source="builtin-cron",
        )
    insert_run(
        conn,
        "skipped",
        fired - timedelta(days=2) + timedelta(seconds=1),
        minutes=0,
        note="advisory_lock_held",
        trigger_source="builtin-cron",
    )
    insert_run(
        conn,
        "success",
        fired + timedelta(minutes=1),
        minutes=4,
        due_rows_read=2000,
        reminders_created=12,
        escalations_created=2,
        trigger_source="builtin-cron",
    )


def late(conn: Connection, fired: datetime) -> None:
    for day in range(1, 10):
        insert_run(
            conn,
            "success",
            fired - timedelta(days=day),
            minutes=3,
            due_rows_read=2000,
            trigger_source="builtin-cron",
        )
    insert_run(
        conn,
        "success",
        fired - timedelta(hours=3),
        minutes=2,
        trigger_source="cli",
        due_rows_read=2000,
    )


def failing(conn: Connection, fired: datetime) -> None:
    for day in range(1, 10):
        insert_run(
            conn,
            "success",
            fired - timedelta(days=day),
            minutes=3,
            due_rows_read=2000,
            trigger_source="builtin-cron",
        )
    run_id = insert_run(
        conn,
        "failed",
        fired + timedelta(minutes=1),
        minutes=1,
        trigger_source="builtin-cron",
        due_rows_read=400,
        error="UniqueViolation: duplicate key value violates unique constraint"
        ' "reminder_dispatches_key" DETAIL: Key (recipient_user_id)='
        "(3f1c2d4e-1111-2222-3333-444455556666) already exists.",
    )
    message = (
        f"run {run_id} of assignment-reminder-cron failed: UniqueViolation: duplicate key"
        " (recipient_user_id)=(3f1c2d4e-1111-2222-3333-444455556666)"
    )
    conn.execute(
        "INSERT INTO reminders.monitoring_alerts (job_name, kind, subject, message, opened_at,"
        " opened_by, last_seen_at) VALUES ('assignment-reminder-cron', 'failure',"
        " 'assignment-reminder-cron', %(message)s, %(at)s, 'test', %(at)s)",
        {"at": fired + timedelta(minutes=2), "message": message},
    )


def browse(browser: str, profile: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            "--window-size=1280,1500",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


Scenario = tuple[Callable[[Connection, datetime], None], str, str]


@pytest.mark.parametrize(
    "case",
    [
        (healthy, "up", "last success "),
        (late, "late", "no successful run since"),
        (failing, "failing", "failed"),
    ],
    ids=["healthy", "late", "failing"],
)
def test_screenshots_show_the_headline_and_the_runs_table(
    conn: Connection, cli_env: dict[str, str], tmp_path: Path, artifacts: Path, case: Scenario
) -> None:
    scenario, state, why = case
    browser = chromium()
    expression, fired = two_hours_ago_daily()
    scenario(conn, fired)
    env = {**cli_env, "REMINDERS_SCHEDULE": expression, "REMINDERS_SCHEDULE_TZ": "Europe/Oslo"}
    with served(env, "--no-builtin-cron") as base:
        shot = artifacts / f"ops-{state}.png"
        taken = browse(browser, tmp_path / "p1", f"{base}/ops", f"--screenshot={shot}")
        assert taken.returncode == 0, taken.stderr[-2000:]
        dom = browse(browser, tmp_path / "p2", f"{base}/ops", "--dump-dom")
        assert dom.returncode == 0, dom.stderr[-2000:]
    page = dom.stdout
    # the headline: its state and reason in the DOM, its colour in the screenshot
    assert f'<body data-state="{state}"' in page
    headline = re.search(r'<h1>([^<]*)</h1>\s*<p id="why">([^<]*)</p>', page)
    assert headline, page[:3000]
    assert headline.group(1).startswith(state.upper())
    assert why in headline.group(2)
    image = read_png(shot, max_rows=60)
    assert image.width == 1280
    assert image.pixel(8, 8) == STATE_COLOURS[state]  # the banner across the top
    # the runs table: one row per run in the last 30 days, newest first, no row values
    rows = re.findall(r'<tr class="run-row" data-status="([a-z]+)">', page)
    expected_first = {"up": "success", "late": "success", "failing": "failed"}[state]
    assert rows[0] == expected_first
    logged = conn.execute("SELECT count(*) AS n FROM reminders.cron_execution_logs").fetchone()
    assert logged is not None and len(rows) == logged["n"]
    assert "3f1c2d4e" not in page
    if state == "failing":
        assert "UniqueViolation: duplicate key value violates unique constraint" in page
        assert re.search(
            r'<td data-label="kind">failure</td><td data-label="what">run \d+ of'
            " assignment-reminder-cron failed",
            page,
        )
        assert "<strong>open</strong>" in page
