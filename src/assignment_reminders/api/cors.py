"""CORS: which browser origins may call the API (``REMINDERS_CORS_ORIGINS``; default none).

Callers authenticate with headers (``Authorization``, ``apikey``), never cookies, so credentials
are never allowed: ``*`` then means "any page may send a token it already holds", which is safe,
and no browser ever attaches ambient credentials for us.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

ALLOWED_METHODS: Final = ("GET", "POST", "PUT", "DELETE")
ALLOWED_HEADERS: Final = ("authorization", "apikey", "content-type", "x-client-info")
"""What browser clients send: supabase-js adds ``apikey`` and ``x-client-info``."""

PREFLIGHT_MAX_AGE_SECONDS: Final = 600


def add_cors(app: FastAPI, origins: tuple[str, ...]) -> None:
    """Answer preflights and add CORS headers for *origins*; nothing at all when empty."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_credentials=False,
        allow_methods=list(ALLOWED_METHODS),
        allow_headers=list(ALLOWED_HEADERS),
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
    )
