"""Who holds the job's lock (a value type, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..figures import moment


@dataclass(frozen=True)
class LockHolder:
    """Who holds the lock, from ``pg_locks`` joined to ``pg_stat_activity``."""

    pid: int
    application_name: str | None
    client_addr: str | None
    backend_start: datetime | None


def held_by(
    pid: int | None, application_name: str | None, client_addr: str | None, since: datetime | None
) -> str:
    """Who holds the lock, as ``status`` and the stuck-lock alert say it: ``pid 4242
    (assignment-reminders/lock vm:4240, local socket) since 2026-12-07T04:06:19+00:00``, the
    ``since`` only when known."""
    said = f"pid {pid} ({application_name or '?'}, {client_addr or 'local socket'})"
    return said if since is None else f"{said} since {moment(since)}"
