"""Operators' decisions about the read side, kept in the event store like every other act.

A projection that cannot apply an event stops there (the others go on). An operator who
decides the event is to be passed over by that projection records it here, with a reason:
auditors see who decided what, and every later rebuild passes over the same event.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain import text
from domain.errors import InvalidInput

_NAMESPACE = uuid5(NAMESPACE_URL, "https://spaces.invalid/operations/")


def skip_id(projection: str, position: int) -> UUID:
    return uuid5(_NAMESPACE, f"skip:{projection}:{position}")


class EventSkip(Aggregate):
    """The decision that one projection passes over the event at one position."""

    TOPIC = "spaces:EventSkip"

    class Created(Aggregate.Created):  # never stored: see Space.Created
        TOPIC = "spaces:EventSkip.Created"

    EventSkipped: ClassVar[type[Any]]  # defined by the @event below

    @staticmethod
    def create_id(projection: str, position: int, operator: str, reason: str) -> UUID:
        return skip_id(projection, position)

    @classmethod
    def decide(cls, projection: str, position: int, operator: str, reason: str) -> EventSkip:
        if position < 1:
            raise InvalidInput("Event store positions start at 1.")
        reason = text.visible(reason, "A reason", text.MAX_REASON_LENGTH)
        if not reason:
            raise InvalidInput("Say why the event is skipped (--reason).")
        return cls(projection, position, operator, reason)

    @event("EventSkipped", topic="spaces:EventSkipped")
    def __init__(self, projection: str, position: int, operator: str, reason: str):
        self.projection = projection
        self.position = position
        self.operator = operator
        self.reason = reason
