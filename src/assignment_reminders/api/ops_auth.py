"""The operator surface's credential: ``REMINDERS_OPS_TOKEN``, as a bearer token or a session.

When the token is set, ``/ops`` and ``/metrics`` need either ``Authorization: Bearer <token>``
(scripts; Prometheus: ``authorization: {credentials: <token>}``) or the session cookie a person
gets by signing in with the token at ``/ops/sign-in`` (api/ops_session.py). Without either, a
browser asking for HTML is sent to the sign-in page (303); anything else gets the 401 problem
body. ``/health`` stays open for load balancers and container health checks. Unset, they are
open: ``reminders serve`` refuses to listen on a non-loopback address that way unless told to
(``--allow-open-ops``).

The session cookie is not the token: it is ``v1.<expiry>.<nonce>.<signature>``, the signature an
HMAC-SHA256 of the rest under a key derived from the token, so it expires on its own, cannot be
extended by its holder, and every session ends when the token is changed.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import ipaddress
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..config import Secret, Settings
from ..exceptions import AuthError, SignInRequiredError

SESSION_COOKIE: Final = "reminders_ops_session"
SESSION_LIFETIME: Final = timedelta(hours=12)
SIGN_IN_PATH: Final = "/ops/sign-in"
SIGN_OUT_PATH: Final = "/ops/sign-out"
_KEY_LABEL: Final = b"assignment-reminders /ops session v1"

ops_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="opsToken",
    description="REMINDERS_OPS_TOKEN, for /ops and /metrics (when it is set).",
)


class SessionState(enum.Enum):
    """What a request's session cookie says."""

    NONE = "none"
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


def tokens_match(given: str, token: Secret) -> bool:
    """Whether *given* is the ops token, compared in constant time."""
    return hmac.compare_digest(given.encode(), token.reveal().encode())


def _key(token: Secret) -> bytes:
    return hmac.new(token.reveal().encode(), _KEY_LABEL, hashlib.sha256).digest()


def _signature(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue_session(token: Secret, now: datetime, lifetime: timedelta = SESSION_LIFETIME) -> str:
    """A new session cookie value, valid until *now* + *lifetime*."""
    payload = f"v1.{int((now + lifetime).timestamp())}.{secrets.token_urlsafe(12)}"
    return f"{payload}.{_signature(_key(token), payload)}"


def session_state(value: str | None, token: Secret, now: datetime) -> SessionState:
    """Whether *value* is a session signed with *token*'s key and not expired at *now*."""
    if not value:
        return SessionState.NONE
    payload, _, signature = value.rpartition(".")
    version, _, rest = payload.partition(".")
    expiry, _, nonce = rest.partition(".")
    if version != "v1" or not expiry.isdigit() or not nonce:
        return SessionState.INVALID
    if not hmac.compare_digest(signature.encode(), _signature(_key(token), payload).encode()):
        return SessionState.INVALID
    if int(expiry) <= now.timestamp():
        return SessionState.EXPIRED
    return SessionState.VALID


def wants_html(request: Request) -> bool:
    """A browser navigating (GET or HEAD, HTML accepted), not a script or a scraper."""
    return request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", "")


def require_ops_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(ops_bearer)],
) -> None:
    settings: Settings = request.app.state.settings
    token = settings.http.ops_token
    if token is None:
        return
    if credentials is not None or "authorization" in request.headers:
        given = credentials.credentials if credentials is not None else ""
        if tokens_match(given, token):
            return
    else:
        state = session_state(request.cookies.get(SESSION_COOKIE), token, datetime.now(UTC))
        if state is SessionState.VALID:
            return
        if wants_html(request):
            raise SignInRequiredError(expired=state is SessionState.EXPIRED)
    raise AuthError(
        "this page needs the ops token (REMINDERS_OPS_TOKEN) as a bearer token,"
        f" or a session from {SIGN_IN_PATH}"
    )


OpsToken = Depends(require_ops_token)


def is_loopback(host: str) -> bool:
    """Whether *host* (as given to ``serve --host``) only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
