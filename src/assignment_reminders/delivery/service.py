"""DeliveryDrain: drains the delivery queue, at least once towards each provider.

One round = claim a batch (``FOR UPDATE SKIP LOCKED``, with a lease; rows whose reminder no
longer applies are cancelled instead), render each message, send them on their channels (each
channel an event loop with a bounded, adaptive number of messages in flight over kept
connections: :mod:`.sending`), then record every outcome in one statement.

The lease is kept, not hoped for: while it waits for the channels, the service's thread extends
the lease of every row it still holds (a heartbeat every third of the lease), and a message
starts sending only if its send (at most the channel's ``send_timeout``) ends inside the lease
the database confirmed (:mod:`.lease`). A row whose lease was lost is not sent by this worker.
So two live workers never send the same message; only a worker that dies (or loses its
database) between sending and recording leaves a row that is sent again after its lease, under
the same idempotency key (email ``Message-ID``, webhook ``webhook-id``).

A failed attempt's next one is counted from when that attempt ended (its :class:`Attempt`'s
time), not from when its batch was claimed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..db.database import Connection
from ..db.gateway import IdRow, fetch_all, named
from ..exceptions import DeliveryError, InputError
from ..logs import FIELDS
from .lease import Leases
from .messages import Delivery, Message, Renderer
from .retry import RetryPolicy
from .states import Attempt, CancelReason, DeliveryStatus, DrainResult, Outcome

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ..job.fence import Guard
    from .channels import Channel
    from .sending import Outcomes  # asyncio: not imported by `reminders run` without channels

_CLAIM_DELIVERIES = named("claim_deliveries")
_EXTEND_DELIVERIES = named("extend_deliveries")
_FINISH_DELIVERIES = named("finish_deliveries")

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

LEASE_MARGIN = timedelta(seconds=1)
"""Kept free at the end of a lease: a message starts sending only if its send would end this much
before the lease does (heartbeat latency, clocks of workers that differ a little)."""


def worker_name() -> str:
    """``host:pid:random``: unique per service instance, readable in ``claimed_by``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:100]


@dataclass(frozen=True)
class Cancelled:
    """A due delivery the claim cancelled instead of claiming: its reminder no longer applied."""

    delivery_id: int
    channel: str
    reason: CancelReason


@dataclass(frozen=True)
class Claim:
    """What one claim got: deliveries to send (ours under the lease) and what it cancelled."""

    deliveries: list[Delivery]
    cancelled: list[Cancelled]

    @classmethod
    def from_rows(cls, rows: list[ClaimedRow]) -> Claim:
        deliveries: list[Delivery] = []
        cancelled: list[Cancelled] = []
        for r in rows:
            if r.status == DeliveryStatus.CANCELLED:
                assert r.cancel_reason is not None  # the table's CHECK: cancelled has a reason
                cancelled.append(Cancelled(r.id, r.channel, CancelReason(r.cancel_reason)))
            else:
                deliveries.append(r)  # a claimed row is the delivery, with its claim's status
        return cls(deliveries, cancelled)


@dataclass(frozen=True)
class ClaimedRow(Delivery):
    """``claim_deliveries``: a row claimed to send (``status`` sending), or cancelled by the
    claim (``cancel_reason``; of such a row only ``id`` and ``channel`` are read)."""

    status: str
    cancel_reason: str | None


@dataclass(frozen=True)
class _Lease:
    """``extend_deliveries``: a row whose lease this worker extended, until when."""

    id: int
    claimed_until: datetime


@dataclass
class _Batch:
    """A claimed batch on its way: rendered by channel, then sent (futures), then outcomes."""

    deliveries: list[Delivery]
    now: datetime
    cancelled: list[Cancelled] = field(default_factory=list)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    by_channel: dict[str, list[tuple[Delivery, Message]]] = field(default_factory=dict)
    futures: list[tuple[list[tuple[Delivery, Message]], Future[Outcomes]]] = field(
        default_factory=list
    )


class DeliveryDrain:
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
        lease_margin: timedelta = LEASE_MARGIN,
        batch_size: int = 200,
        worker: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise InputError("batch_size must be at least 1", field="batch_size")
        if lease <= timedelta(0):
            raise InputError("lease must be positive", field="lease")
        longest = max((c.send_timeout for c in channels.values()), default=0.0)
        if lease < 2 * (timedelta(seconds=longest) + lease_margin):
            raise InputError(
                f"lease must be at least {2 * (longest + lease_margin.total_seconds()):g} s:"
                f" twice the longest send ({longest:g} s) plus the margin",
                field="lease",
            )
        self.conn = conn
        self.channels = dict(channels)
        self.renderer = renderer
        self.clock = clock
        self.rng = rng
        self.policy = policy or RetryPolicy()
        self.lease = lease
        self.batch_size = batch_size
        self.worker = worker or worker_name()
        self.leases = Leases(lease_margin)
        self.heartbeat_seconds = lease.total_seconds() / 3
        self._next_heartbeat = 0.0  # time.monotonic() of the next one while rows are held

    def close(self) -> None:
        """Nothing of its own to close: the channels' connections are closed by their owner."""

    def __enter__(self) -> DeliveryDrain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def claim(self, now: datetime, limit: int | None = None) -> Claim:
        """Claim due deliveries under a lease from *now*; cancel those whose reminder no longer
        applies (they are in the claim's ``cancelled``, already settled)."""
        lease_until = now + self.lease
        rows = fetch_all(
            self.conn,
            _CLAIM_DELIVERIES,
            {
                "now": now,
                "lease_until": lease_until,
                "worker": self.worker,
                "channels": list(self.channels),
                "limit": limit or self.batch_size,
            },
            row=ClaimedRow,
        )
        claim = Claim.from_rows(rows)
        if claim.deliveries:
            if not self.leases.held():
                self._next_heartbeat = time.monotonic() + self.heartbeat_seconds
            self.leases.hold((d.id for d in claim.deliveries), lease_until)
        for c in claim.cancelled:
            logger.info("delivery %d (%s) cancelled: %s", c.delivery_id, c.channel, c.reason)
        return claim

    def heartbeat(self, now: datetime) -> list[int]:
        """Extend the lease of every row this worker still holds to *now* + lease; returns the
        rows it no longer holds (they will not be sent by this worker)."""
        held = self.leases.held()
        if not held:
            return []
        rows = fetch_all(
            self.conn,
            _EXTEND_DELIVERIES,
            {"now": now, "lease_until": now + self.lease, "worker": self.worker, "ids": held},
            row=_Lease,
        )
        lost = self.leases.confirm(held, {r.id: r.claimed_until for r in rows})
        if lost:
            logger.warning("lease lost on %d deliveries: not sending them", len(lost))
        return lost

    def _may_start(self, message: Message, now: datetime, send_seconds: float) -> bool:
        return self.leases.may_start(message.delivery.id, now, send_seconds)

    def _failed(self, delivery: Delivery, exc: BaseException, at: datetime) -> Outcome:
        """The outcome of a failed attempt that ended *at*: its retry is counted from then."""
        if isinstance(exc, DeliveryError):
            error, permanent = exc.message, exc.permanent
        else:  # a bug, not the receiver: keep the batch's other outcomes
            logger.error(
                "delivery %d: unexpected error",
                delivery.id,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
            error, permanent = f"{delivery.channel}: {type(exc).__name__}", False
        retry_at = None if permanent else self.policy.next_attempt(delivery.attempts, at, self.rng)
        logger.debug(  # the batch's failures are summarised in one WARNING (_summarise)
            "delivery %d (%s, attempt %d) failed: %s%s",
            delivery.id,
            delivery.channel,
            delivery.attempts,
            error,
            "" if retry_at else " - giving up",
        )
        if retry_at is None:
            return Outcome(delivery.id, DeliveryStatus.DEAD, at, error=error)
        return Outcome(
            delivery.id, DeliveryStatus.PENDING, at, next_attempt_at=retry_at, error=error
        )

    def _outcome(self, delivery: Delivery, attempt: Attempt) -> Outcome:
        if not attempt.attempted:  # back to the queue, due now; the claim was no attempt
            return Outcome(
                delivery.id,
                DeliveryStatus.PENDING,
                attempt.at,
                next_attempt_at=attempt.at,
                attempted=False,
            )
        if attempt.failure is None:
            return Outcome(delivery.id, DeliveryStatus.SENT, attempt.at)
        return self._failed(delivery, attempt.failure, attempt.at)

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
                batch.outcomes[d.id] = Outcome(d.id, DeliveryStatus.DEAD, now, error=error)
                continue
            try:
                message = self.renderer.render(d, now=now)
            except Exception as exc:
                batch.outcomes[d.id] = self._failed(d, exc, self.clock())
                continue
            batch.by_channel.setdefault(d.channel, []).append((d, message))
        return batch

    def _submit(self, batch: _Batch) -> None:
        batch.futures = [
            (
                items,
                self.channels[name].submit(
                    [m for _, m in items], clock=self.clock, may_start=self._may_start
                ),
            )
            for name, items in batch.by_channel.items()
        ]

    def _wait(self, future: Future[Outcomes]) -> Outcomes:
        """The channel's result; meanwhile, a heartbeat whenever one is due."""
        while True:
            try:
                return future.result(timeout=max(0.0, self._next_heartbeat - time.monotonic()))
            except TimeoutError:
                self._next_heartbeat = time.monotonic() + self.heartbeat_seconds
                self.heartbeat(self.clock())

    def _collect(self, batch: _Batch) -> list[Outcome]:
        """Wait for the channels; one outcome per claimed delivery, in claim order."""
        for items, future in batch.futures:
            for (d, _), attempt in zip(items, self._wait(future), strict=True):
                batch.outcomes[d.id] = self._outcome(d, attempt)
        outcomes = [batch.outcomes[d.id] for d in batch.deliveries]
        _summarise_failures(batch.deliveries, outcomes)
        return outcomes

    def record(self, outcomes: list[Outcome]) -> int:
        """Write the outcomes of one claimed batch, each at its own time; returns how many rows
        were still ours."""
        if not outcomes:
            return 0
        rows = fetch_all(
            self.conn,
            _FINISH_DELIVERIES,
            {
                "worker": self.worker,
                "ids": [o.delivery_id for o in outcomes],
                "statuses": [o.status.value for o in outcomes],
                "ats": [o.at for o in outcomes],
                "next_attempts": [o.next_attempt_at for o in outcomes],
                "errors": [o.error for o in outcomes],
                "attempted": [o.attempted for o in outcomes],
            },
            row=IdRow,
        )
        self.leases.drop(o.delivery_id for o in outcomes)
        return len(rows)

    def deliver_batch(self, guard: Guard = contextlib.nullcontext) -> tuple[list[Outcome], int]:
        """Claim, send and record one batch. Returns the outcomes and how many were recorded.

        The claim runs inside *guard()* (the cron run's fence: no claim once its lock is gone).
        Recording needs no fence: it only changes rows this worker still holds under its lease,
        which nobody else can claim meanwhile, and the messages were sent."""
        batch = self._claim_batch(guard)
        if batch is None:
            return [], 0
        self._submit(batch)
        outcomes = self._collect(batch)
        return outcomes, self.record(outcomes)

    def _claim_batch(self, guard: Guard) -> _Batch | None:
        """The next batch, rendered; None when nothing was due (neither claimed nor
        cancelled)."""
        now = self.clock()
        with guard():
            claim = self.claim(now)
        if not claim.deliveries and not claim.cancelled:
            return None
        batch = self._prepare(claim.deliveries, now)
        batch.cancelled = claim.cancelled
        return batch

    def _finish(self, batch: _Batch, result: DrainResult) -> None:
        outcomes = self._collect(batch)
        result.add(outcomes, self.record(outcomes))
        result.cancelled += len(batch.cancelled)

    def drain(
        self,
        *,
        budget_seconds: float | None = None,
        stop: Callable[[], bool] | None = None,
        guard: Guard = contextlib.nullcontext,
        into: DrainResult | None = None,
    ) -> DrainResult:
        """Deliver batches until nothing is due, the budget is spent or *stop* says so; each
        claim runs inside *guard()*.

        Pipelined: while the channels send one batch, this thread claims and renders the next,
        and records the previous outcomes while the next batch is sending; while it waits for
        the channels it extends the leases it holds. *stop*, the budget and *guard* are checked
        before every claim, as before; a batch once claimed is always sent (what its lease
        allows) and recorded, also when the next claim fails (then the failure is raised
        after). Counted as it goes into *into*, a fresh :class:`DrainResult` (one of its own by
        default): a caller holding it knows what was done also when the drain raises."""
        result = DrainResult() if into is None else into
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
                self._finish(current, result)  # what was sent is recorded, then the error
                raise
            if upcoming is None:
                self._finish(current, result)
            else:
                outcomes = self._collect(current)
                self._submit(upcoming)
                result.add(outcomes, self.record(outcomes))
                result.cancelled += len(current.cancelled)
            current = upcoming
        if result.claimed or result.cancelled:
            logger.info(
                "delivered %d, retrying %d, dead %d, cancelled %d, released %d,"
                " lost to another worker %d",
                result.sent,
                result.retried,
                result.dead,
                result.cancelled,
                result.released,
                result.lost,
            )
        return result


def failure_counts(
    deliveries: Sequence[Delivery], outcomes: Sequence[Outcome]
) -> dict[str, dict[str, int]]:
    """The failed attempts of one batch: channel -> reason (the error, ``giving up`` marked)
    -> how many. The errors name no recipient (``webhook: HTTP 500``, ``email: SMTP 451``)."""
    counts: dict[str, Counter[str]] = {}
    for d, o in zip(deliveries, outcomes, strict=True):
        if o.error is None or not o.attempted:
            continue
        reason = o.error.removeprefix(f"{d.channel}: ")
        if o.status == DeliveryStatus.DEAD:
            reason += " (giving up)"
        counts.setdefault(d.channel, Counter())[reason] += 1
    return {c: dict(sorted(n.items())) for c, n in sorted(counts.items())}


def _summarise_failures(deliveries: Sequence[Delivery], outcomes: Sequence[Outcome]) -> None:
    """One WARNING per batch for its failed deliveries, counted by channel and reason (the
    JSON line carries them as ``failed_deliveries``), instead of one line each."""
    counts = failure_counts(deliveries, outcomes)
    if not counts:
        return
    total = sum(sum(n.values()) for n in counts.values())
    said = "; ".join(
        f"{channel}: " + ", ".join(f"{n} {reason}" for reason, n in reasons.items())
        for channel, reasons in counts.items()
    )
    logger.warning(
        "%d of %d deliveries in the batch failed: %s",
        total,
        len(outcomes),
        said,
        extra={FIELDS: {"failed_deliveries": counts}},
    )
