"""benchmarks/versus.py end to end, this checkout against itself at a small size: each side
migrates, seeds and runs with its own command, and the table has a figure per round and side."""

from __future__ import annotations

import re
import subprocess
import sys

import psycopg

from tests.conftest import REPO


def test_this_checkout_against_itself(pg_admin_url: str) -> None:
    args = ["--against-tree", str(REPO), "--assignments", "300", "--rounds", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.versus", *args],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": pg_admin_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("N=300, 1 round(s)")
    for phase in ("first run", "next day"):
        row = next(line for line in lines if line.startswith(f"| {phase} |"))
        cells = row.split(" | ")
        # a figure per side, each a run's own time: more than nothing
        for cell in cells[1:3]:
            figures = [float(x) for x in re.findall(r"(\d+\.\d+)", cell.split(" (median")[0])]
            assert len(figures) == 1 and figures[0] > 0, row
        assert re.fullmatch(r"\d+\.\d\dx \|", cells[3]), row
    with psycopg.connect(pg_admin_url) as admin:
        left = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'versus%'")
        assert left.fetchall() == []  # its templates and copies are dropped
