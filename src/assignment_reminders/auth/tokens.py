"""Verifying Supabase access tokens (JWTs) as projects sign them today.

The token's header decides which key may verify it, and nothing else may:

- ``ES256`` / ``RS256``: the key named by its ``kid`` in the project's JWKS (``SUPABASE_URL``),
  whose algorithm must be the header's;
- ``HS256``: the legacy JWT secret (``REMINDERS_JWT_SECRET`` / ``SUPABASE_JWT_SECRET``), never a
  key from the JWKS, so an HS256 token "signed" with a public key is just a bad signature;
- anything else (``none`` included): refused.

Both kinds are accepted at once while a project migrates from the secret to signing keys.
With ``SUPABASE_URL`` set, ``iss`` must be ``$SUPABASE_URL/auth/v1`` and ``aud`` must include
``authenticated``, except for the legacy ``anon``/``service_role`` API-key JWTs (HS256,
``iss`` = ``supabase``, no ``aud``). Expiry is checked against the injected clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

import jwt
from jwt import PyJWK

from ..clock import utc_now
from ..config import AuthSettings, Secret
from ..exceptions import AuthError
from .jwks import ASYMMETRIC_ALGORITHMS, JwksCache

AUDIENCE: Final = "authenticated"
LEGACY_KEY_ISSUER: Final = "supabase"
"""``iss`` of the legacy ``anon`` and ``service_role`` API keys, which are HS256 JWTs."""


class KeySet(Protocol):
    def key(self, kid: str) -> PyJWK: ...


@dataclass(frozen=True)
class TokenVerifier:
    """Turns a bearer token into verified claims, or raises :class:`AuthError`."""

    keys: KeySet | None = None
    legacy_secret: Secret | None = None
    issuer: str | None = None
    clock: Callable[[], datetime] = utc_now

    @classmethod
    def from_settings(
        cls,
        auth: AuthSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        key_set: Callable[[str], JwksCache] = JwksCache,
    ) -> TokenVerifier:
        """The verifier *auth* describes. *clock* checks expiry; *key_set* makes the cache of
        the JWKS at a URL (tests pass one with their own fetch, monotonic clock and limits)."""
        url = auth.jwks_url
        keys = key_set(url) if url else None
        return cls(keys=keys, legacy_secret=auth.jwt_secret, issuer=auth.issuer, clock=clock)

    @property
    def may_fetch(self) -> bool:
        """Whether :meth:`verify` may block on the network (fetching the JWKS): callers on an
        event loop run it in a thread then."""
        return self.keys is not None

    def verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthError("invalid token: not a JWT") from None
        algorithm = header.get("alg")
        key: Any
        if algorithm == "HS256":
            key = self._legacy_key()
        elif algorithm in ASYMMETRIC_ALGORITHMS:
            key = self._signing_key(header, algorithm)
        else:
            raise AuthError(f"invalid token: the algorithm {algorithm!r} is not accepted")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                options={
                    "require": ["exp", "role"],
                    "verify_exp": False,  # checked below against our clock
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,  # checked below: the rule depends on the token kind
                    "verify_iss": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        self._check_times(claims)
        self._check_issuer_and_audience(claims, legacy=algorithm == "HS256")
        return claims

    def _legacy_key(self) -> str:
        if self.legacy_secret is None:
            raise AuthError(
                "invalid token: HS256 tokens are not accepted (no legacy JWT secret is configured)"
            )
        return self.legacy_secret.reveal()

    def _signing_key(self, header: dict[str, Any], algorithm: str) -> Any:
        if self.keys is None:
            raise AuthError(
                f"invalid token: {algorithm} tokens need the project's signing keys (SUPABASE_URL)"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("invalid token: no kid names its signing key")
        jwk = self.keys.key(kid)
        if jwk.algorithm_name != algorithm:
            raise AuthError("invalid token: its algorithm is not its key's")
        return jwk.key

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self.clock().timestamp()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise AuthError("invalid token: exp must be a number")
        if exp <= now:
            raise AuthError("the token has expired")
        if nbf is not None and not (isinstance(nbf, int | float) and nbf <= now):
            raise AuthError("the token is not valid yet")

    def _check_issuer_and_audience(self, claims: dict[str, Any], *, legacy: bool) -> None:
        if self.issuer is None:
            return  # legacy secret only: tokens carry whatever issuer the project used
        iss = claims.get("iss")
        if legacy and iss == LEGACY_KEY_ISSUER and claims.get("role") in ("anon", "service_role"):
            return  # the legacy anon / service_role API key
        if iss != self.issuer:
            raise AuthError("invalid token: it was not issued by this project's auth server")
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if AUDIENCE not in audiences:
            raise AuthError(f"invalid token: its audience is not {AUDIENCE!r}")
