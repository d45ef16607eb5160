"""Registering activities (contacts) on assignments, by each registration path.

The database decides who may register what and writes all of a request's activities in one
statement (``reminders.register_activities``, supabase/schema.sql), and moves
``assignments.last_contact_date`` (the triggers on ``activities``); this module checks the
caller's app role and words each refusal the database reports (:func:`refusal`, pure).
:func:`register` and :func:`delete` do the I/O, on the caller's connection.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from uuid import UUID

import psycopg

from .auth.principal import Principal
from .db.database import Connection
from .db.gateway import execute, fetch_all, fetch_one, named
from .exceptions import (
    ConstraintViolationError,
    FieldRejection,
    InputError,
    ItemsRejectedError,
    NotFoundError,
    PermissionDeniedError,
    ReminderError,
)

_ACTIVITY_OWNER = named("activity_owner")
_DELETE_ACTIVITY = named("delete_activity")
_LAST_CONTACT_DATES = named("last_contact_dates")
_REGISTER_ACTIVITIES = named("register_activities")

Path = Literal["direct", "proxy", "bulk", "coordinator_proxy"]

#: The app role each registration path needs.
PATH_ROLES: dict[str, str] = {
    "direct": "peer_mentor",
    "proxy": "peer_mentor",
    "bulk": "peer_mentor",
    "coordinator_proxy": "coordinator",
}


@dataclass(frozen=True)
class NewActivity:
    assignment_id: int
    occurred_on: date
    note: str | None = None


@dataclass(frozen=True)
class Refusal:
    status: int  # 403, 404 or 422
    field: str
    message: str

    def error(self) -> ReminderError:
        if self.status == 404:
            return NotFoundError(self.message, field=self.field)
        if self.status == 403:
            return PermissionDeniedError(self.message)
        return InputError(self.message, field=self.field)


@dataclass(frozen=True)
class Registered:
    id: int
    assignment_id: int
    occurred_on: date
    registration_path: str
    registered_by: UUID | None
    note: str | None


#: What ``reminders.register_activities`` reports for a refused item.
RefusalCode = Literal["missing", "forbidden", "future", "before_start"]


@dataclass(frozen=True)
class Outcome:
    """One item as ``reminders.register_activities`` returns it: refused (``refusal`` and the
    facts to word it) or written (the activity, and its assignment's new date)."""

    item: int  # 1-based, in request order
    assignment_id: int
    occurred_on: date
    refusal: RefusalCode | None = None
    time_zone: str | None = None
    today: date | None = None
    starts_on: date | None = None
    id: int | None = None
    registration_path: str | None = None
    registered_by: UUID | None = None
    note: str | None = None
    last_contact_date: date | None = None

    def registered(self) -> Registered:
        assert self.id is not None and self.registration_path is not None
        return Registered(
            self.id,
            self.assignment_id,
            self.occurred_on,
            self.registration_path,
            self.registered_by,
            self.note,
        )


@dataclass(frozen=True)
class Registration:
    activities: list[Registered]
    last_contact_dates: dict[int, date | None]


def contact_date_problem(day: date, *, today: date, starts_on: date, time_zone: str) -> str | None:
    """Why *day* cannot be a contact date (in the organization's future, or before the assignment
    started), or None. Admin corrections check this; registrations get the same rule from the
    database (``reminders.register_activities``), worded by :func:`date_problem_text`."""
    if day > today:
        return date_problem_text(
            "future", day, today=today, starts_on=starts_on, time_zone=time_zone
        )
    if day < starts_on:
        return date_problem_text(
            "before_start", day, today=today, starts_on=starts_on, time_zone=time_zone
        )
    return None


def date_problem_text(
    code: Literal["future", "before_start"],
    day: date,
    *,
    today: date | None,
    starts_on: date | None,
    time_zone: str | None,
) -> str:
    if code == "future":
        return f"{day} is in the future (today is {today} in {time_zone})"
    return f"{day} is before the assignment started ({starts_on})"


#: The names under which the database refuses a contact date (supabase/schema.sql,
#: "Contact dates the database enforces").
DATABASE_DATE_RULES = frozenset({"contact_date_not_in_future", "contact_date_not_before_start"})


@contextmanager
def database_date_rule(field: str) -> Iterator[None]:
    """The database's refusal of a contact date as an :class:`InputError` naming *field*.

    The database applies :func:`contact_date_problem` to every writer with its own clock, so it
    can refuse what a check against the caller's "now" let through; it is recognised by
    SQLSTATE and constraint name, never by its text.
    """
    try:
        yield
    except ConstraintViolationError as exc:  # the gateway's, from a CheckViolation
        cause = exc.__cause__
        if exc.constraint not in DATABASE_DATE_RULES or not isinstance(cause, psycopg.Error):
            raise
        raise InputError(cause.diag.message_primary, field=field) from cause


_FORBIDDEN_WHY: dict[str, str] = {
    "direct": "it is not your assignment",
    "proxy": "you do not stand in for this assignment's mentor",
    "bulk": "it is neither your assignment nor one you stand in for",
    "coordinator_proxy": "it belongs to an organization you do not coordinate",
}


def refusal(path: Path, outcome: Outcome) -> Refusal | None:
    """The refusal the database reported for one item, worded; None when it was written."""
    code, aid = outcome.refusal, outcome.assignment_id
    if code is None:
        return None
    if code == "missing":
        return Refusal(404, "assignment_id", f"assignment {aid} does not exist")
    if code == "forbidden":
        return Refusal(403, "assignment_id", f"assignment {aid}: {_FORBIDDEN_WHY[path]}")
    text = date_problem_text(
        code,
        outcome.occurred_on,
        today=outcome.today,
        starts_on=outcome.starts_on,
        time_zone=outcome.time_zone,
    )
    return Refusal(422, "occurred_on", text)


def batch_status(refusals: Sequence[Refusal]) -> int:
    """One status for a refused batch: 403 over 404 over 422."""
    statuses = {r.status for r in refusals}
    return next(s for s in (403, 404, 422) if s in statuses)


def register(
    conn: Connection,
    principal: Principal,
    path: Path,
    items: Sequence[NewActivity],
    *,
    now: datetime,
    batch: bool,
) -> Registration:
    """Register *items* all or nothing, in one statement. A single item's refusal raises its own
    error (403, 404, 422); a batch's raises :class:`ItemsRejectedError` listing every refused
    item."""
    caller = principal.require_app_role(PATH_ROLES[path])
    if not items:
        raise InputError("give at least one activity", field="items")
    with database_date_rule("items" if batch else "occurred_on"):
        outcomes = fetch_all(
            conn,
            _REGISTER_ACTIVITIES,
            {
                "path": path,
                "caller": caller,
                "assignment_ids": [i.assignment_id for i in items],
                "dates": [i.occurred_on for i in items],
                "notes": [i.note for i in items],
                "now": now,
            },
            row=Outcome,
        )
    refused = [(o.item - 1, r) for o in outcomes if (r := refusal(path, o)) is not None]
    if refused and not batch:
        raise refused[0][1].error()
    if refused:
        raise ItemsRejectedError(
            [FieldRejection(f"items[{n}].{r.field}", r.message, r.status) for n, r in refused],
            status=batch_status([r for _, r in refused]),
        )
    return Registration(
        activities=[o.registered() for o in outcomes],
        last_contact_dates={o.assignment_id: o.last_contact_date for o in outcomes},
    )


@dataclass(frozen=True)
class _LastContact:
    """``last_contact_dates``: an assignment's date of last contact."""

    assignment_id: int
    last_contact_date: date | None


@dataclass(frozen=True)
class _Owner:
    """``activity_owner``: who registered an activity, whose assignment it is, and whether the
    caller coordinates its organization."""

    id: int
    assignment_id: int
    registered_by: UUID | None
    mentor_user_id: UUID | None
    caller_coordinates: bool


def last_contact_dates(conn: Connection, ids: Sequence[int]) -> dict[int, date | None]:
    rows = fetch_all(conn, _LAST_CONTACT_DATES, {"ids": sorted(set(ids))}, row=_LastContact)
    return {r.assignment_id: r.last_contact_date for r in rows}


@dataclass(frozen=True)
class Deleted:
    activity_id: int
    assignment_id: int
    last_contact_date: date | None


def delete(conn: Connection, principal: Principal, activity_id: int) -> Deleted:
    """Delete an activity registered in error; the trigger recomputes the assignment's date.

    Allowed for admins, whoever registered it, the assignment's mentor and the organization's
    coordinators.
    """
    row = fetch_one(
        conn, _ACTIVITY_OWNER, {"id": activity_id, "caller": principal.user_id}, row=_Owner
    )
    if row is None:
        raise NotFoundError(f"activity {activity_id} does not exist", field="activity_id")
    assignment_id = row.assignment_id
    if not principal.is_admin:
        caller = principal.require_app_role("peer_mentor", "coordinator")
        if caller not in (row.registered_by, row.mentor_user_id) and not (
            principal.app_role == "coordinator" and row.caller_coordinates
        ):
            raise PermissionDeniedError(
                f"activity {activity_id}: you neither registered it nor own or coordinate"
                " its assignment"
            )
    execute(conn, _DELETE_ACTIVITY, {"id": activity_id})
    return Deleted(
        activity_id=activity_id,
        assignment_id=assignment_id,
        last_contact_date=last_contact_dates(conn, [assignment_id]).get(assignment_id),
    )
