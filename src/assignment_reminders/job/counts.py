"""What a run did: the counts a pass adds up and the run log records (a value type, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from ..figures import counted


@dataclass(frozen=True)
class RunCounts:
    """What a run did. In its row, ``reminders_created`` and ``escalations_created`` are kept by
    the database (the ledger rows that committed with the run's id); the other two are the
    pass's own account."""

    due_rows_read: int = 0
    reminders_created: int = 0
    escalations_created: int = 0
    duplicates_suppressed: int = 0

    def summary(self) -> str:
        """``1,373 due rows read, 945 reminders, 428 escalations, 0 already sent``: the run's
        line (``reminders run``, the heartbeat ping, the pass's log)."""
        return (
            f"{counted(self.due_rows_read, 'due row')} read,"
            f" {counted(self.reminders_created, 'reminder')},"
            f" {counted(self.escalations_created, 'escalation')},"
            f" {self.duplicates_suppressed:,} already sent"
        )

    def __add__(self, other: RunCounts) -> RunCounts:
        return RunCounts(
            self.due_rows_read + other.due_rows_read,
            self.reminders_created + other.reminders_created,
            self.escalations_created + other.escalations_created,
            self.duplicates_suppressed + other.duplicates_suppressed,
        )
