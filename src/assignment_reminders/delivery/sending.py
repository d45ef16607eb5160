"""What every channel shares: sending a batch on the channel's own event loop, with at most
the adaptive limit of messages in flight.

A channel subclasses :class:`AsyncChannel` and writes ``deliver`` (one message, raising
:class:`DeliveryError` on failure) and ``aclose`` (its connections). The service calls
:meth:`~AsyncChannel.submit` from its own thread and waits for the outcome of each message.

Each message's send is cut off after the channel's ``send_timeout`` (a temporary failure), so
a message whose send starts at *t* is over by *t* + ``send_timeout``: the service's lease check
(*may_start*, asked when a message gets its slot, just before it is sent) relies on that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime

from ..exceptions import DeliveryError
from .limit import AdaptiveLimit
from .loop import LoopThread
from .messages import Message
from .states import Attempt

Outcomes = list[Attempt]  # per message: what happened, and when it ended
MayStart = Callable[[Message, datetime, float], bool]
"""``may_start(message, now, send_timeout)``: may this message's send start now?"""


class AsyncChannel:
    name: str

    def __init__(self, concurrency: int, *, send_timeout: float) -> None:
        self.limit = AdaptiveLimit(maximum=concurrency)
        self.send_timeout = send_timeout
        self._loop = LoopThread(f"deliver-{self.name}")
        self._slots: asyncio.Semaphore | None = None  # made on the loop

    async def deliver(self, message: Message) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Close the connections; runs on the channel's loop."""

    def submit(
        self,
        messages: Sequence[Message],
        *,
        clock: Callable[[], datetime],
        may_start: MayStart | None = None,
    ) -> Future[Outcomes]:
        """Send *messages*, at most ``limit.current`` at a time; the future's result holds one
        :class:`Attempt` per message, in order, stamped by *clock* when it ended (never raises
        for a message's failure). A message *may_start* refuses when its slot comes is not sent
        (``attempted=False``)."""
        return self._loop.submit(self._send_all(messages, clock, may_start))

    async def _send_one(self, message: Message) -> None:
        try:
            async with asyncio.timeout(self.send_timeout):
                await self.deliver(message)
        except TimeoutError:
            raise DeliveryError(f"{self.name}: no answer within {self.send_timeout:g} s") from None

    async def _send_all(
        self,
        messages: Sequence[Message],
        clock: Callable[[], datetime],
        may_start: MayStart | None,
    ) -> Outcomes:
        outcomes: list[Attempt | None] = [None] * len(messages)
        pending = iter(range(len(messages)))
        if self._slots is None:  # bounds messages in flight (so connections) across batches
            self._slots = asyncio.Semaphore(self.limit.maximum)
        slots = self._slots

        async def sender() -> None:
            for i in pending:  # shared: each index is taken by one sender
                async with slots:
                    started = clock()
                    if may_start is not None and not may_start(
                        messages[i], started, self.send_timeout
                    ):
                        outcomes[i] = Attempt(None, started, attempted=False)
                        continue
                    failure: BaseException | None = None
                    try:
                        await self._send_one(messages[i])
                    except Exception as exc:
                        failure = exc
                    outcomes[i] = Attempt(failure, clock())

        started = time.monotonic()
        await asyncio.gather(*(sender() for _ in range(min(self.limit.current, len(messages)))))
        done = [o for o in outcomes if o is not None]
        attempted = sum(o.attempted for o in done)
        failures = sum(
            isinstance(o.failure, DeliveryError) and not o.failure.permanent for o in done
        )
        if attempted:
            self.limit.update(attempted - failures, time.monotonic() - started, failures=failures)
        return done

    def close(self) -> None:
        """Close the connections and stop the loop (a later submit starts both afresh)."""
        self._loop.close(self.aclose)
        self._slots = None  # bound to the loop just closed
