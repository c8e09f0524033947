"""The integrators' API keys at work: their secrets (`KeySecrets`) and verifying the tokens
they sign (`KeyIndex`, the keyring held in memory; domain/keyring.py holds the rules).

**Why no secret is stored.** An HS256 signature can only be checked with the secret that
made it, so the server must have the secret at hand, and a hash of it would not do. Each
secret is therefore *derived*: HMAC-SHA256 of the key id and a random salt, under a key
derived from SPACES_SECRET. The event store (and Kafka, which carries every event) holds
only the salt and the secret's SHA-256 fingerprint: whoever reads them, without
SPACES_SECRET, cannot sign a token. A plain SHA-256 is enough for the fingerprint because the
secret is 256 random bits, past any guessing (slow hashes are for passwords people choose).
The fingerprint tells the operator which secret is which, and tells the server when its
SPACES_SECRET is not the one the key was made with. Changing SPACES_SECRET voids every key.

A token signed with a key: header `alg` HS256 (nothing else), `kid` the key id; claims
`iss` the key id, `aud` SPACES_TOKEN_AUDIENCE, `sub` the integrator's id of its user, `exp`,
`iat`, `jti`, optional `nbf`, `preferred_username` (the handle on first use), `grants`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import jwt

from domain.keyring import GRANTABLE_ROLES, KEYRING_ID, ApiKey, Keyring
from infrastructure.jwt_tokens import decode, span
from infrastructure.tokens import (
    INTEGRATOR_PREFIX,
    USER,
    BadSignature,
    BadToken,
    Grants,
    VerifiedToken,
    read_grants,
)

log = logging.getLogger(__name__)
ALGORITHM = "HS256"
DEFAULT_GRANTS = Grants.of(USER)


def integrator(name: str) -> str:
    """The issuer a key's users are known under: its name, the same for every key of it."""
    return INTEGRATOR_PREFIX + name


@dataclass(frozen=True)
class NewSecret:
    salt: str
    secret: str
    fingerprint: str


class KeySecrets:
    def __init__(self, server_secret: str):
        self._master = hmac.new(server_secret.encode(), b"spaces integrator keys",
                                hashlib.sha256).digest()

    @staticmethod
    def new_key_id() -> str:
        return "key_" + secrets.token_hex(8)

    def new(self, key_id: str) -> NewSecret:
        salt = secrets.token_urlsafe(16)
        secret = self.secret_of(key_id, salt)
        return NewSecret(salt, secret, fingerprint(secret))

    def secret_of(self, key_id: str, salt: str) -> str:
        digest = hmac.new(self._master, f"{key_id}:{salt}".encode(), hashlib.sha256).digest()
        return "sk_" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class _Held:
    key: ApiKey
    secrets: dict[str, bytes]  # salt -> the secret, for the salts whose fingerprint matched


class KeyIndex:
    """The keyring by key id, in memory: looked up on every token without the database. It
    is loaded again whenever the keyring's events are stored, here (`follow` on the
    application's saves) or by another process (`follow` on the store feed, within the
    feed's poll interval: a key created or revoked by `spaces keys` counts within a second)."""

    def __init__(self, load: Callable[[], Keyring | None], key_secrets: KeySecrets, *,
                 audience: str, leeway: float, longest: float,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self._load, self._secrets, self._clock = load, key_secrets, clock
        self.audience, self.leeway, self.longest = audience, leeway, longest
        self._lock = threading.Lock()
        self._version = 0
        self._keys: dict[str, _Held] = {}
        self.reload()

    @property
    def version(self) -> int:
        """The keyring's version held: any change of a key changes it."""
        return self._version

    def __contains__(self, key_id: str) -> bool:
        return key_id in self._keys

    def follow(self, notifications: Iterable[Any]) -> None:
        if any(n.originator_id == KEYRING_ID and n.originator_version > self._version
               for n in notifications):
            self.reload()

    def reload(self) -> None:
        with self._lock:
            keyring = self._load()
            if keyring is None or keyring.version <= self._version:
                return
            self._keys = {key_id: self._held(key) for key_id, key in keyring.keys.items()}
            self._version = keyring.version

    def _held(self, key: ApiKey) -> _Held:
        derived: dict[str, bytes] = {}
        for kept in key.secrets:
            secret = self._secrets.secret_of(key.key_id, kept.salt)
            if fingerprint(secret) == kept.fingerprint:
                derived[kept.salt] = secret.encode()
            else:
                log.error("The key %s (%s) was made with another SPACES_SECRET: its tokens are "
                          "refused. Create a new key.", key.key_id, key.name)
        return _Held(key, derived)

    def verify(self, token: str, header: dict[str, Any], fetch: bool = False) -> VerifiedToken:
        held = self._keys[header["kid"]]
        key = held.key
        if key.revoked_at is not None:
            raise BadToken(f"The key {key.key_id} was revoked.")
        live = [s for s in key.live_secrets(self._clock()) if s.salt in held.secrets]
        if not live:
            raise BadToken(f"The key {key.key_id} has no live secret.")
        for tried, kept in enumerate(live, 1):  # the newest first; two while a rotation's old one lasts
            try:
                claims = decode(token, held.secrets[kept.salt], ALGORITHM, issuer=key.key_id,
                                audience=self.audience, leeway=self.leeway, longest=self.longest)
                break
            except BadSignature:
                if tried == len(live):
                    self._say_if_rotated_away(token, key, held, live)
                    raise
        grants = read_grants(claims.get("grants"), set(key.roles) & set(GRANTABLE_ROLES),
                             default=DEFAULT_GRANTS)
        handle = claims.get("preferred_username")
        valid_from, valid_until = span(claims, self.leeway)
        if kept.valid_until is not None:  # an old secret: good only until its overlap ends
            valid_until = min(valid_until, kept.valid_until.timestamp())
        return VerifiedToken(integrator(key.name), str(claims["sub"]), grants,
                             handle if isinstance(handle, str) else None, valid_from, valid_until)

    def _say_if_rotated_away(self, token: str, key: ApiKey, held: _Held, live: list[Any]) -> None:
        """A token signed with a secret whose overlap has ended: say so, rather than that
        the signature does not match."""
        for ended in key.secrets:
            if ended not in live and ended.salt in held.secrets and ended.valid_until:
                try:
                    jwt.decode(token, held.secrets[ended.salt], algorithms=[ALGORITHM],
                               options={"verify_exp": False, "verify_aud": False,
                                        "verify_iat": False, "verify_nbf": False})
                except jwt.PyJWTError:
                    continue
                raise BadToken(f"The token is signed with the old secret of the key {key.key_id}, "
                               f"which stopped working at {ended.valid_until:%Y-%m-%d %H:%M} UTC "
                               "(the key was rotated); sign with the new secret.")
