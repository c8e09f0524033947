"""What a projection is: tables, and one handler per event topic it cares about."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, ClassVar
from uuid import UUID

Handler = Callable[[Any, Any, int, Any], None]  # (self, event, position, cursor)


def handles(*topics: str) -> Callable[[Handler], Handler]:
    def mark(handler: Handler) -> Handler:
        handler.topics = topics  # type: ignore[attr-defined]
        return handler

    return mark


class Projection:
    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    schema: ClassVar[tuple[str, ...]]
    handlers: ClassVar[dict[str, Handler]]

    def __init_subclass__(cls) -> None:
        cls.handlers = {
            topic: handler
            for handler in cls.__dict__.values()
            for topic in getattr(handler, "topics", ())
        }

    def process(self, event: Any, position: int, cursor: Any) -> None:
        handler = self.handlers.get(type(event).TOPIC)
        if handler is not None:
            handler(self, event, position, cursor)


def text(value: UUID | datetime | None) -> str | None:
    """How ids and times are stored in read models: hex-with-dashes UUIDs, ISO-8601 UTC times
    (one offset for all, so that times compare and sort as text)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return str(value)
