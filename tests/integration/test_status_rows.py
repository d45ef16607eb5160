"""``reminders status`` reuses the runs the monitoring snapshot read, and reads again only when
``--limit`` asks for more than the snapshot may hold: its rows are exactly the newest *limit*."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from assignment_reminders.config import JOB_NAME, Settings
from assignment_reminders.db.database import Connection
from assignment_reminders.db.gateway import fetch_all, named
from assignment_reminders.job.run_row import RunRow
from assignment_reminders.monitoring import status
from assignment_reminders.monitoring.monitor import RECENT_ROWS
from tests.run_rows import T0, insert_run


@pytest.mark.parametrize("runs", [5, RECENT_ROWS + 20])
def test_status_shows_the_newest_runs_up_to_its_limit(
    conn: Connection, settings: Settings, runs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(runs):
        insert_run(conn, "success", T0 + timedelta(hours=i))
    reads: list[int] = []
    real = fetch_all

    def counted(*args: Any, **kwargs: Any) -> Any:  # status's own reads of the run list
        reads.append(args[2]["limit"])
        return real(*args, **kwargs)

    monkeypatch.setattr(status, "fetch_all", counted)
    now = T0 + timedelta(hours=runs + 1)
    for limit in (1, runs - 1, runs, RECENT_ROWS, RECENT_ROWS + 1, runs + 30):
        reads.clear()
        shown = [r["id"] for r in status.read_status(conn, settings, now=now, limit=limit).runs]
        direct = fetch_all(
            conn, named("recent_runs"), {"job_name": JOB_NAME, "limit": limit}, row=RunRow
        )
        assert shown == [r.id for r in direct], limit
        # a second read only when the snapshot was full and the limit asks for more than it has
        assert reads == ([limit] if runs >= RECENT_ROWS and limit > RECENT_ROWS else []), limit
