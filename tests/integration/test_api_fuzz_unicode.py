"""Property-based: no request makes the API answer 5xx, whatever its bytes.

Complements the schemathesis run (bodies shaped by the schema): here hypothesis sends every
operation bodies of any JSON (text over all of unicode, lone surrogates included, which no UTF-8
encoder accepts; huge integers; NaN and infinities), raw bytes that are not JSON or not UTF-8,
and path segments and query strings of any unicode, percent-encoded (surrogates as the bytes
that cannot be decoded). Every answer must be below 500, and every error a problem body.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assignment_reminders.api.app import create_app
from assignment_reminders.api.errors import MEDIA_TYPE
from assignment_reminders.config import AuthSettings, Secret, Settings
from assignment_reminders.db.database import connect
from tests.activity_world import SECRET, World, api_client, bearer, make_world
from tests.jwt_tokens import bearer as service_role_bearer

MAX_EXAMPLES = 20

TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)


def _operations() -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path, body field names) of every operation the schema lists."""
    spec = create_app(Settings(auth=AuthSettings(jwt_secret=Secret(SECRET)))).openapi()
    schemas = spec.get("components", {}).get("schemas", {})
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body: dict[str, Any] = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            ref: dict[str, Any] = next(
                (r for r in [body, *body.get("anyOf", [])] if "$ref" in r), {}
            )
            name = str(ref.get("$ref", "")).rpartition("/")[2]
            fields = tuple(schemas.get(name, {}).get("properties", {}))
            found.append((method.upper(), path, fields))
    return sorted(found)


def _json_bodies(fields: tuple[str, ...]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(fields) | TEXT if fields else TEXT
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=8,
    )


def _raw(fields: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    as_json = _json_bodies(fields).map(lambda v: json.dumps(v, ensure_ascii=True).encode())
    return st.one_of(as_json, st.binary(max_size=60))


def _segment(text: str) -> str:
    """A path segment or query value of any unicode, percent-encoded; lone surrogates go out as
    the bytes they stand for, which are not UTF-8."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _headers_for(path: str, world: World) -> dict[str, str]:
    if path.startswith("/coordinator"):
        return bearer(world.coordinator, "coordinator")
    if path.startswith("/functions"):
        return service_role_bearer("service_role", secret=SECRET)
    if path.startswith("/admin"):
        return bearer("0b9a6f0e-0000-4000-8000-000000000001", "admin")
    return bearer(world.mentor, "peer_mentor")


def _check(client: TestClient, method: str, url: str, body: bytes, headers: dict[str, str]) -> int:
    response = client.request(
        method, url, content=body, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code < 500, (method, url, body[:200], response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"] == MEDIA_TYPE, response.text
    return response.status_code


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path", "fields"), _operations())
def test_no_request_makes_the_api_answer_5xx(
    database_url: str, method: str, path: str, fields: tuple[str, ...]
) -> None:
    with connect(database_url, purpose="test-world") as conn:
        world = make_world(conn)
    client = api_client(database_url)
    headers = _headers_for(path, world)
    params = re.findall(r"\{([^}]+)\}", path)
    seen: list[int] = []

    @given(
        body=_raw(fields),
        segments=st.lists(
            TEXT | st.integers().map(str), min_size=len(params), max_size=len(params)
        ),
        query=TEXT,
    )
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(body: bytes, segments: list[str], query: str) -> None:
        url = path
        for name, value in zip(params, segments, strict=True):
            url = url.replace("{" + name + "}", _segment(value) or "x")
        url += "?q=" + _segment(query)
        seen.append(_check(client, method, url, body, headers))

    check()
    assert seen


def test_every_operation_is_fuzzed() -> None:
    paths = {path for _, path, _ in _operations()}
    assert {"/activities", "/functions/v1/assignment-reminder-cron", "/health"} <= paths
    assert any(fields for _, _, fields in _operations())
