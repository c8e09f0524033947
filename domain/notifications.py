"""What someone has read of their notifications: one aggregate per account.

Notifications themselves are a read model (projections/notifications.py), derived from
the events that cause them (a launch, an invitation), and each is named by the position
of that event in the store: stable, so it means the same notification after a rebuild.
Marking them read is a person's act, so it is an event here, and a rebuild of the
read model marks the same notifications read again.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.copying import FlatCopy
from domain.errors import InvalidInput

_NAMESPACE = uuid5(NAMESPACE_URL, "https://spaces.invalid/notifications/")
MAX_IDS = 100  # notifications marked read one by one in one request


def marks_id(account_id: UUID) -> UUID:
    return uuid5(_NAMESPACE, f"marks:{account_id}")


class NotificationMarks(FlatCopy, Aggregate):
    """How far `account_id` has read: every notification up to `read_up_to`, and any
    later ones they marked one by one."""

    TOPIC = "spaces:NotificationMarks"

    class Created(Aggregate.Created):  # never stored: see Space.Created
        TOPIC = "spaces:NotificationMarks.Created"

    # defined by the @event decorators below, declared for type checkers
    NotificationMarksCreated: ClassVar[type[Any]]
    NotificationsRead: ClassVar[type[Any]]

    @staticmethod
    def create_id(account_id: UUID) -> UUID:
        return marks_id(account_id)

    @event("NotificationMarksCreated", topic="spaces:NotificationMarksCreated")
    def __init__(self, account_id: UUID):
        self.account_id = account_id
        self.read_up_to = 0

    def mark_read(self, up_to: int | None, ids: list[int]) -> None:
        """Marks read every notification up to `up_to` (a notification's id), and those
        in `ids`. What is read already changes nothing."""
        if up_to is None and not ids:
            raise InvalidInput("Say what you have read: up_to, ids, or both.")
        if len(ids) > MAX_IDS:
            raise InvalidInput(f"Mark at most {MAX_IDS} notifications by id at once; "
                               "use up_to for more.")
        if any(i < 1 for i in ids) or (up_to is not None and up_to < 0):
            raise InvalidInput("Notification ids are positive numbers.")
        floor = max(self.read_up_to, up_to or 0)
        later = sorted({i for i in ids if i > floor})
        if floor > self.read_up_to or later:
            self._read(account_id=self.account_id, up_to=floor, ids=later)

    @event("NotificationsRead", topic="spaces:NotificationsRead")
    def _read(self, account_id: UUID, up_to: int, ids: list[int]) -> None:
        self.read_up_to = up_to
