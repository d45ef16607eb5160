"""A benchmark's throwaway embedded server is gone when its ``with`` block ends, not a minute
into the next benchmark."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.scratch import server
from psycopg.conninfo import conninfo_to_dict


def alive(pid: int) -> bool:
    """Whether *pid* runs: not gone, and not a zombie its new parent has yet to reap."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_the_embedded_server_stops_before_its_directory_is_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with server() as url:
        data_dir = Path(str(conninfo_to_dict(url)["host"]))  # its socket is in its directory
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        assert alive(pid)
    assert not data_dir.exists()
    assert not alive(pid), f"the benchmark's PostgreSQL (pid {pid}) outlived its directory"
