"""The token format before JWTs: base64url(JSON claims) + "." + base64url(HMAC-SHA256 with
SPACES_SECRET), claims `sub`, `role`, `exp`. Only verified now, never issued, so every such
token in use expires within SPACES_TOKEN_TTL_DAYS of the upgrade; until then they keep
working, unless SPACES_LEGACY_TOKENS=false ends that sooner. Delete this module in the
first release after that window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from uuid import UUID

from infrastructure.tokens import OWN_ISSUER, ROLES, USER, BadToken, Grants, VerifiedToken


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LegacyTokens:
    def __init__(self, secret: str):
        self._key = secret.encode()

    def verify(self, token: str) -> VerifiedToken:
        body, _, signature = token.partition(".")
        if not signature or not hmac.compare_digest(
                signature.encode("utf-8", "replace"), self.sign(body).encode()):
            raise BadToken("The token's signature does not match; sign in again.")
        try:
            claims = json.loads(_unb64(body))
            subject, role, expires = str(claims["sub"]), str(claims["role"]), int(claims["exp"])
            if role == USER:
                subject = str(UUID(subject))  # an account id, or no user
        except (ValueError, KeyError, TypeError, OverflowError):
            raise BadToken("The token is malformed.") from None
        if role not in ROLES:
            raise BadToken("The token is malformed.")
        if expires < time.time():
            raise BadToken("The token has expired; sign in again.")
        return VerifiedToken(OWN_ISSUER, subject, Grants.of(role), valid_until=expires)

    def sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def mint(self, claims: dict[str, object]) -> str:
        """A token of the old format: for tests of the transition, never for clients."""
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{self.sign(body)}"
