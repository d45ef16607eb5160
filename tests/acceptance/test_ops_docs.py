"""The commands docs/monitoring.md gives a person for /ops, run as typed against a real
``reminders serve`` (its address put where the docs say localhost:8000)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

import pytest

from tests.acceptance.test_container import documented_commands
from tests.served import served

pytestmark = pytest.mark.slow

TOKEN = "ops-token-for-the-docs-test-0123456789abcdef"

# what each documented line must print, in the order the docs give them
EXPECTED: list[Callable[[str], bool]] = [
    lambda out: out == TOKEN,
    lambda out: out == "401",
    lambda out: out == "1",
    lambda out: re.fullmatch(r"<title>(UP|RUNNING|LATE|DOWN|FAILING)", out) is not None,
]


def test_the_ops_sign_in_commands_in_monitoring_md_work_as_typed(
    cli_env: dict[str, str],
) -> None:
    lines = documented_commands("monitoring.md", "ops sign-in")
    assert len(lines) == len(EXPECTED), lines
    env = {**cli_env, "REMINDERS_OPS_TOKEN": TOKEN}
    with served(env, "--no-builtin-cron") as base:
        for line, expected in zip(lines, EXPECTED, strict=True):
            command = line.replace("http://localhost:8000", base)
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", command],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, (line, done.stderr)
            assert expected(done.stdout.strip()), (line, done.stdout)
