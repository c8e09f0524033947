"""Signed bearer tokens: base64url(JSON claims) + "." + base64url(HMAC-SHA256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

USER, AUDITOR, INTERNAL = "user", "auditor", "internal"  # internal: the API calling a media node


class BadToken(Exception):
    pass


@dataclass(frozen=True)
class Caller:
    subject: str  # an account id for users, a name for auditors
    role: str

    @property
    def account_id(self) -> UUID | None:
        """The account of a user's token; None for auditors and internal callers."""
        return UUID(self.subject) if self.role == USER else None

    @property
    def is_auditor(self) -> bool:
        return self.role == AUDITOR


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: str, ttl_seconds: int):
        self._key = secret.encode()
        self._ttl = ttl_seconds

    def issue(self, subject: str, role: str = USER) -> str:
        claims = {"sub": subject, "role": role, "exp": int(time.time()) + self._ttl}
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str) -> Caller:
        body, _, signature = token.partition(".")
        if not signature or not hmac.compare_digest(
                signature.encode("utf-8", "replace"), self._sign(body).encode()):
            raise BadToken("The token's signature does not match; sign in again.")
        try:
            claims = json.loads(_unb64(body))
            caller = Caller(str(claims["sub"]), str(claims["role"]))
            expires = int(claims["exp"])
            if caller.role == USER:
                caller = Caller(str(UUID(caller.subject)), USER)  # an account id, or no user
        except (ValueError, KeyError, TypeError, OverflowError):
            raise BadToken("The token is malformed.") from None
        if expires < time.time():
            raise BadToken("The token has expired; sign in again.")
        return caller

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def load_or_create_secret(configured: str | None, data_dir: Path) -> str:
    """SPACES_SECRET wins; otherwise a secret generated once and kept in the data dir."""
    if configured:
        return configured
    path = data_dir / "secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret
