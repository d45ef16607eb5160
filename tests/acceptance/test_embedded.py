"""The embedded PostgreSQL: started on demand, kept between commands, stoppable."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import private_data_dir, reminders_cmd

pytestmark = pytest.mark.slow


@pytest.fixture
def data_dir() -> Iterator[Path]:
    parent = private_data_dir()
    yield parent / "pg"
    shutil.rmtree(parent, ignore_errors=True)


def test_commands_share_one_embedded_server_until_stopped(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(REMINDERS_DATA_DIR=str(data_dir))

    def cli(*args: str, level: str = "WARNING") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            reminders_cmd(*args),
            env={**env, "REMINDERS_LOG_LEVEL": level},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    try:
        assert "stopped" in cli("embedded", "status").stdout
        migrated = cli("migrate")
        [line] = migrated.stdout.splitlines()  # one line, however many migrations
        assert line.startswith("applied 1 migration: 20261201000000_baseline"), migrated.stderr
        notice = "DATABASE_URL is unset: using the embedded PostgreSQL in"
        assert f"{notice} {data_dir}" in migrated.stderr  # every command says so
        assert "running" in cli("embedded", "status").stdout
        assert cli("migrate").stdout.strip() == "migrations: up to date"
        assert cli("seed", "--assignments", "50").returncode == 0
        run = cli("run")
        assert run.returncode == 0, run.stderr
        assert notice in run.stderr
        assert run.stdout.startswith("success")
        assert f"host={data_dir}" in cli("embedded", "url").stdout
        # at the default level too: one line, none of pgserver's own (its pg_ctl command lines)
        stopped = cli("embedded", "stop", level="INFO")
        assert (stopped.returncode, stopped.stdout, stopped.stderr) == (0, "stopped\n", "")
    finally:
        assert cli("embedded", "stop").stdout.strip() in {"stopped", "not running"}
    assert "stopped" in cli("embedded", "status").stdout
