"""Property-based: the API answers requests generated from its own OpenAPI schema without a 5xx,
and as that schema says: every check schemathesis has (``--checks all``: status codes, content
types, headers and bodies conform, invalid data is refused and valid data accepted, auth is not
ignored, unsupported methods answer 405 ...).

Bounded: ``MAX_EXAMPLES`` per operation and generation mode (valid and invalid input). Each
request carries a valid token for the kind of caller the operation is for, so generated bodies
reach the database code rather than stopping at the 401. (schemathesis's own pytest plugin does
not run under pytest 9 yet, so the strategies are driven with hypothesis directly.)
"""

from __future__ import annotations

from typing import Any, Final

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from assignment_reminders.api.app import create_app
from assignment_reminders.api.deps import request_now
from assignment_reminders.api.errors import VALIDATION
from assignment_reminders.config import AuthSettings, Secret, Settings
from assignment_reminders.db.database import connect
from tests.activity_world import NOW, SECRET, World, bearer, make_world
from tests.jwt_tokens import bearer as service_role_bearer

MAX_EXAMPLES = 100
REFUSED_AS_MALFORMED: Final = frozenset({400, 405, 406, 413, 415})


def valid_input_is_never_refused_as_invalid(ctx: Any, response: Any, case: Any) -> bool | None:
    """``positive_data_acceptance``, for an API whose 422 also means "breaks a rule": input the
    document allows is never refused as malformed, nor as a 422 ``validation`` problem (the
    document's own violation); a 422 ``rule-broken`` or ``items-rejected`` (a date before the
    assignment started, a distant ``now``) is an answer the document allows."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    status = response.status_code
    assert status not in REFUSED_AS_MALFORMED, (status, case.body, response.text)
    if status == 422:
        assert response.json()["type"] != VALIDATION.uri, (case.body, response.text)
    return True


load_all_checks()
ALL_CHECKS: Final = [
    c
    for c in CHECKS.get_all()
    if not isinstance(c, type) and c.__name__ != "positive_data_acceptance"
] + [valid_input_is_never_refused_as_invalid]
"""``--checks all``: every check function schemathesis registers, positive_data_acceptance as
:func:`valid_input_is_never_refused_as_invalid`."""


def _cases() -> list[tuple[str, GenerationMode]]:
    """Every operation of the schema (building it touches no database), with valid input, and
    with invalid input where it takes any."""
    spec = create_app(Settings(auth=AuthSettings(jwt_secret=Secret(SECRET)))).openapi()
    cases = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            name = f"{method.upper()} {path}"
            cases.append((name, GenerationMode.POSITIVE))
            if operation.get("parameters") or operation.get("requestBody"):
                cases.append((name, GenerationMode.NEGATIVE))
    return sorted(cases)


OPS_TOKEN = "ops-token-for-the-schemathesis-run-0123456789"


def _app(database_url: str) -> Any:
    """The API in-process as deployed: user tokens, and /ops and /metrics behind their token
    (without REMINDERS_OPS_TOKEN they are open on loopback, which the document does not say)."""
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "REMINDERS_JWT_SECRET": SECRET,
            "REMINDERS_OPS_TOKEN": OPS_TOKEN,
        }
    )
    app = create_app(settings)
    app.dependency_overrides[request_now] = lambda: NOW
    return app


def _headers_for(path: str, world: World) -> dict[str, str]:
    if path in ("/ops", "/metrics"):
        return {"Authorization": f"Bearer {OPS_TOKEN}"}
    if path.startswith("/coordinator"):
        return bearer(world.coordinator, "coordinator")
    if path.startswith("/functions"):
        # the cron endpoint is for the scheduler: a service_role token lets bodies reach the run
        return service_role_bearer("service_role", secret=SECRET)
    if path.startswith("/admin"):
        return bearer("0b9a6f0e-0000-4000-8000-000000000001", "admin")
    return bearer(world.mentor, "peer_mentor")


@pytest.mark.slow
@pytest.mark.parametrize(("operation", "mode"), _cases())
def test_api_never_answers_5xx(database_url: str, operation: str, mode: GenerationMode) -> None:
    with connect(database_url, purpose="test-world") as conn:
        world = make_world(conn)
    schema = schemathesis.openapi.from_asgi("/openapi.json", _app(database_url))
    method, path = operation.split(" ", 1)
    api_operation = schema[path][method]
    headers = _headers_for(path, world)
    seen: list[int] = []

    @given(case=api_operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        case.headers = {**(case.headers or {}), **headers}
        response = case.call()
        seen.append(response.status_code)
        assert response.status_code < 500, (case.method, case.path, case.body, response.text)
        case.validate_response(response, checks=ALL_CHECKS, headers=case.headers)

    check()
    assert seen, "no request was generated"
    assert set(seen) - {401, 403}, f"every request stopped at the auth check: {sorted(set(seen))}"
