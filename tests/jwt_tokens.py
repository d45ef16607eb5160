"""Supabase-style test tokens."""

from __future__ import annotations

import time
from typing import Any

import jwt

SECRET = "test-jwt-secret-with-at-least-32-characters"


def token(
    role: str = "service_role", *, secret: str = SECRET, expires_in: int = 3600, **claims: Any
) -> str:
    payload = {"role": role, "exp": int(time.time()) + expires_in, "iss": "supabase", **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def bearer(role: str = "service_role", **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, **kwargs)}"}
