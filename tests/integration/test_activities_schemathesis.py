"""Property-based: the API answers requests generated from its own OpenAPI schema without a 5xx.

Bounded: ``MAX_EXAMPLES`` per operation and generation mode (valid and invalid input). Each
request carries a valid token for the kind of caller the operation is for, so generated bodies
reach the database code rather than stopping at the 401. (schemathesis's own pytest plugin does
not run under pytest 9 yet, so the strategies are driven with hypothesis directly.)
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from assignment_reminders.api import create_app
from assignment_reminders.config import AuthSettings, Secret, Settings
from assignment_reminders.database import connect
from tests.activity_world import SECRET, World, api_client, bearer, make_world
from tests.jwt_tokens import bearer as service_role_bearer

MAX_EXAMPLES = 25


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


def _headers_for(path: str, world: World) -> dict[str, str]:
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
    client = api_client(database_url)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
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

    check()
    assert seen, "no request was generated"
    assert set(seen) - {401, 403}, f"every request stopped at the auth check: {sorted(set(seen))}"
