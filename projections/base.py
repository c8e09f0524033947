"""What a projection is: tables, and one handler per event class it cares about."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, ClassVar
from uuid import UUID

from application.ports import Cursor

Handler = Callable[[Any, Any, int, Cursor], None]  # (self, event, position, cursor)


def handles(*events: type) -> Callable[[Handler], Handler]:
    """Marks a projection method as the handler of these event classes."""
    def mark(handler: Handler) -> Handler:
        handler.events = events  # type: ignore[attr-defined]
        return handler

    return mark


class Projection:
    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    schema: ClassVar[tuple[str, ...]]
    # After `schema`, on that database only (Views.dialect): what SQLite and PostgreSQL
    # spell differently, such as full-text search.
    dialect_schema: ClassVar[dict[str, tuple[str, ...]]] = {}
    handlers: ClassVar[dict[type, Handler]]

    def __init_subclass__(cls) -> None:
        cls.handlers = {
            event_class: handler
            for klass in reversed(cls.__mro__)  # a subclass keeps its bases' handlers
            for handler in vars(klass).values()
            for event_class in getattr(handler, "events", ())
        }

    def process(self, event: Any, position: int, cursor: Cursor) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(self, event, position, cursor)


def text(value: UUID | datetime | None) -> str | None:
    """How ids and times are stored in read models: hex-with-dashes UUIDs, ISO-8601 UTC times
    (one offset for all, so that times compare and sort as text)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        try:
            return value.astimezone(timezone.utc).isoformat()
        except OverflowError:  # beyond year 9999 in UTC: only events stored before validation
            end = datetime.max if value.year == datetime.max.year else datetime.min
            return end.replace(tzinfo=timezone.utc).isoformat()
    return str(value)
