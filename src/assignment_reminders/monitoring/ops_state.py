"""What ``/ops`` shows: the facts read for it, and the headline's states.

The headline answers "is the job all right?" the way Healthchecks.io or Cronitor would. It and
the incident list come from one evaluation (:func:`.truth.judge`), the one ``reminders status``
and ``reminders check`` make too: see :mod:`.truth` for the states and their order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..locking.holder import LockHolder

if TYPE_CHECKING:
    from ..job.run_row import RunRow
    from .truth import Truth

UP, RUNNING, LATE, DOWN, FAILING = "up", "running", "late", "down", "failing"


@dataclass(frozen=True)
class Headline:
    state: str
    why: str

    def to_dict(self) -> dict[str, str]:
        """``{"state": ..., "why": ...}``: the ``state`` of every ``--json`` that shows it."""
        return {"state": self.state, "why": self.why}


@dataclass(frozen=True)
class OpsFacts:
    """Everything the page shows, read in one go (api/ops.py)."""

    job_name: str
    now: datetime
    zone: ZoneInfo
    schedule: str
    builtin_cron: bool
    previous_fire: datetime | None  # the last expected start at or before now
    next_fire: datetime | None
    runs: Sequence[RunRow]  # the last DAYS days, oldest first
    last_success_at: datetime | None
    first_started_at: datetime | None
    holder: LockHolder | None
    holder_since: datetime | None
    truth: Truth  # the headline and the incidents: open, new, clearing, resolved in DAYS days
    deliveries: Mapping[tuple[str, str], int]  # (channel, status) -> rows: open and dead ones
    overrun_after: timedelta
