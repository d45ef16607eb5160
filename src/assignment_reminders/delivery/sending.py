"""What every channel shares: sending a batch on the channel's own event loop, with at most
the adaptive limit of messages in flight.

A channel subclasses :class:`AsyncChannel` and writes ``deliver`` (one message, raising
:class:`DeliveryError` on failure) and ``aclose`` (its connections). The service calls
:meth:`~AsyncChannel.submit` from its own thread and waits for the outcome of each message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import Future

from ..exceptions import DeliveryError
from .limit import AdaptiveLimit
from .loop import LoopThread
from .messages import Message

Outcomes = list[BaseException | None]  # per message: None (sent) or what went wrong


class AsyncChannel:
    name: str

    def __init__(self, concurrency: int) -> None:
        self.limit = AdaptiveLimit(maximum=concurrency)
        self._loop = LoopThread(f"deliver-{self.name}")
        self._slots: asyncio.Semaphore | None = None  # made on the loop

    async def deliver(self, message: Message) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close the connections; runs on the channel's loop."""

    def submit(self, messages: Sequence[Message]) -> Future[Outcomes]:
        """Send *messages*, at most ``limit.current`` at a time; the future's result holds one
        outcome per message, in order (never raises for a message's failure)."""
        return self._loop.submit(self._send_all(messages))

    async def _send_all(self, messages: Sequence[Message]) -> Outcomes:
        outcomes: Outcomes = [None] * len(messages)
        pending = iter(range(len(messages)))
        if self._slots is None:  # bounds messages in flight (so connections) across batches
            self._slots = asyncio.Semaphore(self.limit.maximum)
        slots = self._slots

        async def sender() -> None:
            for i in pending:  # shared: each index is taken by one sender
                async with slots:
                    try:
                        await self.deliver(messages[i])
                    except Exception as exc:
                        outcomes[i] = exc

        started = time.monotonic()
        await asyncio.gather(*(sender() for _ in range(min(self.limit.current, len(messages)))))
        failures = sum(isinstance(o, DeliveryError) and not o.permanent for o in outcomes)
        self.limit.update(len(messages) - failures, time.monotonic() - started, failures=failures)
        return outcomes

    def close(self) -> None:
        """Close the connections and stop the loop (a later submit starts both afresh)."""
        self._loop.close(self.aclose)
        self._slots = None  # bound to the loop just closed
