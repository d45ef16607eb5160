"""The due index of the assignments a seed writes, computed from what the seed generated.

``reminders.assignment_due_expected`` (supabase/schema.sql, "The due index") defines the index:
for each active assignment whose gap (``coalesce(last_contact_date, starts_on)``) plus a threshold
falls on or before ``ends_on`` (or that has no ``ends_on``), one row per kind with no reminder in
the ledger for that gap. For freshly seeded assignments this is simple: the seed writes ``ends_on``
only for ended ones, their ids are new (the ledger has nothing for them), and their organizations
are new too, with the thresholds the seed gave them. So each active assignment gets two rows,
``(gap, gap + reminder_after_days)`` and ``(gap, gap + escalation_after_days)``, each with the
names of the assignment's contact (the seed gives assignment ``i``
contact ``i``).

Computed on the server (a join with the view and a sort of all the rows, inserted one row at a
time) it was the largest part of the seed (docs/benchmarks.md#figures-behind-design-choices);
written here while the assignments are generated, and COPYd in the order the pass walks
(``due_on, assignment_id``), it costs a COPY of narrow rows. The tests compare the result with
the view.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator, Sequence
from datetime import date, timedelta

KINDS = ("reminder", "escalation")
COLUMNS = (
    "assignment_id",
    "kind",
    "gap_started_on",
    "due_on",
    "contact_first_name",
    "contact_last_name",
)


class ContactNames:
    """The names drawn for contacts ``0, 1, ...``, as indexes into *first_names* and
    *last_names*: two bytes per contact, and each pair of names encoded once."""

    def __init__(self, first_names: Sequence[str], last_names: Sequence[str]) -> None:
        self._last_names = len(last_names)
        # a pair's two fields in COPY's binary format, by pair number
        self.fields = [_text(f) + _text(last) for f in first_names for last in last_names]
        self.pairs = array("H" if len(self.fields) <= 2**16 else "I")

    def add(self, first: int, last: int) -> None:
        """The next contact's names: ``first_names[first]``, ``last_names[last]``."""
        self.pairs.append(first * self._last_names + last)


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
        first_names: Sequence[str],
        last_names: Sequence[str],
    ) -> None:
        self.today, self.first_id, self.thresholds = today, first_id, thresholds
        # the names drawn for the seed's contacts; assignment i's contact is contact i
        self.contacts = ContactNames(first_names, last_names)
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

    def rows(self) -> Iterator[bytes]:
        """The rows in COPY's binary format (without its header and trailer), by due date, then
        assignment id. Binary: parsing two dates per row as text was most of the server's COPY
        time (docs/benchmarks.md#figures-behind-design-choices)."""
        first_id, head = self.first_id, _ROW_HEAD
        names, pairs = self.contacts.fields, self.contacts.pairs
        for b in range(len(self._buckets) - 1, -1, -1):
            bucket = self._buckets[b]
            if not bucket:
                continue
            due = self.today + timedelta(days=self._latest - b)
            tails = [
                _text(kind) + _date(due - timedelta(days=after)) + _date(due)
                for kind, after in zip(KINDS, self.thresholds, strict=True)
            ]
            for v in bucket:
                i = v >> 1
                yield head + (first_id + i).to_bytes(8, "big") + tails[v & 1] + names[pairs[i]]


# COPY's binary format: a row is its number of fields, then each field's length and value
# (big-endian); a date is its number of days since 2000-01-01.
_ROW_HEAD = struct.pack(">hi", len(COLUMNS), 8)  # its fields; the first, the id, is 8 bytes
_EPOCH = date(2000, 1, 1)


def _date(day: date) -> bytes:
    return struct.pack(">ii", 4, (day - _EPOCH).days)


def _text(value: str) -> bytes:
    encoded = value.encode()
    return struct.pack(">i", len(encoded)) + encoded
