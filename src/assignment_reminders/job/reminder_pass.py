"""ReminderPass: who is due for a reminder today, written to the dispatch ledger.

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
per transaction of two statements: a crash leaves whole batches behind, never half of one.

* ``schedule_batch`` judges the batch by the snapshot it starts with and writes the reminders;
* ``settle_batch``, with a snapshot of its own, locks the batch's due rows (``FOR UPDATE SKIP
  LOCKED``) and deletes those still exactly as the first statement read them; the reminders of
  the others (a contact closed the gap, a host changed or is changing the assignment) are taken
  back in the same transaction. A contact committed before the batch commits therefore never
  gets a reminder for the gap it closed, and one that comes later waits only for this short
  statement and the commit. Rows left this way are looked at once more at the end of the pass.

The batch sets ``reminders.pass_keeps_due_index`` for its transaction so that the ledger's
triggers, which keep the index right for every other writer, stand aside. A batch that
PostgreSQL aborts for a conflict with a concurrent writer (a deadlock, a serialization failure,
an assignment deleted under it) is retried whole, a few times, from the same place in the walk.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from ..config import Settings
from ..db.database import Connection
from ..db.gateway import execute, fetch_one, fetch_value, named, sqlstate, transaction
from ..exceptions import ConstraintViolationError, DatabaseError, InputError, RunRowDeletedError
from .counts import RunCounts
from .fence import Guard

_DUE_ROWS = named("due_rows")
_SCHEDULE_BATCH = named("schedule_batch")
_STAGE_BATCH = named("pass_batch_stage")
_UNSTAGE_BATCH = named("pass_batch_unstage")
_SETTLE_BATCH = named("settle_batch")
_BATCH_BEGINS = named("pass_batch_begins")
_BATCH_ENDS = named("pass_batch_ends")

logger = logging.getLogger(__name__)

RETRIED_SQLSTATES = frozenset({"40P01", "40001", "23503"})
"""Conflicts with a concurrent writer after which a batch is run again whole: a deadlock, a
serialization failure, and a foreign-key violation (an assignment deleted while the batch wrote
its reminder; run again, the batch no longer sees it). Not the run's own row deleted from the
log (:data:`RUN_ROW_KEY`): no attempt could succeed."""
RUN_ROW_KEY = "reminder_dispatches_run_id_fkey"
"""The constraint name the ledger's run reference refuses with (``reminders.refuse_missing_run``:
a statement-level check, not a foreign key, under a foreign key's name)."""
BATCH_ATTEMPTS = 5

Checkpoint = Callable[[], None]
"""Called before each batch; raises to stop the pass (for example when the lock was lost)."""


def _no_checkpoint() -> None:
    return None


def due_rows(conn: Connection, now: datetime) -> int:
    """How many rows of the due index a pass at *now* reads (an index-only count)."""
    return fetch_value(conn, _DUE_ROWS, {"now": now}, kind=int) or 0


@contextlib.contextmanager
def _keeping_the_due_index(conn: Connection) -> Iterator[None]:
    """A transaction (or savepoint) in which the ledger's due-index trigger stands aside: the
    batch statement deletes the due rows it read itself. Set for the batch only: another ledger
    write later in the caller's transaction keeps the index through the trigger."""
    with transaction(conn, "a batch of the reminder pass"):
        execute(conn, _BATCH_BEGINS)
        yield
        execute(conn, _BATCH_ENDS)


class PassRunner(Protocol):
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


class ReminderPass:
    """The reminder pass over the due index, ``batch_size`` rows of it at a time, in
    (due date, assignment id) order. ``due_rows_read`` counts the index rows it read (the
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
        self.taken_back = 0
        """Reminders written and taken back in the same transaction: a contact closed their gap
        (or was being registered) while their batch ran."""
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
        self.counts = RunCounts()
        # A forward walk of the due index, batch_size rows at a time: each batch starts after the
        # last key the previous one read. Rows that become due during the pass (a new assignment,
        # a moved contact date) may fall behind the walk; the next pass sees them. Rows a batch
        # left because a host was writing their assignment at that moment are looked at once
        # more, in a second walk from the first of them.
        params: dict[str, object] = {
            "batch_size": self.batch_size,
            "now": now,
            "run_id": run_id,
            "channels": self.channels,
        }
        again = self._walk((date.min, 0), params, checkpoint, guard)
        if again is not None:
            self._walk(again, params, checkpoint, guard)
        total = self.counts
        if total.reminders_created + total.escalations_created > 0:
            # mark the deleted rows' index entries dead now (see the query's comment)
            due_rows(self.conn, now)
        logger.info(
            "reminder pass done: %s, %d taken back (their gap closed while the batch ran),"
            " %d deliveries queued",
            total.summary(),
            self.taken_back,
            self.deliveries_created,
        )
        return total

    def _walk(
        self,
        start: tuple[date, int],
        params: dict[str, object],
        checkpoint: Checkpoint,
        guard: Guard,
    ) -> tuple[date, int] | None:
        """Walk the index from just after *start* to the end of what is due; the key just
        before the first row a batch could not settle (changed or held by a host), if any."""
        after, again = start, None
        while True:
            checkpoint()
            batch = self._batch({**params, "after_due": after[0], "after_id": after[1]}, guard)
            self.counts += batch.counts
            self.deliveries_created += batch.deliveries
            self.taken_back += batch.taken_back
            if batch.first_skipped is not None and again is None:
                day, assignment_id = batch.first_skipped
                again = (day, assignment_id - 1)
            if self.on_batch is not None:
                self.on_batch(self.counts)
            if batch.counts.due_rows_read < self.batch_size:
                return again
            assert batch.last is not None
            after = batch.last

    def _batch(self, params: dict[str, object], guard: Guard) -> _Batch:
        """One batch's transaction, run again whole after a conflict with a concurrent writer."""
        attempt = 1
        while True:
            try:
                with guard(), _keeping_the_due_index(self.conn):
                    execute(self.conn, _STAGE_BATCH)
                    row = fetch_one(self.conn, _SCHEDULE_BATCH, params, row=Scheduled)
                    assert row is not None
                    settled = fetch_one(self.conn, _SETTLE_BATCH, row=Settled)
                    assert settled is not None
                    execute(self.conn, _UNSTAGE_BATCH)
            except DatabaseError as exc:
                if isinstance(exc, ConstraintViolationError) and exc.constraint == RUN_ROW_KEY:
                    run_id = params["run_id"]
                    assert isinstance(run_id, int)  # no run, no run reference to refuse
                    raise RunRowDeletedError(run_id) from exc
                state = sqlstate(exc)
                if state not in RETRIED_SQLSTATES or attempt >= BATCH_ATTEMPTS:
                    raise
                logger.warning(
                    "a batch of the reminder pass met a concurrent writer (%s, SQLSTATE %s);"
                    " running it again (attempt %d of %d)",
                    exc.message.split(":", 1)[-1].strip(),
                    state,
                    attempt + 1,
                    BATCH_ATTEMPTS,
                )
                attempt += 1
                continue
            return _Batch.of(row, settled)


@dataclass(frozen=True)
class Scheduled:
    """A batch's first statement (``schedule_batch``): what it read and wrote."""

    due_rows_read: int
    due: int
    reminders: int
    escalations: int
    notifications: int
    deliveries: int
    staged: int
    last_due_on: date | None
    last_assignment_id: int | None


@dataclass(frozen=True)
class Settled:
    """A batch's second statement (``settle_batch``): what it took back, where to look again."""

    reminders_taken_back: int
    escalations_taken_back: int
    deliveries_taken_back: int
    not_held: int
    first_skipped_due: date | None
    first_skipped_id: int | None
    unindexed: int


@dataclass(frozen=True)
class _Batch:
    """What one committed batch did."""

    counts: RunCounts
    deliveries: int
    taken_back: int
    last: tuple[date, int] | None
    first_skipped: tuple[date, int] | None

    @classmethod
    def of(cls, row: Scheduled, settled: Settled) -> _Batch:
        reminders = row.reminders - settled.reminders_taken_back
        escalations = row.escalations - settled.escalations_taken_back
        return cls(
            counts=RunCounts(
                due_rows_read=row.due_rows_read,
                reminders_created=reminders,
                escalations_created=escalations,
                duplicates_suppressed=row.due - row.reminders - row.escalations,
            ),
            deliveries=row.deliveries - settled.deliveries_taken_back,
            taken_back=settled.reminders_taken_back + settled.escalations_taken_back,
            last=(
                None
                if row.last_due_on is None or row.last_assignment_id is None
                else (row.last_due_on, row.last_assignment_id)
            ),
            first_skipped=(
                None
                if settled.first_skipped_due is None or settled.first_skipped_id is None
                else (settled.first_skipped_due, settled.first_skipped_id)
            ),
        )
