"""What the activity and admin routes share: who is calling, what time it is, one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

from ..auth.principal import (
    Principal,
    cron_secret_matches,
    decode_bearer,
    principal_from_claims,
    require_service_role,
)
from ..auth.tokens import TokenVerifier
from ..config import SUPABASE_API_KEY_PREFIXES, Settings
from ..db.database import Connection
from ..db.gateway import transaction
from ..exceptions import AuthError
from .pool import ApiPool

# PostgreSQL text cannot hold NUL; refusing it here keeps such input a 422, not a 5xx.
Text = Annotated[str, Strict(), Field(pattern=r"^[^\x00]*$")]


def _whole_number(value: object) -> object:
    """JSON Schema's ``integer`` includes ``2674.0``: an integral float is that integer. Bools
    and text are left for the strict check to refuse."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


# Strict: JSON true is not the id 1, nor "1" an id; 2674.0 is 2674 (as JSON Schema reads it).
DbId = Annotated[int, Strict(), Field(gt=0, le=2**63 - 1), BeforeValidator(_whole_number)]


def _iso_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        with suppress(ValueError):
            return date.fromisoformat(value)
    raise PydanticCustomError("date_text", "give the date as text, YYYY-MM-DD")


def _iso_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        with suppress(ValueError):
            return datetime.fromisoformat(value)
    raise PydanticCustomError("datetime_text", "give the moment as ISO 8601 text with a UTC offset")


# A date or moment only as ISO 8601 text: pydantic alone would read the number 0 as 1970-01-01.
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime)]

ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "missing, malformed or expired bearer token"},
    403: {"description": "wrong role, or another organization's data"},
    404: {"description": "an id names nothing that exists"},
    422: {"description": "bad input; the body names the field"},
}

_bearer = HTTPBearer(
    auto_error=False,
    description="A Supabase access token: ES256/RS256 (the project's JWKS) or HS256 (legacy)",
)
_apikey = APIKeyHeader(
    name="apikey",
    auto_error=False,
    description="Ignored on user endpoints; the cron endpoint accepts REMINDERS_CRON_SECRET here",
)


# The cheap dependencies are ``async def``: FastAPI runs a plain ``def`` dependency in its thread
# pool, a hand-off to a thread and back for each, which under load cost more than the work.


async def request_now() -> datetime:
    """The moment the request is handled. Tests replace it via ``app.dependency_overrides``."""
    return datetime.now(UTC)


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller. An HS256 token is checked on the event loop (microseconds of CPU);
    with the project's JWKS the check may fetch it, so it runs in the thread pool."""
    verifier: TokenVerifier = request.app.state.token_verifier
    header = _header(credentials)
    if verifier.may_fetch:
        claims = await run_in_threadpool(decode_bearer, header, verifier)
    else:
        claims = decode_bearer(header, verifier)
    return principal_from_claims(claims)


def cron_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    apikey: Annotated[str | None, Depends(_apikey)],
) -> str:
    """``cron_secret`` when the job's secret came as Bearer or apikey, else ``service_role``
    for a service_role JWT; :class:`AuthError` otherwise."""
    settings: Settings = request.app.state.settings
    secret = settings.auth.cron_secret
    token = credentials.credentials if credentials else None
    if cron_secret_matches(token, secret) or cron_secret_matches(apikey, secret):
        return "cron_secret"
    if token is None and apikey:
        raise AuthError("the apikey header is not this job's secret (REMINDERS_CRON_SECRET)")
    if token is not None and token.startswith(SUPABASE_API_KEY_PREFIXES):
        raise AuthError(
            "Supabase API keys are not accepted here: call with REMINDERS_CRON_SECRET"
            " (as 'Authorization: Bearer' or 'apikey') or a service_role JWT"
        )
    if token is not None and token.count(".") != 2:
        raise AuthError(
            "the bearer token is neither this job's secret (REMINDERS_CRON_SECRET) nor a JWT"
        )
    verifier: TokenVerifier = request.app.state.token_verifier
    require_service_role(decode_bearer(_header(credentials), verifier))
    return "service_role"


def _header(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    return f"{credentials.scheme} {credentials.credentials}" if credentials else None


Caller = Annotated[Principal, Depends(caller)]
CronCaller = Annotated[str, Depends(cron_caller)]
Now = Annotated[datetime, Depends(request_now)]


@contextmanager
def unit_of_work(request: Request) -> Iterator[Connection]:
    """One connection from the app's pool (api/pool.py) and one transaction: on any error
    nothing the request wrote stays; a driver error is wrapped once, by the gateway."""
    pool: ApiPool = request.app.state.pool
    with pool.connection() as conn, transaction(conn, "the request"):
        yield conn
