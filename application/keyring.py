"""The commands on the integrators' keyring (domain/keyring.py): create, rotate and revoke a
key, each an event with who did it. Making secrets is not the application's business: the
caller (the `spaces keys` command line) hands in each secret's salt and fingerprint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from application.command_application import CommandApplication
from application.commands import command
from domain.keyring import KEYRING_ID, Keyring


class KeyringCommands(CommandApplication):
    clock: Callable[[], datetime]  # SpacesApplication's

    @command
    def create_key(self, key_id: str, name: str, roles: list[str], salt: str, fingerprint: str,
                   by: str) -> None:
        found = self._find(KEYRING_ID)
        keyring = found if isinstance(found, Keyring) else Keyring()
        keyring.create_key(key_id, name, roles, salt, fingerprint, by, self.clock())
        self._save(KEYRING_ID, keyring)

    @command
    def rotate_key(self, key_id: str, salt: str, fingerprint: str, by: str,
                   old_valid_for: timedelta) -> None:
        keyring = self.keyring()
        keyring.rotate_key(key_id, salt, fingerprint, by, self.clock(), old_valid_for)
        self._save(KEYRING_ID, keyring)

    @command
    def revoke_key(self, key_id: str, by: str, reason: str | None = None) -> None:
        keyring = self.keyring()
        keyring.revoke_key(key_id, by, self.clock(), reason)
        self._save(KEYRING_ID, keyring)

    def keyring(self) -> Keyring:
        """The keyring as the store has it (an empty one before the first key)."""
        found = self._find(KEYRING_ID)
        return found if isinstance(found, Keyring) else Keyring()

    def keyring_history(self) -> Iterator[Any]:
        """Every event of the keyring, in order (auditors'; from the store, never a view)."""
        return iter(self.repository.event_store.get(KEYRING_ID))

    def stored_keyring(self) -> Keyring | None:
        """Read from the store itself, bypassing the cache: for the index of keys, which
        is told of a change before the saving command has put it in the cache."""
        try:
            found: object = self.repository.get(KEYRING_ID)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Keyring) else None
