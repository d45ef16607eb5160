"""A production install: the wheel, without extras, in a clean venv.

The wheel and its runtime dependencies come from ``scripts/wheelhouse.sh`` (what the Dockerfile
runs too), pinned by requirements-dev.lock, and are installed with ``pip install --no-index
--find-links`` so the install itself needs no network. The wheelhouse is kept in
``.venv/wheelhouse``; when it already holds every wheel, building it needs no network either.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
WHEEL = f"assignment_reminders-{VERSION}-py3-none-any.whl"
INSTALL = ["install", "--no-index", "--find-links"]  # + the wheelhouse + the requirement
REQUIREMENT = f"assignment-reminders=={VERSION}"

pytestmark = pytest.mark.slow


def build_wheelhouse(directory: Path) -> None:
    """scripts/wheelhouse.sh, offline first (from what *directory* holds), then from the index."""
    env = {**os.environ, "PYTHON": sys.executable}
    script = ["sh", "scripts/wheelhouse.sh", str(directory)]
    offline = {**env, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(directory)}
    for attempt in (offline, env):
        done = subprocess.run(
            script, env=attempt, cwd=ROOT, capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            break
    assert done.returncode == 0, done.stderr
    assert (directory / WHEEL).exists()


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_wheelhouse(WHEELHOUSE)
    home = tmp_path_factory.mktemp("clean-venv")
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
    pip = [str(home / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    installed = subprocess.run(
        [*pip, *INSTALL, str(WHEELHOUSE), REQUIREMENT], capture_output=True, text=True, check=False
    )
    assert installed.returncode == 0, installed.stderr
    return home


def bare_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMINDERS_", "DATABASE_"))}
    env.pop("VIRTUAL_ENV", None)
    return {**env, "REMINDERS_LOG_LEVEL": "WARNING", **extra}


def reminders(venv: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "reminders"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=venv,  # not the repository: nothing of the source tree on the path
    )


def test_the_clean_install_has_no_embedded_database_and_no_dev_tools(venv: Path) -> None:
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    assert f"assignment-reminders=={VERSION}" in listed
    for absent in ("pgserver", "pytest", "ruff", "mypy", "schemathesis", "aiosmtpd"):
        assert f"{absent}==" not in listed, absent


def test_the_installed_wheel_migrates_seeds_and_runs_against_a_given_database(
    venv: Path, empty_database_url: str
) -> None:
    env = bare_env(DATABASE_URL=empty_database_url)
    migrated = reminders(venv, env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.startswith("applied ")
    seeded = reminders(venv, env, "seed", "--assignments", "200", "--today", "2026-11-28")
    assert seeded.returncode == 0, seeded.stderr
    ran = reminders(venv, env, "run", "--now", "2026-11-28T06:00:00+00:00", "--allow-distant-now")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("success")
    assert re.search(r"run \d+, [1-9][\d,]* due rows read, [1-9][\d,]* reminders", ran.stdout), (
        ran.stdout
    )
    assert "embedded" not in migrated.stderr + seeded.stderr + ran.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("migrate",),
        ("seed", "--assignments", "10"),
        ("run",),
        ("status",),
        ("check",),
        ("deliveries",),
        ("worker", "--once"),
        ("serve", "--no-builtin-cron"),
    ],
)
def test_without_database_url_and_without_the_extra_every_database_command_stops(
    venv: Path, args: tuple[str, ...]
) -> None:
    env = bare_env(REMINDERS_SMTP_HOST="127.0.0.1")  # a channel, so the worker needs the queue
    done = reminders(venv, env, *args)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: DATABASE_URL is unset and the embedded PostgreSQL is not installed: set"
        " DATABASE_URL to your database, or install the extra for laptops and demos: pip install"
        " 'assignment-reminders[embedded]'"
    ]
    assert done.stdout == ""
