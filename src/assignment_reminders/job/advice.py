"""What to do after a run stopped on a fault: one piece of advice per cause, never a guess.

The cause is what the run knows, not what the driver's message suggests:

=====================  ==================================================================
cause                  advice
=====================  ==================================================================
``lock_lost``          the lock was lost first and a fresh connection recorded the run, so
                       the database was up (a paused or hung process, an idle timeout, a
                       terminated session): nothing to repair
``session_ended``      the run's own session died but a fresh connection recorded the run:
                       the database is up, so run again
``database_down``      no connection could record the run, whatever was lost first (a
                       database shut down ends the lock session too): check PostgreSQL
=====================  ==================================================================
"""

from __future__ import annotations

from typing import Final

LOCK_LOST: Final = "lock_lost"
SESSION_ENDED: Final = "session_ended"
DATABASE_DOWN: Final = "database_down"

ADVICE: Final[dict[str, str]] = {
    LOCK_LOST: (
        "The job's lock was lost first while the database stayed up: this process was paused"
        " or hung longer than REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS, or its lock session was"
        " terminated, and another run may have taken over. Nothing needs repair: the next"
        " run does the rest (`reminders status` shows who ran)"
    ),
    SESSION_ENDED: (
        "The database is up (a fresh connection recorded the run); only this run's session"
        " ended (terminated, a pooler or a timeout). Run again"
    ),
    DATABASE_DOWN: (
        "Check that PostgreSQL is running and reachable (DATABASE_URL), then run again"
    ),
}
"""Cause -> what the operator should do (the last sentence of the run's error line)."""


def lost_lock(note: str | None) -> bool:
    """Whether the run's *note* says its lock was lost (``lock_lost``, perhaps with more)."""
    return note is not None and note.split(";")[0].strip() == LOCK_LOST


def cause_of(note: str | None, *, recorded: bool) -> str:
    """The cause of a run that stopped on a fault: whether a fresh connection could *record*
    the run (if not, the database is not known to be up), then its *note*."""
    if not recorded:
        return DATABASE_DOWN
    return LOCK_LOST if lost_lock(note) else SESSION_ENDED


def advice(note: str | None, *, recorded: bool) -> str:
    return ADVICE[cause_of(note, recorded=recorded)]
