"""Access tokens as Supabase projects sign them today, verified through a real local JWKS server.

No database: the verifier and its key cache against an HTTP server publishing EC and RSA keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from assignment_reminders.auth.jwks import JwksCache, parse_jwks
from assignment_reminders.auth.tokens import TokenVerifier
from assignment_reminders.config import AuthSettings, Secret
from assignment_reminders.exceptions import AuthError, SigningKeysUnavailableError
from tests.signing_keys import JwksServer, SigningKey, ec_key, jwks_server, rsa_key, user_claims

LEGACY = "legacy-hs256-secret-0123456789abcdefghij"


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def project() -> Iterator[JwksServer]:
    with jwks_server(ec_key(), rsa_key()) as server:
        yield server


@pytest.fixture
def ticks() -> FakeMonotonic:
    return FakeMonotonic()


def verifier(
    server: JwksServer, ticks: FakeMonotonic, *, legacy: str | None = None, **options: Any
) -> TokenVerifier:
    auth = AuthSettings(supabase_url=server.url, jwt_secret=Secret(legacy) if legacy else None)
    return TokenVerifier.from_settings(
        auth, key_set=lambda url: JwksCache(url, clock=ticks, **options)
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A JWT assembled by hand: PyJWT refuses to make the bad ones these tests need."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest() if key else b""
    return f"{signing_input}.{b64(signature)}"


def public_pem(key: SigningKey) -> bytes:
    return bytes(
        key.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@pytest.mark.parametrize("key", [ec_key(), rsa_key()], ids=["ES256", "RS256"])
def test_user_tokens_signed_with_the_projects_keys_verify(
    project: JwksServer, ticks: FakeMonotonic, key: SigningKey
) -> None:
    claims = verifier(project, ticks).verify(
        key.sign(user_claims(project.issuer, app_role="admin"))
    )
    assert (claims["role"], claims["aud"], claims["app_metadata"]["role"]) == (
        "authenticated",
        "authenticated",
        "admin",
    )


def test_the_key_set_is_fetched_once_and_cached(project: JwksServer, ticks: FakeMonotonic) -> None:
    v = verifier(project, ticks)
    assert project.requests == 0  # nothing fetched before the first token
    for key in (ec_key(), rsa_key(), ec_key()):
        v.verify(key.sign(user_claims(project.issuer)))
    assert project.requests == 1


def test_legacy_secret_and_signing_keys_are_both_accepted_during_a_migration(
    project: JwksServer, ticks: FakeMonotonic
) -> None:
    v = verifier(project, ticks, legacy=LEGACY)
    legacy_user = jwt.encode(user_claims(project.issuer), LEGACY, algorithm="HS256")
    legacy_service_key = jwt.encode(
        {"iss": "supabase", "ref": "abc", "role": "service_role", "exp": 2**31}, LEGACY, "HS256"
    )
    assert v.verify(legacy_user)["role"] == "authenticated"
    assert v.verify(legacy_service_key)["role"] == "service_role"
    assert v.verify(ec_key().sign(user_claims(project.issuer)))["role"] == "authenticated"


def test_without_supabase_url_the_legacy_secret_works_as_before() -> None:
    v = TokenVerifier.from_settings(AuthSettings(jwt_secret=Secret(LEGACY)))
    assert v.keys is None
    old_style = jwt.encode({"role": "service_role", "exp": 2**31, "iss": "x"}, LEGACY, "HS256")
    assert v.verify(old_style)["role"] == "service_role"
    with pytest.raises(AuthError, match="SUPABASE_URL"):
        v.verify(ec_key().sign(user_claims("https://x.supabase.co/auth/v1")))


def test_alg_none_is_refused(project: JwksServer, ticks: FakeMonotonic) -> None:
    for alg in ("none", "None", "NONE"):
        token = hand_made(
            {"alg": alg, "typ": "JWT", "kid": "ec-1"}, user_claims(project.issuer), None
        )
        with pytest.raises(AuthError, match="not accepted"):
            verifier(project, ticks, legacy=LEGACY).verify(token)


@pytest.mark.parametrize("key", [ec_key(), rsa_key()], ids=["EC", "RSA"])
def test_hs256_signed_with_a_public_key_is_refused(
    project: JwksServer, ticks: FakeMonotonic, key: SigningKey
) -> None:
    """Algorithm confusion: the public key, known to everyone, used as an HMAC secret."""
    claims = user_claims(project.issuer)
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    for secret in (public_pem(key), json.dumps(key.jwk).encode()):
        token = hand_made(header, claims, secret)
        with pytest.raises(AuthError, match="Signature verification failed"):
            verifier(project, ticks, legacy=LEGACY).verify(token)
        with pytest.raises(AuthError, match="HS256 tokens are not accepted"):
            verifier(project, ticks).verify(token)


def test_a_token_whose_alg_is_not_its_keys_is_refused(
    project: JwksServer, ticks: FakeMonotonic
) -> None:
    """An RS256 header naming the EC key's kid (and the other way round) is not tried at all."""
    forged = SigningKey("ec-1", "RS256", rsa_key().private_key)
    with pytest.raises(AuthError, match="not its key's"):
        verifier(project, ticks).verify(forged.sign(user_claims(project.issuer)))


def test_a_kid_not_in_the_set_is_refused_after_one_refetch(
    project: JwksServer, ticks: FakeMonotonic
) -> None:
    v = verifier(project, ticks, min_refetch_interval=30)
    v.verify(ec_key().sign(user_claims(project.issuer)))
    stranger = ec_key("not-published")
    with pytest.raises(AuthError, match="key the project does not publish"):
        v.verify(stranger.sign(user_claims(project.issuer)))
    assert project.requests == 1  # just fetched: the set is not asked for again at once
    ticks.now += 30
    with pytest.raises(AuthError, match="key the project does not publish"):
        v.verify(stranger.sign(user_claims(project.issuer)))
    assert project.requests == 2  # the unknown kid asked the server again, once
    for _ in range(5):  # more unknown kids within the interval: refused from the cache
        with pytest.raises(AuthError, match="key the project does not publish"):
            v.verify(ec_key(f"made-up-{_}").sign(user_claims(project.issuer)))
    assert project.requests == 2
    project.publish(ec_key(), stranger)
    ticks.now += 30
    assert v.verify(stranger.sign(user_claims(project.issuer)))
    assert project.requests == 3


def test_a_token_signed_by_another_key_under_a_published_kid_is_refused(
    project: JwksServer, ticks: FakeMonotonic
) -> None:
    impostor = SigningKey("ec-1", "ES256", ec_key("someone-else").private_key)
    with pytest.raises(AuthError, match="Signature verification failed"):
        verifier(project, ticks).verify(impostor.sign(user_claims(project.issuer)))


def test_key_rotation(project: JwksServer, ticks: FakeMonotonic) -> None:
    v = verifier(project, ticks, max_age=600, min_refetch_interval=30)
    old, new = ec_key(), rsa_key("rotated-in")
    old_token = old.sign(user_claims(project.issuer))
    v.verify(old_token)

    project.publish(old, new)  # the new key is published, then tokens start carrying its kid
    ticks.now += 31
    new_token = new.sign(user_claims(project.issuer))
    assert v.verify(new_token)["sub"] == user_claims(project.issuer)["sub"]
    assert v.verify(old_token)  # sessions signed before the rotation keep working
    assert project.requests == 2

    project.publish(new)  # the old key is revoked
    ticks.now += 600  # the cache expires
    with pytest.raises(AuthError, match="key the project does not publish"):
        v.verify(old_token)
    assert v.verify(new_token)
    assert project.requests == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"iss": "https://another-project.supabase.co/auth/v1"}, "not issued by this project"),
        ({"iss": "supabase"}, "not issued by this project"),  # only legacy API keys say that
        ({"aud": "anon"}, "audience"),
        ({"aud": None}, "audience"),
        ({"role": None}, "role"),
    ],
)
def test_wrong_issuer_audience_or_missing_role_is_refused(
    project: JwksServer, ticks: FakeMonotonic, change: dict[str, Any], message: str
) -> None:
    claims = {k: v for k, v in {**user_claims(project.issuer), **change}.items() if v is not None}
    for token in (
        ec_key().sign(claims),
        jwt.encode(claims, LEGACY, algorithm="HS256"),
    ):
        with pytest.raises(AuthError, match=message):
            verifier(project, ticks, legacy=LEGACY).verify(token)


def test_expiry_is_checked_against_the_injected_clock(project: JwksServer) -> None:
    claims = user_claims(project.issuer)
    token = ec_key().sign(claims)
    exp = datetime.fromtimestamp(claims["exp"], UTC)
    auth = AuthSettings(supabase_url=project.url)
    just_before = TokenVerifier.from_settings(auth, clock=lambda: exp - timedelta(seconds=1))
    assert just_before.verify(token)
    at_expiry = TokenVerifier.from_settings(auth, clock=lambda: exp)
    with pytest.raises(AuthError, match="expired"):
        at_expiry.verify(token)
    early = TokenVerifier.from_settings(auth, clock=lambda: exp - timedelta(hours=2))
    with pytest.raises(AuthError, match="not valid yet"):
        early.verify(ec_key().sign({**claims, "nbf": claims["iat"]}))


def test_auth_server_unreachable_is_unavailable_not_unauthorized(
    project: JwksServer, ticks: FakeMonotonic
) -> None:
    project.fail = True
    v = verifier(project, ticks, legacy=LEGACY)
    token = ec_key().sign(user_claims(project.issuer))
    with pytest.raises(SigningKeysUnavailableError, match="could not be fetched"):
        v.verify(token)
    with pytest.raises(SigningKeysUnavailableError):
        v.verify(token)
    assert project.requests == 1  # failures are rate-limited too
    legacy_user = jwt.encode(user_claims(project.issuer), LEGACY, algorithm="HS256")
    assert v.verify(legacy_user)  # the legacy secret needs no network

    project.fail = False
    ticks.now += 30
    assert v.verify(token)


def test_keys_already_known_stay_in_use_while_the_auth_server_is_down(
    project: JwksServer, ticks: FakeMonotonic
) -> None:
    v = verifier(project, ticks, max_age=600)
    token = ec_key().sign(user_claims(project.issuer))
    v.verify(token)
    project.fail = True
    ticks.now += 601
    assert v.verify(token)
    assert project.requests == 2


def test_only_asymmetric_signing_keys_are_taken_from_a_key_set() -> None:
    document = {
        "keys": [
            {"kty": "oct", "kid": "sym", "k": b64(b"shared"), "alg": "HS256"},
            {**ec_key().jwk, "use": "enc"},
            {**rsa_key().jwk, "kid": ""},
            {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "AA", "y": "AA"},
            ec_key().jwk,
            {k: v for k, v in rsa_key().jwk.items() if k != "alg"},  # alg inferred: RS256
        ]
    }
    keys = parse_jwks(document)
    assert {kid: key.algorithm_name for kid, key in keys.items()} == {
        "ec-1": "ES256",
        "rsa-1": "RS256",
    }
    assert parse_jwks({"keys": []}) == {}  # a project still on the legacy secret only
    with pytest.raises(ValueError, match="keys"):
        parse_jwks({"error": "nope"})
