"""Who is calling, how a refusal is worded, and the date rule of corrections: the pure parts
behind the activity API. Who may register what is the database's (reminders.register_activities):
tests/integration/test_register_activities.py."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import pytest

from assignment_reminders.activities import (
    Outcome,
    Path,
    Refusal,
    RefusalCode,
    batch_status,
    contact_date_problem,
    refusal,
)
from assignment_reminders.auth.principal import Principal, principal_from_claims
from assignment_reminders.corrections import check
from assignment_reminders.exceptions import AuthError, InputError, PermissionDeniedError

TODAY = date(2026, 11, 28)
STARTED = TODAY - timedelta(days=30)


def refused(code: RefusalCode, day: date = TODAY) -> Outcome:
    return Outcome(
        item=1,
        assignment_id=7,
        occurred_on=day,
        refusal=code,
        time_zone="Europe/Oslo" if code != "missing" else None,
        today=TODAY if code != "missing" else None,
        starts_on=STARTED if code != "missing" else None,
    )


def test_an_unknown_assignment_is_404_naming_assignment_id() -> None:
    assert refusal("direct", refused("missing")) == Refusal(
        404, "assignment_id", "assignment 7 does not exist"
    )


@pytest.mark.parametrize("path", ["direct", "proxy", "bulk", "coordinator_proxy"])
def test_a_forbidden_item_is_403_saying_why_for_its_path(path: Path) -> None:
    result = refusal(path, refused("forbidden"))
    assert result is not None
    assert (result.status, result.field) == (403, "assignment_id")
    assert result.message.startswith("assignment 7: ")


def test_a_day_after_the_organizations_today_is_422_naming_occurred_on_and_the_zone() -> None:
    day = TODAY + timedelta(days=1)
    result = refusal("direct", refused("future", day))
    assert result == Refusal(
        422, "occurred_on", f"{day} is in the future (today is {TODAY} in Europe/Oslo)"
    )


def test_a_day_before_the_start_is_422_naming_the_start() -> None:
    day = STARTED - timedelta(days=1)
    result = refusal("direct", refused("before_start", day))
    assert result == Refusal(
        422, "occurred_on", f"{day} is before the assignment started ({STARTED})"
    )


def test_a_written_item_is_no_refusal() -> None:
    assert refusal("direct", Outcome(item=1, assignment_id=7, occurred_on=TODAY, id=1)) is None


def test_registrations_and_corrections_word_a_bad_date_alike() -> None:
    day = TODAY + timedelta(days=1)
    problem = contact_date_problem(day, today=TODAY, starts_on=STARTED, time_zone="Europe/Oslo")
    result = refusal("direct", refused("future", day))
    assert result is not None and result.message == problem


def test_batch_status_prefers_403_then_404() -> None:
    r403, r404, r422 = (Refusal(s, "f", "m") for s in (403, 404, 422))
    assert batch_status([r422, r404, r403]) == 403
    assert batch_status([r422, r404]) == 404
    assert batch_status([r422]) == 422


def test_refusal_maps_to_the_exception_of_its_status() -> None:
    assert isinstance(Refusal(403, "f", "m").error(), PermissionDeniedError)
    error = Refusal(422, "occurred_on", "m").error()
    assert isinstance(error, InputError)
    assert error.field == "occurred_on"


def test_principal_reads_the_app_role_from_app_metadata() -> None:
    sub = uuid4()
    p = principal_from_claims(
        {"sub": str(sub), "role": "authenticated", "app_metadata": {"role": "coordinator"}}
    )
    assert p == Principal(user_id=sub, role="authenticated", app_role="coordinator")
    assert p.require_app_role("coordinator") == sub
    with pytest.raises(PermissionDeniedError):
        p.require_app_role("peer_mentor")
    with pytest.raises(PermissionDeniedError):
        p.require_admin()


def test_an_unknown_app_role_is_no_role() -> None:
    p = principal_from_claims(
        {"sub": str(uuid4()), "role": "authenticated", "app_metadata": {"role": "root"}}
    )
    assert p.app_role is None


def test_user_metadata_cannot_make_an_admin() -> None:
    p = principal_from_claims(
        {"sub": str(uuid4()), "role": "authenticated", "user_metadata": {"role": "admin"}}
    )
    assert not p.is_admin


def test_service_role_needs_no_sub_and_is_admin() -> None:
    p = principal_from_claims({"role": "service_role"})
    assert p.is_admin
    with pytest.raises(PermissionDeniedError):
        p.require_app_role("peer_mentor")


def test_an_anon_token_is_not_an_app_user() -> None:
    p = principal_from_claims(
        {"sub": str(uuid4()), "role": "anon", "app_metadata": {"role": "admin"}}
    )
    assert not p.is_admin
    with pytest.raises(PermissionDeniedError):
        p.require_app_role("admin")


@pytest.mark.parametrize(
    "claims", [{"role": "authenticated"}, {"role": "authenticated", "sub": "x"}]
)
def test_a_user_token_without_a_usable_sub_is_401(claims: dict[str, str]) -> None:
    with pytest.raises(AuthError) as info:
        principal_from_claims(claims)
    assert not isinstance(info.value, PermissionDeniedError)


@pytest.mark.parametrize(
    ("day", "reason", "field"),
    [
        (TODAY + timedelta(days=1), "r", "date"),
        (TODAY - timedelta(days=31), "r", "date"),
        (TODAY, "  ", "reason"),
    ],
)
def test_correction_check_names_the_field(day: date, reason: str, field: str) -> None:
    with pytest.raises(InputError) as info:
        check(day, reason, today=TODAY, starts_on=TODAY - timedelta(days=30), time_zone="UTC")
    assert info.value.field == field


def test_correction_check_accepts_today_and_the_start() -> None:
    for day in (TODAY, TODAY - timedelta(days=30)):
        check(day, "r", today=TODAY, starts_on=TODAY - timedelta(days=30), time_zone="UTC")
