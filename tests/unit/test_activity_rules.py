"""Who may register what, and who is calling: the pure decisions behind the activity API."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest

from assignment_reminders.activities import (
    Access,
    NewActivity,
    Path,
    Refusal,
    batch_status,
    refusal,
)
from assignment_reminders.auth import Principal, principal_from_claims
from assignment_reminders.corrections import check
from assignment_reminders.exceptions import AuthError, InputError, PermissionDeniedError

TODAY = date(2026, 11, 28)
MENTOR = UUID("00000000-0000-4000-8000-000000000001")
OTHER = UUID("00000000-0000-4000-8000-000000000002")


def access(**overrides: object) -> Access:
    values: dict[str, object] = {
        "assignment_id": 7,
        "organization_id": 1,
        "time_zone": "Europe/Oslo",
        "today": TODAY,
        "starts_on": TODAY - timedelta(days=30),
        "mentor_user_id": MENTOR,
        "caller_coordinates": False,
        "caller_stands_in": False,
    }
    values.update(overrides)
    return Access(**values)  # type: ignore[arg-type]


def item(days_ago: int = 1) -> NewActivity:
    return NewActivity(7, TODAY - timedelta(days=days_ago))


def test_unknown_assignment_is_404() -> None:
    assert refusal("direct", MENTOR, item(), None) == Refusal(
        404, "assignment_id", "assignment 7 does not exist"
    )


@pytest.mark.parametrize(
    ("path", "caller", "overrides", "allowed"),
    [
        ("direct", MENTOR, {}, True),
        ("direct", OTHER, {"caller_stands_in": True}, False),
        ("proxy", OTHER, {"caller_stands_in": True}, True),
        ("proxy", MENTOR, {}, False),
        ("bulk", MENTOR, {}, True),
        ("bulk", OTHER, {"caller_stands_in": True}, True),
        ("bulk", OTHER, {}, False),
        ("coordinator_proxy", OTHER, {"caller_coordinates": True}, True),
        ("coordinator_proxy", OTHER, {}, False),
    ],
)
def test_each_path_allows_exactly_its_callers(
    path: Path, caller: UUID, overrides: dict[str, object], allowed: bool
) -> None:
    result = refusal(path, caller, item(), access(**overrides))
    assert (result is None) == allowed
    if result is not None:
        assert result.status == 403


def test_a_day_after_the_organizations_today_is_refused_naming_occurred_on() -> None:
    result = refusal("direct", MENTOR, item(days_ago=-1), access())
    assert result is not None
    assert (result.status, result.field) == (422, "occurred_on")
    assert "Europe/Oslo" in result.message


def test_today_itself_is_fine() -> None:
    assert refusal("direct", MENTOR, item(days_ago=0), access()) is None


def test_a_day_before_the_start_is_refused() -> None:
    result = refusal("direct", MENTOR, item(days_ago=31), access())
    assert result is not None
    assert (result.status, result.field) == (422, "occurred_on")


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
