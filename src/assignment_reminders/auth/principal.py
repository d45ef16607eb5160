"""Who is calling: bearer tokens, Supabase API keys, the cron job's secret, the principal.

Token verification itself (JWKS, legacy secret) is in :mod:`tokens`; this module reads the
headers a request carries:

- ``Authorization: Bearer <access token>``: a user (or legacy ``service_role``) JWT.
- ``apikey: sb_publishable_…`` / ``sb_secret_…`` (supabase-js sends it beside the user's token):
  Supabase's API gateway checks these keys, we cannot, and they say nothing about the user. So
  the ``apikey`` header is ignored on user endpoints; a ``sb_…`` key sent *as* the bearer token is
  refused with a message saying what to send instead.
- The cron endpoint also takes ``REMINDERS_CRON_SECRET`` as ``Bearer`` or ``apikey``, compared in
  constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ..config import SUPABASE_API_KEY_PREFIXES, Secret
from ..exceptions import AuthError, PermissionDeniedError
from .tokens import TokenVerifier


def bearer_token(authorization: str | None) -> str:
    """The token of ``Authorization: Bearer <token>``; :class:`AuthError` otherwise."""
    if not authorization:
        raise AuthError("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    if token.startswith(SUPABASE_API_KEY_PREFIXES):
        raise AuthError(
            "the bearer token is a Supabase API key, not a user's access token: send the signed-in"
            " user's session token (supabase.auth.getSession()); API keys are checked by Supabase,"
            " not by this service"
        )
    return token


def decode_bearer(authorization: str | None, verifier: TokenVerifier) -> dict[str, Any]:
    """The verified claims of ``Authorization: Bearer <jwt>``; :class:`AuthError` otherwise."""
    return verifier.verify(bearer_token(authorization))


def cron_secret_matches(presented: str | None, secret: Secret | None) -> bool:
    """Whether *presented* is the cron job's secret, in time independent of where they differ."""
    if not presented or secret is None:
        return False
    return hmac.compare_digest(
        hashlib.sha256(presented.encode()).digest(),
        hashlib.sha256(secret.reveal().encode()).digest(),
    )


def require_service_role(claims: dict[str, Any]) -> None:
    if claims.get("role") != "service_role":
        raise PermissionDeniedError("this endpoint needs a service_role token")


APP_ROLES = ("peer_mentor", "coordinator", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's ``sub``, its database ``role`` and the app role.

    The app role is ``app_metadata.role`` (Supabase keeps app-controlled claims there):
    ``peer_mentor``, ``coordinator`` or ``admin``. A ``service_role`` token needs no ``sub``.
    """

    user_id: UUID | None
    role: str
    app_role: str | None = None

    @property
    def is_service(self) -> bool:
        return self.role == "service_role"

    @property
    def is_admin(self) -> bool:
        return self.is_service or (self.role == "authenticated" and self.app_role == "admin")

    def require_app_role(self, *roles: str) -> UUID:
        """The caller's user id when their app role is one of *roles*; 403 otherwise."""
        if self.role != "authenticated" or self.app_role not in roles or self.user_id is None:
            raise PermissionDeniedError(f"this needs the app role {' or '.join(roles)}")
        return self.user_id

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDeniedError("this needs an admin or service_role token")

    @property
    def name(self) -> str:
        return str(self.user_id) if self.user_id else self.role


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The :class:`Principal` of verified claims; :class:`AuthError` when ``sub`` is unusable."""
    role = str(claims.get("role"))
    sub = claims.get("sub")
    user_id: UUID | None = None
    if sub is not None:
        try:
            user_id = UUID(str(sub))
        except ValueError:
            raise AuthError("invalid token: sub is not a user id") from None
    elif role != "service_role":
        raise AuthError("invalid token: no sub claim")
    metadata = claims.get("app_metadata")
    app_role = metadata.get("role") if isinstance(metadata, dict) else None
    return Principal(
        user_id=user_id, role=role, app_role=app_role if app_role in APP_ROLES else None
    )
