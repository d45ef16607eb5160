"""One asyncio event loop in a background thread, for a channel's connections.

A channel's connections live on its loop for the channel's whole life, so they are kept open
across batches and drains; the (synchronous) service hands it a batch with :meth:`submit` and
waits for the result. Several services in several threads may share one channel: their batches
all run on the same loop, over the same bounded set of connections.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

_T = TypeVar("_T")


class LoopThread:
    """Starts its loop at the first :meth:`submit`; :meth:`close` cancels what is still running
    on it, runs a last coroutine (closing the connections), then stops the loop and joins the
    thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def submit(self, coro: Coroutine[Any, Any, _T]) -> Future[_T]:
        return asyncio.run_coroutine_threadsafe(coro, self._running_loop())

    def close(self, last: Callable[[], Coroutine[Any, Any, None]] | None = None) -> None:
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        try:
            # a batch still sending (its service gave up on it: the database failed) is
            # cancelled and awaited, not destroyed pending when the loop closes
            asyncio.run_coroutine_threadsafe(_cancel_the_rest(), loop).result()
            if last is not None:
                asyncio.run_coroutine_threadsafe(last(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


async def _cancel_the_rest() -> None:
    """Cancel every other task on this loop and wait until each has ended."""
    rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)
