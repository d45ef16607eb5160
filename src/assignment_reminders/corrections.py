"""Admin corrections of ``assignments.last_contact_date``, each kept in an audit table.

A correction becomes the assignment's baseline: it replaces every activity registered before it,
and activities registered after it move the date forward from it (see docs/activities.md).
Used by ``PUT /admin/assignments/{id}/last-contact-date`` and ``reminders admin set-last-contact``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from .activities import contact_date_problem, database_date_rule
from .db.database import Connection
from .db.gateway import fetch_all, fetch_one, fetch_value, named
from .exceptions import InputError, NotFoundError
from .limits import REASON_MAX_LENGTH

_ASSIGNMENT_EXISTS = named("assignment_exists")
_CORRECTION_HISTORY = named("correction_history")
_CORRECTION_TARGET = named("correction_target")
_SET_LAST_CONTACT = named("set_last_contact")


@dataclass(frozen=True)
class Actor:
    """Who makes a correction, as the audit table records it."""

    user_id: UUID | None
    role: str  # 'admin', 'service_role' or 'operator' (the CLI)
    name: str | None = None


@dataclass(frozen=True)
class Correction:
    id: int
    assignment_id: int
    old_date: date | None
    new_date: date
    reason: str
    changed_by: UUID | None
    changed_by_role: str
    changed_by_name: str | None
    changed_at: datetime


def check(new_date: date, reason: str, *, today: date, starts_on: date, time_zone: str) -> None:
    """Refuse an empty or over-long reason, and a date in the organization's future or before
    the assignment started."""
    if not reason.strip():
        raise InputError("a reason is required", field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise InputError(
            f"the reason must be at most {REASON_MAX_LENGTH:,} characters", field="reason"
        )
    problem = contact_date_problem(new_date, today=today, starts_on=starts_on, time_zone=time_zone)
    if problem is not None:
        raise InputError(problem, field="date")


@dataclass(frozen=True)
class _Target:
    """``correction_target``: the assignment to correct, its start and its organization's today."""

    id: int
    starts_on: date
    time_zone: str
    today: date


def set_last_contact(
    conn: Connection,
    assignment_id: int,
    new_date: date,
    reason: str,
    *,
    actor: Actor,
    now: datetime,
) -> Correction:
    """Correct the date inside the caller's transaction (the assignment row stays locked)."""
    params = {"id": assignment_id, "now": now}
    target = fetch_one(conn, _CORRECTION_TARGET, params, row=_Target)
    if target is None:
        raise NotFoundError(f"assignment {assignment_id} does not exist", field="assignment_id")
    check(
        new_date,
        reason,
        today=target.today,
        starts_on=target.starts_on,
        time_zone=target.time_zone,
    )
    with database_date_rule("date"):
        row = fetch_one(
            conn,
            _SET_LAST_CONTACT,
            {
                "id": assignment_id,
                "date": new_date,
                "reason": reason,
                "changed_by": actor.user_id,
                "changed_by_role": actor.role,
                "changed_by_name": actor.name,
                "now": now,
            },
            row=Correction,
        )
    assert row is not None
    return row


def history(conn: Connection, assignment_id: int) -> list[Correction]:
    """Every correction of the assignment, newest first."""
    found = fetch_value(conn, _ASSIGNMENT_EXISTS, {"id": assignment_id}, kind=bool)
    if not found:
        raise NotFoundError(f"assignment {assignment_id} does not exist", field="assignment_id")
    return fetch_all(conn, _CORRECTION_HISTORY, {"id": assignment_id}, row=Correction)
