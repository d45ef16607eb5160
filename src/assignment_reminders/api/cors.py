"""CORS: which browser origins may call the API (``REMINDERS_CORS_ORIGINS``; default none).

Callers authenticate with headers (``Authorization``, ``apikey``), never cookies, so credentials
are never allowed: ``*`` then means "any page may send a token it already holds", which is safe,
and no browser ever attaches ambient credentials for us.

A refused preflight answers 400 with the API's one error body (problem+json), like every 4xx.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from . import errors

ALLOWED_METHODS: Final = ("GET", "POST", "PUT", "DELETE")
ALLOWED_HEADERS: Final = ("authorization", "apikey", "content-type", "x-client-info")
"""What browser clients send: supabase-js adds ``apikey`` and ``x-client-info``."""

PREFLIGHT_MAX_AGE_SECONDS: Final = 600


class _CORSMiddleware(CORSMiddleware):
    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        kept = {
            name: value
            for name, value in response.headers.items()
            if name.startswith("access-control-") or name == "vary"
        }
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        detail = f"this cross-origin request is not allowed ({refused}); see REMINDERS_CORS_ORIGINS"
        return errors.problem(errors.CORS_REFUSED, 400, detail, headers=kept)


def add_cors(app: FastAPI, origins: tuple[str, ...]) -> None:
    """Answer preflights and add CORS headers for *origins*; nothing at all when empty."""
    if not origins:
        return
    app.add_middleware(
        _CORSMiddleware,
        allow_origins=list(origins),
        allow_credentials=False,
        allow_methods=list(ALLOWED_METHODS),
        allow_headers=list(ALLOWED_HEADERS),
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
    )
