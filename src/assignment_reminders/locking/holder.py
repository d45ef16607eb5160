"""Who holds the job's lock (a value type, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LockHolder:
    """Who holds the lock, from ``pg_locks`` joined to ``pg_stat_activity``."""

    pid: int
    application_name: str | None
    client_addr: str | None
    backend_start: datetime | None
