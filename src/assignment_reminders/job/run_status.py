"""A run's status, as its row in ``cron_execution_logs`` says it, and how a run finished.

Value types only (no I/O): the trigger, monitoring, the API and the CLI name statuses through
:class:`RunStatus`, never as bare strings. The database holds the same four words (a CHECK on
``cron_execution_logs.status``); a ``StrEnum`` member is the string itself, so rows compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Finish:
    """How a run ends: its status, the note that names the cause, the one error line."""

    status: RunStatus
    note: str | None = None
    error: str | None = None
