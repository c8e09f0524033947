"""Reminders: someone asks to be told when an upcoming Space goes live.

One aggregate per (Space, person), like a follow edge, rather than a set on the Space:
a celebrity's scheduled Space can gather a million reminders, and the Space aggregate,
which every host command loads and saves, would carry them all and lose every race with
them on its version. The id derives from the pair, so the application finds a reminder
without an index and two racing PUTs of one pair collide in the event store.

Whether the Space is upcoming, and whether the person may take part in it, are facts of
the Space aggregate (`Space.check_can_be_reminded`); the application asks it first.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.copying import FlatCopy

_NAMESPACE = uuid5(NAMESPACE_URL, "https://spaces.invalid/reminders/")


def reminder_id(space_id: UUID, user_id: UUID) -> UUID:
    return uuid5(_NAMESPACE, f"reminder:{space_id}:{user_id}")


class Reminder(FlatCopy, Aggregate):
    """Whether `user_id` wants to hear when the Space `space_id` goes live. Setting it
    twice, or clearing it twice, changes nothing the second time."""

    TOPIC = "spaces:Reminder"

    class Created(Aggregate.Created):  # never stored: see Space.Created
        TOPIC = "spaces:Reminder.Created"

    # defined by the @event decorators below, declared for type checkers
    ReminderCreated: ClassVar[type[Any]]
    ReminderSet: ClassVar[type[Any]]
    ReminderCleared: ClassVar[type[Any]]

    @staticmethod
    def create_id(space_id: UUID, user_id: UUID) -> UUID:
        return reminder_id(space_id, user_id)

    @event("ReminderCreated", topic="spaces:ReminderCreated")
    def __init__(self, space_id: UUID, user_id: UUID):
        self.space_id = space_id
        self.user_id = user_id
        self.active = False

    def set(self) -> None:
        if not self.active:
            self._set(space_id=self.space_id, user_id=self.user_id)

    @event("ReminderSet", topic="spaces:ReminderSet")
    def _set(self, space_id: UUID, user_id: UUID) -> None:
        self.active = True

    def clear(self) -> None:
        if self.active:
            self._cleared(space_id=self.space_id, user_id=self.user_id)

    @event("ReminderCleared", topic="spaces:ReminderCleared")
    def _cleared(self, space_id: UUID, user_id: UUID) -> None:
        self.active = False
