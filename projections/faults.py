"""A projection that cannot apply an event stops there, loudly; the others go on.

Batches are applied in one transaction as usual. Only when a batch fails is it applied
again event by event, each projection's change in a savepoint of its own: the projection
whose handler raised is stopped at the event before (recorded in `projection_faults`, so
/healthz and /metrics of every process can tell), and takes no more events. The views'
position, which `?after=` reads wait for, is then the lowest of the projections still
running.

An operator's decision to pass the event over (`spaces views skip`, an `EventSkip` in the
event store) lets the projection go on; every rebuild honours the same decisions. A
restarted runner tries a stopped projection again, so a fixed handler needs no decision.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError

from domain.operations import EventSkip, skip_id
from projections.base import Projection

if TYPE_CHECKING:
    from application.ports import Cursor, Views
    from application.spaces import SpacesApplication

log = logging.getLogger(__name__)
FAULTS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS projection_faults (name TEXT PRIMARY KEY, "
    "position BIGINT NOT NULL, error TEXT NOT NULL)"
)


@dataclass(frozen=True)
class Fault:
    projection: str
    position: int  # the event it could not apply
    error: str


class Faults:
    def __init__(self, app: SpacesApplication, views: Views):
        self.app = app
        self.views = views
        self.stopped: dict[str, Fault] = {}

    def forget(self, cursor: Cursor, projections: list[Projection]) -> None:
        """A (re)started runner tries its stopped projections again."""
        cursor.executemany("DELETE FROM projection_faults WHERE name = ?",
                           [(p.name,) for p in projections])
        self.stopped.clear()

    @contextmanager
    def kept_unless_committed(self) -> Iterator[None]:
        """What a batch's transaction decided holds only if it commits."""
        before = dict(self.stopped)
        try:
            yield
        except BaseException:
            self.stopped = before
            raise

    def reconcile(self, cursor: Cursor) -> None:
        """A projection whose fault a rebuild has cleared (in any process) runs again."""
        if self.stopped:
            cursor.execute("SELECT name FROM projection_faults")
            recorded = {row[0] for row in cursor.fetchall()}
            self.stopped = {n: f for n, f in self.stopped.items() if n in recorded}

    def running(self, projections: list[Projection]) -> list[Projection]:
        return [p for p in projections if p.name not in self.stopped]

    def apply(self, projection: Projection, event: Any, position: int, cursor: Cursor) -> bool:
        """Applies one event in a savepoint: True if applied (or passed over by an operator's
        decision), False if the projection stopped here."""
        try:
            with self.views.savepoint(cursor):
                projection.process(event, position, cursor)
            return True
        except Exception as error:
            if self.skipped(projection.name, position):
                return True
            fault = Fault(projection.name, position, f"{type(error).__name__}: {error}")
            self.stopped[projection.name] = fault
            cursor.execute(
                "INSERT INTO projection_faults (name, position, error) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
                "error = excluded.error", (fault.projection, fault.position, fault.error))
            log.exception("projection %s stopped at position %d; the others go on "
                          "(spaces views skip %d --projection %s --reason ... passes it over)",
                          projection.name, position, position, projection.name)
            return False

    def skipped(self, projection: str, position: int) -> bool:
        try:
            self.app.repository.get(skip_id(projection, position))
            return True
        except AggregateNotFoundError:
            return False

    def resume_on(self, event: Any, cursor: Cursor) -> None:
        """An operator's decision reached the runner: the stopped projection starts again
        from the event it could not apply, and passes over it."""
        if isinstance(event, EventSkip.EventSkipped):
            fault = self.stopped.get(event.projection)
            if fault is not None and fault.position == event.position:
                del self.stopped[event.projection]
                cursor.execute("DELETE FROM projection_faults WHERE name = ?", (event.projection,))


def stopped_projections(views: Views) -> list[dict[str, Any]]:
    """Every projection stopped at an event, in any process: name, position, error."""
    return views.rows("SELECT name AS projection, position, error FROM projection_faults "
                      "ORDER BY name")
