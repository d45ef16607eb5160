"""The operator surface's credential: ``REMINDERS_OPS_TOKEN`` as a bearer token.

When the token is set, ``/ops`` and ``/metrics`` answer 401 without ``Authorization: Bearer
<token>`` (Prometheus: ``authorization: {credentials: <token>}``); ``/health`` stays open for
load balancers and container health checks. Unset, they are open: ``reminders serve`` refuses to
listen on a non-loopback address that way unless told to (``--allow-open-ops``).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..config import Settings
from ..exceptions import AuthError

ops_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="opsToken",
    description="REMINDERS_OPS_TOKEN, for /ops and /metrics (when it is set).",
)


def require_ops_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(ops_bearer)],
) -> None:
    settings: Settings = request.app.state.settings
    if settings.http.ops_token is None:
        return
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), settings.http.ops_token.reveal().encode()):
        raise AuthError("this page needs the ops token (REMINDERS_OPS_TOKEN) as a bearer token")


OpsToken = Depends(require_ops_token)


def is_loopback(host: str) -> bool:
    """Whether *host* (as given to ``serve --host``) only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
