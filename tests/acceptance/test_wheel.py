"""The built wheel carries the SQL an installed service needs: migrations and the optional files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
            "--disable-pip-version-check", "-w", str(out), str(REPO),
        ],
        check=True,
        timeout=300,
    )  # fmt: skip
    (built,) = out.glob("assignment_reminders-*.whl")
    return built


def test_wheel_contains_the_migrations_and_the_optional_sql(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for source in [*REPO.glob("supabase/migrations/*.sql"), *REPO.glob("supabase/optional/*.sql")]:
        packaged = f"assignment_reminders/{source.parent.name}/{source.name}"
        assert packaged in names
        assert zipfile.ZipFile(wheel).read(packaged) == source.read_bytes()


def test_installed_package_finds_and_prints_the_optional_sql(wheel: Path, tmp_path: Path) -> None:
    """Unpacked where no source tree is near: the packaged directory is the one used."""
    zipfile.ZipFile(wheel).extractall(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "assignment_reminders", "optional-sql", "pg_cron_schedule"],
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (REPO / "supabase/optional/pg_cron_schedule.sql").read_text()
    code = "import assignment_reminders.db.optional_sql as m; print(m.optional_sql_dir())"
    where = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert Path(where.stdout.strip()) == tmp_path / "assignment_reminders" / "optional"
