"""The due index of the assignments a seed writes, computed from what the seed generated.

``reminders.assignment_due_expected`` (migration 20261130002000) defines the index: for each
active assignment whose gap (``coalesce(last_contact_date, starts_on)``) plus a threshold falls on
or before ``ends_on`` (or that has no ``ends_on``), one row per kind with no reminder in the
ledger for that gap. For freshly seeded assignments this is simple: the seed writes ``ends_on``
only for ended ones, their ids are new (the ledger has nothing for them), and their organizations
are new too, with the thresholds the seed gave them. So each active assignment gets two rows,
``(gap, gap + reminder_after_days)`` and ``(gap, gap + escalation_after_days)``.

At ten million assignments, computing this on the server (a join with the view and a sort of 17
million rows, inserted one row at a time) took 79 s of a 196 s seed; written here while the
assignments are generated, and COPYd in the order the pass walks (``due_on, assignment_id``),
it costs a COPY of narrow rows. The tests compare the result with the view.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from datetime import date, timedelta

KINDS = ("reminder", "escalation")
COLUMNS = ("assignment_id", "kind", "gap_started_on", "due_on")


class DueRows:
    """The due rows of assignments numbered ``0 .. count - 1`` (ids ``first_id + i``), whose gaps
    start at most *max_days_ago* days before *today*; added in increasing ``i``."""

    def __init__(
        self,
        *,
        today: date,
        first_id: int,
        count: int,
        thresholds: tuple[int, int],
        max_days_ago: int,
    ) -> None:
        self.today, self.first_id, self.thresholds = today, first_id, thresholds
        self._latest = thresholds[1]  # the latest due date: today + the escalation threshold
        # One bucket per due date, latest first: bucket b holds the rows due on
        # today + latest - b, each as 2 * i + kind, in increasing i (so by assignment id).
        typecode = "I" if 2 * count < 2**32 else "Q"
        self._buckets = [array(typecode) for _ in range(self._latest + max_days_ago + 1)]

    def add(self, i: int, gap_days_ago: int) -> None:
        """Assignment *i* is active and its gap started *gap_days_ago* days before today."""
        reminder, escalation = self.thresholds
        base = self._latest + gap_days_ago
        self._buckets[base - reminder].append(2 * i)
        self._buckets[base - escalation].append(2 * i + 1)

    def __len__(self) -> int:
        return sum(map(len, self._buckets))

    def lines(self) -> Iterator[str]:
        """The rows in COPY's text format, by due date, then assignment id."""
        first_id = self.first_id
        for b in range(len(self._buckets) - 1, -1, -1):
            bucket = self._buckets[b]
            if not bucket:
                continue
            due = self.today + timedelta(days=self._latest - b)
            tails = [
                f"\t{kind}\t{(due - timedelta(days=after)).isoformat()}\t{due.isoformat()}\n"
                for kind, after in zip(KINDS, self.thresholds, strict=True)
            ]
            for v in bucket:
                yield f"{first_id + (v >> 1)}{tails[v & 1]}"
