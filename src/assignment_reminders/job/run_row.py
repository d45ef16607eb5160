"""A row of the run log as the run queries return it: one typed shape for the checks, the
headline, /ops, ``reminders status`` and the demo."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class RunRow:
    """A row of ``reminders.cron_execution_logs`` as the run queries return it (``recent_runs``,
    ``running_runs``, ``run_history``, ``runs_by_invocation``: the same columns). Only ``id``,
    ``status`` and ``started_at`` have no default, so a test can write the columns it means."""

    id: int
    status: str
    started_at: datetime
    invocation_id: UUID | None = None
    note: str | None = None
    trigger_source: str | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    lock_acquire_ms: float | None = None
    lock_backend_pid: int | None = None
    unlock_ok: bool | None = None
    due_rows_read: int = 0
    reminders_created: int = 0
    escalations_created: int = 0
    duplicates_suppressed: int = 0
    error: str | None = None
    host: str | None = None
    pid: int | None = None
    holder_pid: int | None = None
    holder_application_name: str | None = None
    holder_client_addr: str | None = None
    holder_since: datetime | None = None
    overlapped_with: list[int] = field(default_factory=list)
    failure_announced_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The columns by name, in the queries' order (``--json``, the CLI's tables)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
