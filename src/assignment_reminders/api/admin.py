"""Admin correction of last_contact_date, and its audit history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from .. import corrections
from ..limits import REASON_MAX_LENGTH
from .deps import ERRORS, Caller, IsoDate, Now, Text, unit_of_work

router = APIRouter(prefix="/admin", tags=["admin"], responses=ERRORS)

AssignmentId = Annotated[int, Path(gt=0, le=2**63 - 1)]


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: IsoDate = Field(
        description="The corrected last contact day: not in the future (organization's time"
        " zone), not before the assignment started."
    )
    reason: Annotated[
        Text,
        Field(min_length=1, max_length=REASON_MAX_LENGTH, description="Why; audited."),
    ]


class CorrectionOut(BaseModel):
    id: int
    assignment_id: int
    old_date: dt.date | None
    new_date: dt.date
    reason: str
    changed_by: UUID | None
    changed_by_role: str
    changed_by_name: str | None
    changed_at: dt.datetime


@router.put("/assignments/{assignment_id}/last-contact-date")
def set_last_contact_date(
    request: Request,
    principal: Caller,
    now: Now,
    assignment_id: AssignmentId,
    body: CorrectionIn,
) -> CorrectionOut:
    """Correct an assignment's last_contact_date (admin app role or service role).

    The corrected date holds until an activity registered later carries a later date.
    """
    principal.require_admin()
    actor = corrections.Actor(
        user_id=principal.user_id,
        role="service_role" if principal.is_service else "admin",
        name=principal.name,
    )
    with unit_of_work(request) as conn:
        done = corrections.set_last_contact(
            conn, assignment_id, body.date, body.reason, actor=actor, now=now
        )
    return CorrectionOut(**vars(done))


@router.get("/assignments/{assignment_id}/last-contact-date/history")
def last_contact_date_history(
    request: Request, principal: Caller, assignment_id: AssignmentId
) -> list[CorrectionOut]:
    """Every correction of the assignment's last_contact_date, newest first."""
    principal.require_admin()
    with unit_of_work(request) as conn:
        rows = corrections.history(conn, assignment_id)
    return [CorrectionOut(**vars(r)) for r in rows]
