"""The values a delivery row, an attempt and a drain can take: light types, no I/O.

The database keeps ``reminder_deliveries.status`` and ``cancel_reason`` as text under CHECK
constraints (supabase/schema.sql, "Delivery over external channels"); these enums are the same sets.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a worker until claimed_until
    SENT = "sent"  # accepted by the provider (sent_at)
    DEAD = "dead"  # refused for good, or the last allowed attempt failed (last_error)
    CANCELLED = "cancelled"  # not sent: its reminder no longer applied (cancel_reason)


SETTLED = frozenset({DeliveryStatus.SENT, DeliveryStatus.DEAD, DeliveryStatus.CANCELLED})


class CancelReason(StrEnum):
    """Why a delivery was cancelled when claimed, in the order the claim judges them."""

    ASSIGNMENT_ENDED = "assignment_ended"  # status 'ended', or ends_on before today
    ASSIGNMENT_PAUSED = "assignment_paused"  # status not 'active'
    GAP_CLOSED = "gap_closed"  # a contact was registered (the gap the reminder was about ended)


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed delivery, as of *at* (the end of its attempt).

    ``attempted`` is False for a message this worker did not start sending because its lease
    was lost or about to run out: the row goes back to ``pending`` (when still ours) and the
    claim does not count as an attempt."""

    delivery_id: int
    status: DeliveryStatus  # SENT | PENDING (retry at next_attempt_at) | DEAD
    at: datetime
    next_attempt_at: datetime | None = None
    error: str | None = None
    attempted: bool = True


@dataclass(frozen=True)
class Attempt:
    """What a channel did with one message: *failure* None means accepted; *at* is when the
    attempt ended (or was refused, ``attempted=False``: its lease was too short to start)."""

    failure: BaseException | None
    at: datetime
    attempted: bool = True


@dataclass(frozen=True)
class DeliveryCount:
    """``delivery_counts``: the deliveries of one channel and status (and cancel reason); of
    open ones, how many are due now and when the next of the others is."""

    channel: str
    status: str
    reason: str | None
    n: int
    due_now: int | None  # None: a settled status (sent, dead, cancelled)
    next_due_at: datetime | None  # None: settled, or nothing open comes due later


@dataclass(frozen=True)
class ChannelCount:
    """``delivery_backlog``, ``dead_letters``: the deliveries of one channel."""

    channel: str
    n: int


@dataclass
class DrainResult:
    """What a drain did (a worker's drains, merged: its total)."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0  # not claimed: the reminder no longer applied (by reason in the table)
    released: int = 0  # claimed but not sent: the lease was lost or too short to start
    lost: int = 0  # outcomes not recorded: our lease ran out and another worker had the row

    def add(self, outcomes: list[Outcome], recorded: int) -> None:
        self.claimed += len(outcomes)
        self.sent += sum(o.status == DeliveryStatus.SENT for o in outcomes)
        self.retried += sum(o.status == DeliveryStatus.PENDING and o.attempted for o in outcomes)
        self.dead += sum(o.status == DeliveryStatus.DEAD for o in outcomes)
        self.released += sum(not o.attempted for o in outcomes)
        self.lost += len(outcomes) - recorded

    def merge(self, other: DrainResult) -> None:
        """Count *other*'s drain in too (a worker's total over its drains)."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_dict(self) -> dict[str, int]:
        """The counts ``worker --json`` and a run's outcome report (the log has the rest)."""
        return {
            "delivered": self.sent,
            "retried": self.retried,
            "dead": self.dead,
            "cancelled": self.cancelled,
        }

    def summary(self) -> str:
        """``120 delivered, 3 failed (to be retried), 0 dead, 2 cancelled``: the worker's last
        line and the delivery part of ``reminders run``'s."""
        return (
            f"{self.sent:,} delivered, {self.retried:,} failed (to be retried),"
            f" {self.dead:,} dead, {self.cancelled:,} cancelled"
        )
