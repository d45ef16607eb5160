"""The /ops page of a real ``reminders serve``, rendered by headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assignment_reminders.database import Connection
from tests.run_rows import insert_run
from tests.served import served

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (make system-deps installs it)")
        pytest.skip("chromium is not installed")
    return found


@pytest.fixture
def server(cli_env: dict[str, str]) -> Iterator[str]:
    with served(cli_env, "--no-scheduler") as base:
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
