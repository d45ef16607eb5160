"""The seed's own due rows: two per active assignment, in the order the pass walks."""

from __future__ import annotations

import struct
from datetime import date, timedelta

from assignment_reminders.dev.seed_due import DueRows

TODAY = date(2026, 11, 28)
EPOCH = date(2000, 1, 1)


def decode(row: bytes) -> list[str]:
    """One row of COPY's binary format (id, kind, gap, due, first and last name) as text,
    checking its framing."""
    fields, id_length, assignment_id, kind_length = struct.unpack_from(">hiqi", row)
    assert (fields, id_length) == (6, 8)
    kind = row[18 : 18 + kind_length].decode()
    at = 18 + kind_length
    gap_length, gap, due_length, due_on = struct.unpack_from(">iiii", row, at)
    assert (gap_length, due_length) == (4, 4)
    at += 16
    names = []
    for _ in range(2):
        (length,) = struct.unpack_from(">i", row, at)
        names.append(row[at + 4 : at + 4 + length].decode())
        at += 4 + length
    assert at == len(row)
    days = [(EPOCH + timedelta(days=d)).isoformat() for d in (gap, due_on)]
    return [str(assignment_id), kind, *days, *names]


FIRST, LAST = ("Åse", "Bo"), ("Berg", "Øvrebø-Lie", "Ng")


def test_rows_come_by_due_date_then_assignment_id_with_both_thresholds() -> None:
    # assignment i's contact is contact i: its names are the i-th pair added
    pairs = ((0, 0), (1, 1), (0, 2), (1, 2))
    due = DueRows(
        today=TODAY,
        first_id=100,
        count=4,
        thresholds=(10, 20),
        max_days_ago=719,
        first_names=FIRST,
        last_names=LAST,
    )
    for first, last in pairs:
        due.contacts.add(first, last)
    for i, gap_days_ago in enumerate((0, 5, 719, 10)):
        due.add(i, gap_days_ago)
    rows = [decode(row) for row in due.rows()]
    for r in rows:
        first, last = pairs[int(r[0]) - 100]
        assert r[4:] == [FIRST[first], LAST[last]]
    rows = [r[:4] for r in rows]
    assert len(due) == len(rows) == 8
    keys = [(date.fromisoformat(r[3]), int(r[0])) for r in rows]
    assert keys == sorted(keys)
    assert [r[:2] for r in rows[:2]] == [["102", "reminder"], ["102", "escalation"]]
    for assignment_id, kind, gap, due_on in rows:
        gap_days_ago = (0, 5, 719, 10)[int(assignment_id) - 100]
        assert date.fromisoformat(gap) == TODAY - timedelta(days=gap_days_ago)
        after = 10 if kind == "reminder" else 20
        assert date.fromisoformat(due_on) == date.fromisoformat(gap) + timedelta(days=after)
    # due the same day: the escalation of the assignment whose gap began 10 days earlier and the
    # reminder of the one with today's gap, by id
    same_day = [r[:2] for r in rows if r[3] == (TODAY + timedelta(days=10)).isoformat()]
    assert same_day == [["100", "reminder"], ["103", "escalation"]]
