"""ReminderSchedulerService: who is due for a reminder today, written to the dispatch ledger.

Rules (per organization; these are the defaults):

* an active assignment whose last contact, or its start date when there has been none, is
  ``reminder_after_days`` (10) or more days ago gets a ``reminder`` to the peer mentor;
* ``escalation_after_days`` (20) or more days: an ``escalation`` to the mentor's coordinator;
* days are counted in the organization's time zone, from the ``now`` passed in.

Each reminder is a row in ``reminder_dispatches`` whose unique key is (assignment, kind, contact
gap), written with ``INSERT ... ON CONFLICT DO NOTHING``, plus an in-app notification and one
``reminder_deliveries`` row per configured external channel (same statement, same transaction).

The pass reads the due index ``reminders.assignment_due`` (one row per reminder still to come,
with the local date it becomes due), which triggers keep true whenever an assignment, an
organization's thresholds or the ledger change: it walks that index up to the latest local
"today" of any organization, so a run costs what is due, and a second pass, which finds the
index empty up to today, reads almost nothing. The work is set-based SQL, one batch of due rows
per statement (and so per transaction): a crash leaves whole batches behind, never half of one.
Each batch deletes the due rows it read from the index itself, in the same statement, and sets
``reminders.pass_keeps_due_index`` for its transaction so that the ledger's trigger, which keeps
the index right for every other writer, does not probe the index a second time.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Protocol

from .config import Settings
from .database import Connection
from .exceptions import InputError
from .fence import Guard
from .gateway import execute, fetch_one, named, record, transaction
from .joblog import RunCounts

_DUE_ROWS = named("due_rows")
_SCHEDULE_BATCH = named("schedule_batch")
_BATCH_BEGINS = named("pass_batch_begins")
_BATCH_ENDS = named("pass_batch_ends")

logger = logging.getLogger(__name__)

Checkpoint = Callable[[], None]
"""Called before each batch; raises to stop the pass (for example when the lock was lost)."""


def _no_checkpoint() -> None:
    return None


@contextlib.contextmanager
def _keeping_the_due_index(conn: Connection) -> Iterator[None]:
    """A transaction (or savepoint) in which the ledger's due-index trigger stands aside: the
    batch statement deletes the due rows it read itself. Set for the batch only: another ledger
    write later in the caller's transaction keeps the index through the trigger."""
    with transaction(conn, "a batch of the reminder pass"):
        execute(conn, _BATCH_BEGINS)
        yield
        execute(conn, _BATCH_ENDS)


class ReminderScheduler(Protocol):
    counts: RunCounts
    """What the current (or last) pass has committed so far: a pass that fails part-way has
    still created the reminders of its committed batches, and the run's row says how many."""

    def run(
        self,
        *,
        now: datetime,
        run_id: int | None = None,
        checkpoint: Checkpoint = _no_checkpoint,
        guard: Guard = contextlib.nullcontext,
    ) -> RunCounts: ...


class ReminderSchedulerService:
    """The reminder pass over the due index, ``batch_size`` rows of it at a time, in
    (due date, assignment id) order. ``assignments_scanned`` counts the index rows it read (the
    reminders to come that were due by the latest local date); ``duplicates_suppressed`` the due
    ones the ledger already had when written (a racing pass wrote them first)."""

    def __init__(
        self,
        conn: Connection,
        *,
        batch_size: int = Settings.batch_size,  # REMINDERS_BATCH_SIZE's default
        on_batch: Callable[[RunCounts], None] | None = None,
        channels: Sequence[str] = (),
    ) -> None:
        if batch_size < 1:
            raise InputError("batch_size must be at least 1", field="batch_size")
        self.conn = conn
        self.batch_size = batch_size
        self.on_batch = on_batch
        self.channels = list(channels)
        self.deliveries_created = 0
        self.counts = RunCounts()

    def run(
        self,
        *,
        now: datetime,
        run_id: int | None = None,
        checkpoint: Checkpoint = _no_checkpoint,
        guard: Guard = contextlib.nullcontext,
    ) -> RunCounts:
        if now.tzinfo is None or now.utcoffset() is None:
            raise InputError("now must be a timezone-aware datetime", field="now")
        self.counts = total = RunCounts()
        # A forward walk of the due index, batch_size rows at a time: each batch starts after the
        # last key the previous one read. Rows that become due during the pass (a new assignment,
        # a moved contact date) may fall behind the walk; the next pass sees them.
        after: tuple[date, int] = (date.min, 0)
        while True:
            checkpoint()
            with guard(), _keeping_the_due_index(self.conn):
                row = fetch_one(
                    self.conn,
                    _SCHEDULE_BATCH,
                    {
                        "after_due": after[0],
                        "after_id": after[1],
                        "batch_size": self.batch_size,
                        "now": now,
                        "run_id": run_id,
                        "channels": self.channels,
                    },
                    row=record,
                )
            assert row is not None
            created = row["reminders"] + row["escalations"]
            total += RunCounts(
                assignments_scanned=row["scanned"],
                reminders_created=row["reminders"],
                escalations_created=row["escalations"],
                duplicates_suppressed=row["due"] - created,
            )
            self.counts = total
            self.deliveries_created += row["deliveries"]
            if self.on_batch is not None:
                self.on_batch(total)
            if row["scanned"] < self.batch_size:
                break
            after = (row["last_due_on"], row["last_assignment_id"])
        if total.reminders_created + total.escalations_created > 0:
            # mark the deleted rows' index entries dead now (see the query's comment)
            execute(self.conn, _DUE_ROWS, {"now": now})
        logger.info(
            "reminder pass done: %d due rows read, %d reminders, %d escalations, %d already sent,"
            " %d deliveries queued",
            total.assignments_scanned,
            total.reminders_created,
            total.escalations_created,
            total.duplicates_suppressed,
            self.deliveries_created,
        )
        return total
