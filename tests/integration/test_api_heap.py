"""The server's garbage collector (api/heap.py): frozen after start-up, young collections rarer;
only the process that serves does it."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from assignment_reminders.api import heap
from assignment_reminders.api.app import create_app
from assignment_reminders.cli import cli
from assignment_reminders.config import Settings

DOWN_URL = "postgresql://nobody@127.0.0.1:9/none"

SETTLE = """
import gc, weakref
from assignment_reminders.api import heap
before = gc.get_threshold()
heap.settle()
after = gc.get_threshold()
class Node: pass
a, b = Node(), Node()
a.other, b.other = b, a
alive = weakref.ref(a)
del a, b
gc.collect()
print(gc.get_freeze_count() > 1000, after[0], after[1:] == before[1:], alive() is None)
"""


def test_settling_freezes_what_start_up_built_and_still_collects_new_cycles() -> None:
    # In its own interpreter: freezing is process-wide.
    done = subprocess.run(
        [sys.executable, "-c", SETTLE], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["True", str(heap.GEN0_THRESHOLD), "True", "True"]


def test_serve_settles_the_heap_once_its_app_has_started(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    settled: list[int] = []
    served: list[Any] = []
    monkeypatch.setattr(heap, "settle", lambda: settled.append(1))

    def run(server: uvicorn.Server, sockets: object = None) -> None:  # started, then stopped
        served.append(server.config.app)
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    for name in [k for k in os.environ if k.startswith("REMINDERS_")]:
        monkeypatch.delenv(name)

    result = CliRunner().invoke(cli, ["serve", "--no-builtin-cron"], env={"DATABASE_URL": DOWN_URL})
    assert result.exit_code == 0, result.output
    assert settled == []  # not at import or app creation: start-up is not over
    with TestClient(served[0]):
        assert settled == [1]

    with TestClient(create_app(Settings.from_env({"DATABASE_URL": DOWN_URL}))):
        assert settled == [1]  # an app built by a test (or an embedder) leaves the process's GC
