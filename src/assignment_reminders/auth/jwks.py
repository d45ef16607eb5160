"""The project's public signing keys: the JWKS at ``$SUPABASE_URL/auth/v1/.well-known/jwks.json``.

:func:`fetch_jwks` is the only I/O (the edge; tests pass their own). :class:`JwksCache` holds the
policy: keys are kept for ``max_age`` seconds; a token naming a ``kid`` the cache does not know
triggers a refetch (a key rotation), at most once per ``min_refetch_interval`` seconds, so a
flood of tokens with made-up ``kid`` values cannot become a flood of requests to the auth server.
When a refetch fails the keys already known stay in use; with none known, verification answers
503.

Only asymmetric keys (EC P-256 → ES256, RSA → RS256) are taken from the set: a symmetric ``oct``
key there would let anyone holding it mint tokens, and Supabase never publishes one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import httpx
import jwt
from jwt import PyJWK

from ..exceptions import AuthError, SigningKeysUnavailableError
from ..figures import counted

logger = logging.getLogger(__name__)

ASYMMETRIC_ALGORITHMS: Final = ("ES256", "RS256")
FETCH_TIMEOUT_SECONDS: Final = 5.0

Fetch = Callable[[str], Any]
"""Fetch a URL's JSON document; raises on any failure."""


def fetch_jwks(url: str) -> Any:
    """GET *url* and decode its JSON. No redirects: the key set must come from where we asked."""
    response = httpx.get(url, timeout=FETCH_TIMEOUT_SECONDS, headers={"Accept": "application/json"})
    response.raise_for_status()
    return response.json()


def parse_jwks(document: Any) -> dict[str, PyJWK]:
    """The usable signing keys of a JWKS document by ``kid``; ``ValueError`` if it is no JWKS."""
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise ValueError("the document has no 'keys' list")
    usable: dict[str, PyJWK] = {}
    for jwk in keys:
        if not isinstance(jwk, dict) or jwk.get("kty") not in ("EC", "RSA"):
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or jwk.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(jwk)
        except (jwt.PyJWTError, ValueError, TypeError):
            logger.warning("ignoring signing key %r: not a usable EC or RSA key", kid)
            continue
        if key.algorithm_name in ASYMMETRIC_ALGORITHMS:
            usable[kid] = key
    return usable


class JwksCache:
    """The key set of one URL, fetched when first needed, refreshed as described above."""

    def __init__(
        self,
        url: str,
        *,
        fetch: Fetch = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
        max_age: float = 600.0,
        min_refetch_interval: float = 30.0,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._clock = clock
        self.max_age = max_age
        self.min_refetch_interval = min_refetch_interval
        self._keys: dict[str, PyJWK] | None = None
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._lock = threading.Lock()

    def key(self, kid: str) -> PyJWK:
        """The key named *kid*; :class:`AuthError` when the project has no such key."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.max_age
            if stale and self._may_fetch(now):
                self._refresh(now)
            keys = self._known()
            if kid not in keys and self._may_fetch(now):
                self._refresh(now)  # a new kid: the project may have rotated its keys
                keys = self._known()
        if kid not in keys:
            raise AuthError("invalid token: it is signed with a key the project does not publish")
        return keys[kid]

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_refetch_interval

    def _known(self) -> dict[str, PyJWK]:
        if self._keys is None:
            raise SigningKeysUnavailableError(
                f"the project's signing keys could not be fetched from {self.url}"
            )
        return self._keys

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            keys = parse_jwks(self._fetch(self.url))
        except Exception as exc:
            logger.warning("could not fetch signing keys from %s: %s", self.url, type(exc).__name__)
            return  # keep what we had (or nothing: _known() then says so)
        logger.info("fetched %s from %s", counted(len(keys), "signing key"), self.url)
        self._keys, self._fetched_at = keys, now
