"""The integrators' API keys: apps with accounts of their own (as X has) whose backend holds
a key and signs short-lived tokens for its users (as LiveKit's and Stream's do).

All keys live on one aggregate, the server's keyring: an operator makes a handful of them
by hand, so it stays small, every process can hold it in memory to look a key up by its id
(`kid`) without touching the database, and listing them reads one aggregate. Each act on a
key is an event (`KeyCreated`, `KeyRotated`, `KeyRevoked`) with who did it, so auditors see
it like every other act. No secret is stored: an event holds a random salt, from which the
server derives the secret with its own SPACES_SECRET, and the secret's SHA-256 fingerprint
(infrastructure/integrator_keys.py says why that is enough).

A key's NAME is the integrator: every key of one name speaks for the same users, so a
revoked key can be replaced without the integrator's users losing their accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain import text
from domain.copying import FlatCopy
from domain.errors import InvalidInput, NotFound, RuleBroken

KEYRING_ID = uuid5(NAMESPACE_URL, "https://spaces.invalid/keyring")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# What an integrator's tokens may say their users are. Never "internal": that is this
# server's own (the API calling its media nodes).
GRANTABLE_ROLES = ("user", "auditor", "operator")
LONGEST_OVERLAP = timedelta(days=30)


@dataclass(frozen=True)
class KeySecret:
    salt: str
    fingerprint: str  # SHA-256 of the secret, hex
    created_at: datetime
    valid_until: datetime | None = None  # None: until the key is rotated or revoked

    def live_at(self, now: datetime) -> bool:
        return self.valid_until is None or now < self.valid_until


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    roles: tuple[str, ...]
    created_at: datetime
    created_by: str
    secrets: tuple[KeySecret, ...]  # the newest first; at most two
    revoked_at: datetime | None = None

    def live_secrets(self, now: datetime) -> tuple[KeySecret, ...]:
        """The secrets a token signed now may use: none once revoked, two while a rotation's
        old secret is still within its overlap."""
        if self.revoked_at is not None:
            return ()
        return tuple(s for s in self.secrets if s.live_at(now))


class Keyring(FlatCopy, Aggregate):
    TOPIC = "spaces:Keyring"

    class Created(Aggregate.Created):  # never stored: see Space.Created
        TOPIC = "spaces:Keyring.Created"

    # defined by the @event decorators below, declared for type checkers
    KeyringStarted: ClassVar[type[Any]]
    KeyCreated: ClassVar[type[Any]]
    KeyRotated: ClassVar[type[Any]]
    KeyRevoked: ClassVar[type[Any]]

    @staticmethod
    def create_id() -> UUID:
        return KEYRING_ID

    @event("KeyringStarted", topic="spaces:KeyringStarted")  # stored with the first key
    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}

    def create_key(self, key_id: str, name: str, roles: list[str], salt: str, fingerprint: str,
                   by: str, at: datetime) -> None:
        if not NAME_PATTERN.match(name):
            raise InvalidInput("A key's name is 1 to 64 letters, digits, '_', '.' or '-', "
                               "starting with a letter or digit (the integrator's name).")
        if not roles or any(role not in GRANTABLE_ROLES for role in roles):
            raise InvalidInput(f"A key grants some of {', '.join(GRANTABLE_ROLES)}.")
        if key_id in self.keys:
            raise RuleBroken(f"There is a key {key_id} already.")
        self._key_created(key_id=key_id, name=name, roles=sorted(set(roles)), salt=salt,
                          fingerprint=fingerprint, by=by, at=at)

    @event("KeyCreated", topic="spaces:KeyCreated")
    def _key_created(self, key_id: str, name: str, roles: list[str], salt: str, fingerprint: str,
                     by: str, at: datetime) -> None:
        self.keys[key_id] = ApiKey(key_id, name, tuple(roles), at, by,
                                   (KeySecret(salt, fingerprint, at),))

    def rotate_key(self, key_id: str, salt: str, fingerprint: str, by: str, at: datetime,
                   old_valid_for: timedelta) -> None:
        """A new secret; the one it replaces stays valid for `old_valid_for`, so the
        integrator's backends can switch over while both work. Any older secret goes now."""
        self._live_key(key_id)
        if not timedelta(0) <= old_valid_for <= LONGEST_OVERLAP:
            raise InvalidInput(f"The old secret stays valid between 0 and "
                               f"{LONGEST_OVERLAP.days} days.")
        self._key_rotated(key_id=key_id, salt=salt, fingerprint=fingerprint, by=by, at=at,
                          old_valid_until=at + old_valid_for)

    @event("KeyRotated", topic="spaces:KeyRotated")
    def _key_rotated(self, key_id: str, salt: str, fingerprint: str, by: str, at: datetime,
                     old_valid_until: datetime) -> None:
        key = self.keys[key_id]
        old = replace(key.secrets[0], valid_until=old_valid_until)  # the newest never ends
        self.keys[key_id] = replace(key, secrets=(KeySecret(salt, fingerprint, at), old))

    def revoke_key(self, key_id: str, by: str, at: datetime, reason: str | None = None) -> None:
        """Every token signed with the key, with any of its secrets, stops working."""
        self._live_key(key_id)
        self._key_revoked(key_id=key_id, by=by, at=at, reason=text.reason(reason))

    @event("KeyRevoked", topic="spaces:KeyRevoked")
    def _key_revoked(self, key_id: str, by: str, at: datetime, reason: str | None) -> None:
        self.keys[key_id] = replace(self.keys[key_id], revoked_at=at)

    def _live_key(self, key_id: str) -> ApiKey:
        key = self.keys.get(key_id)
        if key is None:
            raise NotFound(f"There is no key {key_id}; `spaces keys list` shows them.")
        if key.revoked_at is not None:
            raise RuleBroken(f"The key {key_id} was revoked; create a new one.")
        return key
