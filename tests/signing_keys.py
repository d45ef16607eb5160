"""A Supabase project's JWT signing keys, locally: EC and RSA keys generated per test run, a real
HTTP server publishing them at ``/auth/v1/.well-known/jwks.json``, and tokens signed with them.

``JwksServer.publish(...)`` swaps the published set, which is how a key rotation looks from
outside: a new key appears (standby), tokens start carrying its ``kid``, the old key goes away.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

JWKS_PATH = "/auth/v1/.well-known/jwks.json"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str  # ES256 or RS256
    private_key: Any

    @property
    def jwk(self) -> dict[str, Any]:
        """The public half, as the project's JWKS lists it."""
        public = self.private_key.public_key()
        encoder = ECAlgorithm if self.algorithm == "ES256" else RSAAlgorithm
        data: dict[str, Any] = encoder.to_jwk(public, as_dict=True)
        return {**data, "kid": self.kid, "alg": self.algorithm, "use": "sig", "key_ops": ["verify"]}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm=self.algorithm, headers={"kid": self.kid, **header}
        )


@cache
def ec_key(kid: str = "ec-1") -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


@cache
def rsa_key(kid: str = "rsa-1") -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def user_claims(
    issuer: str,
    sub: str = "7d0c6a0e-0000-4000-8000-000000000001",
    *,
    app_role: str | None = None,
    expires_in: int = 3600,
    **extra: Any,
) -> dict[str, Any]:
    """What Supabase Auth puts into a signed-in user's access token."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": sub,
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now,
        "exp": now + expires_in,
        "session_id": "5b3b8f7e-0000-4000-8000-0000000000aa",
        "is_anonymous": False,
    }
    if app_role is not None:
        claims["app_metadata"] = {"provider": "email", "role": app_role}
    return {**claims, **extra}


@dataclass
class JwksServer:
    """What the server publishes, and how often it was asked."""

    keys: list[SigningKey] = field(default_factory=list)
    fail: bool = False
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""  # the project URL (SUPABASE_URL), set once serving

    @property
    def issuer(self) -> str:
        return f"{self.url}/auth/v1"

    def publish(self, *keys: SigningKey) -> None:
        with self.lock:
            self.keys = list(keys)

    def document(self) -> bytes | None:
        with self.lock:
            self.requests += 1
            if self.fail:
                return None
            return json.dumps({"keys": [k.jwk for k in self.keys]}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: JwksServer

    def do_GET(self) -> None:
        body = self.state.document() if self.path == JWKS_PATH else None
        self.send_response(200 if body is not None else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def jwks_server(*keys: SigningKey) -> Iterator[JwksServer]:
    """A project's auth server publishing *keys*, on 127.0.0.1 in a thread."""
    state = JwksServer(keys=list(keys))
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
