"""What a projection is: tables, and one handler per event class it cares about."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, ClassVar
from uuid import UUID

from application.ports import Cursor

Handler = Callable[[Any, Any, int, Cursor], None]  # (self, event, position, cursor)
# (self, [(event, position), ...] of one event class, in order, cursor)
BulkHandler = Callable[[Any, list[tuple[Any, int]], Cursor], None]
PARAMETERS_PER_INSERT = 50  # psycopg keeps how it parsed statements of up to 50 parameters


def handles(*events: type) -> Callable[[Handler], Handler]:
    """Marks a projection method as the handler of these event classes."""
    def mark(handler: Handler) -> Handler:
        handler.events = events  # type: ignore[attr-defined]
        return handler

    return mark


def handles_in_bulk(*events: type) -> Callable[[BulkHandler], BulkHandler]:
    """Marks a projection method as taking a run of these events at once (a rebuild or a
    worker behind replays thousands of follows in a row); one statement for many rows."""
    def mark(handler: BulkHandler) -> BulkHandler:
        handler.bulk_events = events  # type: ignore[attr-defined]
        return handler

    return mark


def insert_rows(cursor: Cursor, into: str, rows: list[tuple[Any, ...]], then: str = "") -> None:
    """`INSERT INTO {into} VALUES (...), (...) {then}`, as many rows to a statement as
    make 50 parameters (statements of full chunks are all the same: planned once)."""
    per_statement = max(1, PARAMETERS_PER_INSERT // len(rows[0])) if rows else 1
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        one = "(" + ", ".join("?" * len(chunk[0])) + ")"
        cursor.execute(f"INSERT INTO {into} VALUES {', '.join([one] * len(chunk))} {then}",
                       [value for row in chunk for value in row])


class Projection:
    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    # Of `tables`, those a rebuild leaves as they are: what was delivered from them (the
    # notifier's rows and its progress) is history, not a function of the events alone.
    kept: ClassVar[tuple[str, ...]] = ()
    schema: ClassVar[tuple[str, ...]]
    # After `schema`, on that database only (Views.dialect): what SQLite and PostgreSQL
    # spell differently, such as full-text search.
    dialect_schema: ClassVar[dict[str, tuple[str, ...]]] = {}
    handlers: ClassVar[dict[type, Handler]]
    bulk_handlers: ClassVar[dict[type, BulkHandler]]

    def __init_subclass__(cls) -> None:
        methods = [handler for klass in reversed(cls.__mro__)  # a subclass keeps its bases'
                   for handler in vars(klass).values()]
        cls.handlers = {event_class: handler for handler in methods
                        for event_class in getattr(handler, "events", ())}
        cls.bulk_handlers = {event_class: handler for handler in methods
                             for event_class in getattr(handler, "bulk_events", ())}

    def process(self, event: Any, position: int, cursor: Cursor) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(self, event, position, cursor)

    def process_run(self, events: list[tuple[Any, int]], cursor: Cursor) -> None:
        """Events of one class, in order: at once if the projection takes them in bulk."""
        bulk = self.bulk_handlers.get(type(events[0][0]))
        if bulk is not None:
            bulk(self, events, cursor)
            return
        for event, position in events:
            self.process(event, position, cursor)

    @classmethod
    def takes(cls, event_class: type) -> bool:
        return event_class in cls.handlers or event_class in cls.bulk_handlers


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
