"""Property-based: the API answers its own OpenAPI schema's requests without a 5xx.

Bounded (``MAX_EXAMPLES`` per operation). Each request carries a valid token for the kind of
caller the operation is for, so generated bodies reach the database code, not just the 401.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from assignment_reminders.database import connect
from tests.activity_world import World, api_client, bearer, make_world

MAX_EXAMPLES = 25


@pytest.fixture
def world_and_schema(database_url: str) -> tuple[World, Any]:
    with connect(database_url, purpose="test-world") as conn:
        world = make_world(conn)
    client = api_client(database_url)
    return world, schemathesis.openapi.from_asgi("/openapi.json", client.app)


@pytest.fixture
def api_schema(world_and_schema: tuple[World, Any]) -> Any:
    return world_and_schema[1]


@pytest.fixture
def world(world_and_schema: tuple[World, Any]) -> World:
    return world_and_schema[0]


schema = schemathesis.pytest.from_fixture("api_schema")


def _headers_for(path: str, world: World) -> dict[str, str]:
    if path.startswith("/coordinator"):
        return bearer(world.coordinator, "coordinator")
    if path.startswith(("/admin", "/functions")):
        return bearer("0b9a6f0e-0000-4000-8000-000000000001", "admin")
    return bearer(world.mentor, "peer_mentor")


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_never_answers_5xx(case: Any, world: World) -> None:
    case.headers = {**(case.headers or {}), **_headers_for(case.path, world)}
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, case.body, response.text)
