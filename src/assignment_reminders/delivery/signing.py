"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Each request carries ``webhook-id`` (the delivery's idempotency key), ``webhook-timestamp`` (Unix
seconds of the attempt) and ``webhook-signature: v1,<base64 HMAC-SHA256>`` computed over
``<id>.<timestamp>.<raw body>`` with the key inside a ``whsec_<base64>`` secret, so receivers
verify with any Standard Webhooks library (and Supabase's own hooks use the same scheme).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from ..config import SECRET_PREFIX

ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
)


def new_secret() -> str:
    """A fresh random ``whsec_`` secret (32 bytes of key)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signed_headers(key: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(key, msg_id, timestamp, body),
    }
