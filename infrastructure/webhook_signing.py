"""Standard Webhooks (standardwebhooks.com) signatures: each message carries `webhook-id`,
`webhook-timestamp` (seconds since 1970) and `webhook-signature`, which is `v1,` and the
base64 HMAC-SHA256 of "id.timestamp.body" under the endpoint's secret. Secrets are written
`whsec_` and the base64 of their bytes, as the spec's libraries expect."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The bytes of a secret; ValueError unless it is `whsec_` and 24 to 64 bytes of base64."""
    if not secret.startswith(PREFIX):
        raise ValueError(f"A webhook secret starts with {PREFIX} (then base64).")
    try:
        key = base64.b64decode(secret[len(PREFIX):], validate=True)
    except binascii.Error:
        raise ValueError("A webhook secret is whsec_ and base64.") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("A webhook secret holds 24 to 64 bytes.")
    return key


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, message_id, timestamp, body),
            "content-type": "application/json"}


def verify(secret: str, message_headers: dict[str, str], body: bytes) -> bool:
    """What a receiver checks: one of the (space separated) v1 signatures matches."""
    expected = signature(secret, message_headers["webhook-id"],
                         int(message_headers["webhook-timestamp"]), body)
    return any(hmac.compare_digest(expected, given)
               for given in message_headers["webhook-signature"].split())
