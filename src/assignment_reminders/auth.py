"""Supabase-style bearer tokens: HS256 JWTs signed with the project's JWT secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jwt

from .config import Secret
from .exceptions import AuthError, PermissionDeniedError


def decode_bearer(authorization: str | None, secret: Secret | None) -> dict[str, Any]:
    """The verified claims of ``Authorization: Bearer <jwt>``; :class:`AuthError` otherwise."""
    if secret is None:
        raise AuthError("the server has no JWT secret configured (REMINDERS_JWT_SECRET)")
    if not authorization:
        raise AuthError("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    try:
        claims: dict[str, Any] = jwt.decode(
            token.strip(),
            secret.reveal(),
            algorithms=["HS256"],
            options={"require": ["exp", "role"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("the token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    return claims


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
