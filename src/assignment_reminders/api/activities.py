"""Registration paths: direct, proxy, bulk and coordinator proxy, and deleting an activity.

Every path inserts rows into ``activities`` in one statement (``reminders.register_activities``);
the triggers there move ``last_contact_date``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from .. import activities
from ..auth.principal import Principal
from .deps import ERRORS, Caller, DbId, IsoDate, Now, Text, unit_of_work
from .workers import DbWorkers

router = APIRouter(tags=["activities"], responses=ERRORS)


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignment_id: DbId
    occurred_on: IsoDate = Field(description="The day of the contact, in the organization's zone.")
    note: Annotated[Text, Field(max_length=2000)] | None = None

    def domain(self) -> activities.NewActivity:
        return activities.NewActivity(self.assignment_id, self.occurred_on, self.note)


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ActivityIn] = Field(min_length=1, max_length=500)


class ActivityOut(BaseModel):
    id: int
    assignment_id: int
    occurred_on: date
    registration_path: str
    registered_by: UUID | None
    note: str | None


class LastContact(BaseModel):
    assignment_id: int
    last_contact_date: date | None


class RegistrationOut(BaseModel):
    activities: list[ActivityOut]
    assignments: list[LastContact] = Field(
        description="last_contact_date of every assignment touched, after the registration."
    )


class DeletedOut(LastContact):
    deleted_activity_id: int


async def _register(
    request: Request,
    principal: Principal,
    path: activities.Path,
    items: list[ActivityIn],
    now: datetime,
    *,
    batch: bool,
) -> RegistrationOut:
    workers: DbWorkers = request.app.state.db_workers
    new = [i.domain() for i in items]
    done = await workers.run(  # one statement: its own transaction
        lambda conn: activities.register(conn, principal, path, new, now=now, batch=batch)
    )
    return RegistrationOut(
        activities=[ActivityOut(**vars(a)) for a in done.activities],
        assignments=[
            LastContact(assignment_id=k, last_contact_date=v)
            for k, v in sorted(done.last_contact_dates.items())
        ],
    )


@router.post("/activities", status_code=201)
async def register_direct(
    request: Request, principal: Caller, now: Now, body: ActivityIn
) -> RegistrationOut:
    """A peer mentor registers a contact on one of their own assignments."""
    return await _register(request, principal, "direct", [body], now, batch=False)


@router.post("/activities/proxy", status_code=201)
async def register_proxy(
    request: Request, principal: Caller, now: Now, body: ActivityIn
) -> RegistrationOut:
    """A peer mentor registers for a mentor they stand in for (``mentor_stand_ins``, today)."""
    return await _register(request, principal, "proxy", [body], now, batch=False)


@router.post("/activities/bulk", status_code=201)
async def register_bulk(
    request: Request, principal: Caller, now: Now, body: BulkIn
) -> RegistrationOut:
    """A peer mentor registers many contacts at once (a group meeting): all or nothing.

    Own assignments and those of mentors they stand in for. When any item is refused nothing is
    written, and the problem body's ``errors`` lists every refused item (``field``
    ``items[n].<field>``) with its own ``status``; the response status is 403 if any item is
    forbidden, else 404, else 422.
    """
    return await _register(request, principal, "bulk", body.items, now, batch=True)


@router.post("/coordinator/activities", status_code=201)
async def register_coordinator_proxy(
    request: Request, principal: Caller, now: Now, body: ActivityIn
) -> RegistrationOut:
    """A coordinator registers a contact for any mentor in their organization."""
    return await _register(request, principal, "coordinator_proxy", [body], now, batch=False)


@router.post("/coordinator/activities/bulk", status_code=201)
async def register_coordinator_proxy_bulk(
    request: Request, principal: Caller, now: Now, body: BulkIn
) -> RegistrationOut:
    """A coordinator registers many contacts in their organization: all or nothing, as bulk."""
    return await _register(request, principal, "coordinator_proxy", body.items, now, batch=True)


@router.delete("/activities/{activity_id}")
def delete_activity(
    request: Request,
    principal: Caller,
    activity_id: Annotated[int, Path(gt=0, le=2**63 - 1)],
) -> DeletedOut:
    """Delete an activity registered in error; the assignment's date is recomputed.

    Allowed for whoever registered it, the assignment's mentor, the organization's coordinators,
    admins and the service role.
    """
    with unit_of_work(request) as conn:
        done = activities.delete(conn, principal, activity_id)
    return DeletedOut(
        deleted_activity_id=done.activity_id,
        assignment_id=done.assignment_id,
        last_contact_date=done.last_contact_date,
    )
