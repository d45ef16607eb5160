"""Supabase-style bearer tokens: HS256 JWTs signed with the project's JWT secret."""

from __future__ import annotations

from typing import Any

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
