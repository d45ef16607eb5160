"""A channel's event loop thread (delivery/loop.py) closes cleanly with a batch still sending:
the batch's service gave up on it (its database failed), and the worker's one error line is not
followed by asyncio's "Task was destroyed but it is pending!" and a task dump."""

from __future__ import annotations

import asyncio
import gc
import logging
from concurrent.futures import CancelledError

import pytest

from assignment_reminders.delivery.loop import LoopThread


def test_close_cancels_a_batch_still_sending_and_leaves_no_pending_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = LoopThread("test-deliver")
    started = asyncio.Event()
    closed: list[str] = []

    async def sending() -> None:
        started.set()
        await asyncio.sleep(3600)  # a send no one waits for any more

    async def wait_started() -> None:
        await started.wait()

    async def last() -> None:
        closed.append("connections")

    batch = loop.submit(sending())
    loop.submit(wait_started()).result(timeout=10)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        loop.close(last)
        gc.collect()  # a task destroyed pending is reported when it is collected
    assert closed == ["connections"]
    with pytest.raises(CancelledError):
        batch.result(timeout=0)
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
