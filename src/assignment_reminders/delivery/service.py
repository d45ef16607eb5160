"""ReminderDispatchService: drains the delivery queue, at least once towards each provider.

One round = claim a batch (``FOR UPDATE SKIP LOCKED``, with a lease), render each message, send
them on their channels (each channel an event loop with a bounded, adaptive number of messages in
flight over kept connections: :mod:`.sending`), then record every outcome in one statement. A
crash between claim and record loses nothing: the lease runs out and another worker claims the
rows again; the stable idempotency key (email ``Message-ID``, webhook ``webhook-id``) lets the
receiver drop the repeat.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..database import Connection
from ..exceptions import DeliveryError, InputError
from ..fence import Guard
from ..gateway import fetch_all, named, record
from .channels import Channel
from .messages import Delivery, Message, Renderer
from .retry import RetryPolicy

if TYPE_CHECKING:
    from concurrent.futures import Future

    from .sending import Outcomes  # asyncio: not imported by `reminders run` without channels

_CLAIM_DELIVERIES = named("claim_deliveries")
_FINISH_DELIVERIES = named("finish_deliveries")

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def worker_name() -> str:
    """``host:pid:random``: unique per service instance, readable in ``claimed_by``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:100]


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status: str  # sent | pending (retry later) | dead
    next_attempt_at: datetime | None = None
    error: str | None = None


@dataclass
class _Batch:
    """A claimed batch on its way: rendered by channel, then sent (futures), then outcomes."""

    deliveries: list[Delivery]
    now: datetime
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    by_channel: dict[str, list[tuple[Delivery, Message]]] = field(default_factory=dict)
    futures: list[tuple[list[tuple[Delivery, Message]], Future[Outcomes]]] = field(
        default_factory=list
    )


@dataclass
class DrainResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0  # outcomes not recorded: our lease ran out and another worker had the row

    def add(self, outcomes: list[Outcome], recorded: int) -> None:
        self.claimed += len(outcomes)
        self.sent += sum(o.status == "sent" for o in outcomes)
        self.retried += sum(o.status == "pending" for o in outcomes)
        self.dead += sum(o.status == "dead" for o in outcomes)
        self.lost += len(outcomes) - recorded


class ReminderDispatchService:
    """Claims due deliveries for the channels it has and sends them."""

    def __init__(
        self,
        conn: Connection,
        channels: Mapping[str, Channel],
        renderer: Renderer,
        *,
        clock: Clock,
        rng: random.Random,
        policy: RetryPolicy | None = None,
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 200,
        worker: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise InputError("batch_size must be at least 1", field="batch_size")
        if lease <= timedelta(0):
            raise InputError("lease must be positive", field="lease")
        self.conn = conn
        self.channels = dict(channels)
        self.renderer = renderer
        self.clock = clock
        self.rng = rng
        self.policy = policy or RetryPolicy()
        self.lease = lease
        self.batch_size = batch_size
        self.worker = worker or worker_name()

    def close(self) -> None:
        """Nothing of its own to close: the channels' connections are closed by their owner."""

    def __enter__(self) -> ReminderDispatchService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def claim(self, now: datetime, limit: int | None = None) -> list[Delivery]:
        rows = fetch_all(
            self.conn,
            _CLAIM_DELIVERIES,
            {
                "now": now,
                "lease_until": now + self.lease,
                "worker": self.worker,
                "channels": list(self.channels),
                "limit": limit or self.batch_size,
            },
            row=record,
        )
        return [Delivery.from_row(r) for r in rows]

    def _failed(self, delivery: Delivery, exc: BaseException, now: datetime) -> Outcome:
        if isinstance(exc, DeliveryError):
            error, permanent = exc.message, exc.permanent
        else:  # a bug, not the receiver: keep the batch's other outcomes
            logger.error(
                "delivery %d: unexpected error",
                delivery.id,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
            error, permanent = f"{delivery.channel}: {type(exc).__name__}", False
        retry_at = None if permanent else self.policy.next_attempt(delivery.attempts, now, self.rng)
        logger.warning(
            "delivery %d (%s, attempt %d) failed: %s%s",
            delivery.id,
            delivery.channel,
            delivery.attempts,
            error,
            "" if retry_at else " - giving up",
        )
        if retry_at is None:
            return Outcome(delivery.id, "dead", error=error)
        return Outcome(delivery.id, "pending", next_attempt_at=retry_at, error=error)

    def send(self, deliveries: list[Delivery], now: datetime) -> list[Outcome]:
        """Render each delivery and send it on its channel; every channel sends its share of
        the batch at the same time. One outcome per delivery, in order."""
        batch = self._prepare(deliveries, now)
        self._submit(batch)
        return self._collect(batch)

    def _prepare(self, deliveries: list[Delivery], now: datetime) -> _Batch:
        """Render a claimed batch and sort it by channel (outcomes known already: dead rows,
        template errors)."""
        batch = _Batch(deliveries, now)
        for d in deliveries:
            if d.attempts > self.policy.max_attempts:
                error = f"claimed {d.attempts} times without a recorded result"
                batch.outcomes[d.id] = Outcome(d.id, "dead", error=error)
                continue
            try:
                message = self.renderer.render(d, now=now)
            except Exception as exc:
                batch.outcomes[d.id] = self._failed(d, exc, now)
                continue
            batch.by_channel.setdefault(d.channel, []).append((d, message))
        return batch

    def _submit(self, batch: _Batch) -> None:
        batch.futures = [
            (items, self.channels[name].submit([m for _, m in items]))
            for name, items in batch.by_channel.items()
        ]

    def _collect(self, batch: _Batch) -> list[Outcome]:
        """Wait for the channels; one outcome per claimed delivery, in claim order."""
        for items, future in batch.futures:
            for (d, _), failure in zip(items, future.result(), strict=True):
                batch.outcomes[d.id] = (
                    Outcome(d.id, "sent")
                    if failure is None
                    else self._failed(d, failure, batch.now)
                )
        return [batch.outcomes[d.id] for d in batch.deliveries]

    def record(self, outcomes: list[Outcome], now: datetime) -> int:
        """Write the outcomes of one claimed batch; returns how many rows were still ours."""
        if not outcomes:
            return 0
        rows = fetch_all(
            self.conn,
            _FINISH_DELIVERIES,
            {
                "now": now,
                "worker": self.worker,
                "ids": [o.delivery_id for o in outcomes],
                "statuses": [o.status for o in outcomes],
                "next_attempts": [o.next_attempt_at for o in outcomes],
                "errors": [o.error for o in outcomes],
            },
            row=record,
        )
        return len(rows)

    def deliver_batch(self, guard: Guard = contextlib.nullcontext) -> tuple[list[Outcome], int]:
        """Claim, send and record one batch. Returns the outcomes and how many were recorded.

        The claim runs inside *guard()* (the cron run's fence: no claim once its lock is gone).
        Recording needs no fence: it only changes rows this worker still holds under its lease,
        which nobody else can claim meanwhile, and the messages were sent."""
        now = self.clock()
        with guard():
            deliveries = self.claim(now)
        if not deliveries:
            return [], 0
        outcomes = self.send(deliveries, now)
        recorded = self.record(outcomes, self.clock())
        return outcomes, recorded

    def _claim_batch(self, guard: Guard) -> _Batch | None:
        now = self.clock()
        with guard():
            deliveries = self.claim(now)
        return self._prepare(deliveries, now) if deliveries else None

    def drain(
        self,
        *,
        budget_seconds: float | None = None,
        stop: Callable[[], bool] | None = None,
        guard: Guard = contextlib.nullcontext,
    ) -> DrainResult:
        """Deliver batches until nothing is due, the budget is spent or *stop* says so; each
        claim runs inside *guard()*.

        Pipelined: while the channels send one batch, this thread claims and renders the next,
        and records the previous outcomes while the next batch is sending. *stop*, the budget
        and *guard* are checked before every claim, as before; a batch once claimed is always
        sent and recorded, also when the next claim fails (then the failure is raised after)."""
        result = DrainResult()
        if not self.channels:
            return result
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds

        def next_batch() -> _Batch | None:
            if deadline is not None and time.monotonic() >= deadline:
                logger.info("delivery budget of %.0f s spent; the rest waits", budget_seconds)
                return None
            if stop is not None and stop():
                return None
            return self._claim_batch(guard)

        current = next_batch()
        if current is not None:
            self._submit(current)
        while current is not None:
            try:
                upcoming = next_batch()  # while *current* is sending
            except BaseException:
                outcomes = self._collect(current)  # what was sent is recorded, then the error
                result.add(outcomes, self.record(outcomes, self.clock()))
                raise
            outcomes = self._collect(current)
            if upcoming is not None:
                self._submit(upcoming)
            result.add(outcomes, self.record(outcomes, self.clock()))
            current = upcoming
        if result.claimed:
            logger.info(
                "delivered %d, retrying %d, dead %d, lost to another worker %d",
                result.sent,
                result.retried,
                result.dead,
                result.lost,
            )
        return result
