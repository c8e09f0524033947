"""Feeds the projections from the event store's notification log, in order.

Each batch runs in one read-model transaction that reads every projection's
position, applies the events past it and writes the new positions, so a batch
that fails or is repeated changes nothing twice. The embedded default runs this
in a thread that the application wakes after every save; it also polls, so
events written by another process (a CLI command) arrive too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from application.background import WokenLoop
from projections import presence, roster, signals
from projections.accounts import AccountsProjection
from projections.analytics import AnalyticsProjection
from projections.base import Projection
from projections.faults import FAULTS_SCHEMA, Faults
from projections.feed import FeedProjection
from projections.inbox import InboxProjection
from projections.moderation import ModerationProjection
from projections.notifications import NotificationsProjection
from projections.reminders import RemindersProjection
from projections.search import SearchProjection
from projections.spaces import SpacesProjection

if TYPE_CHECKING:
    from application.ports import Views
    from application.spaces import SpacesApplication

POSITIONS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS projection_positions "
    "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
)


def all_projections() -> list[Projection]:
    return [
        AccountsProjection(), SpacesProjection(), FeedProjection(),
        InboxProjection(), ModerationProjection(), RemindersProjection(),
        NotificationsProjection(), AnalyticsProjection(), SearchProjection(),
    ]


class ProjectionRunner(WokenLoop):
    def __init__(
        self, app: SpacesApplication, views: Views, projections: Sequence[Projection] | None = None,
        batch_size: int = 500, poll_interval: float = 0.5,
    ):
        super().__init__(app, "projections", poll_interval)
        self.views = views
        self.projections = list(projections or all_projections())
        self.batch_size = batch_size
        self.faults = Faults(app, views)
        self.progress_listeners: list[Callable[[int], None]] = []  # told after every batch
        self._caught_up = threading.Condition()
        self._position = 0
        self._create_tables()

    # -- running ---------------------------------------------------------------------------

    def step(self) -> None:
        self._catch_up(fed=True)

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Processes every event recorded so far; returns how many it processed."""
        return self._catch_up(progress)

    def _catch_up(self, progress: Callable[[int], None] | None = None, fed: bool = False) -> int:
        processed = 0
        while True:
            batch = self._process_batch(fed)
            processed += len(batch)
            if progress and batch:
                progress(processed)
            if self.tail.exhausted(batch, self.batch_size):
                return processed

    def _process_batch(self, fed: bool) -> list[Any]:
        try:
            with self.faults.kept_unless_committed():
                notifications, position = self._apply_batch(fed, careful=False)
        except Exception:
            # Again, event by event: a projection whose handler raises stops there.
            with self.faults.kept_unless_committed():
                notifications, position = self._apply_batch(False, careful=True)
        with self._caught_up:
            self._position = max(self._position, position)
            self._caught_up.notify_all()
        for listener in self.progress_listeners:
            listener(self._position)
        return notifications

    def _apply_batch(self, fed: bool, careful: bool) -> tuple[list[Any], int]:
        """The batch applied, and the position the running projections reached."""
        running = self.faults.running(self.projections)
        if not running:
            return [], self._position
        with self.views.transaction() as cursor:
            self.views.serialize(cursor, "projection-runner")
            cursor.execute("SELECT name, position FROM projection_positions")
            positions = {row[0]: row[1] for row in cursor.fetchall()}
            start = min(positions.get(p.name, 0) for p in running)
            notifications = self.tail.after(start, self.batch_size, fed)
            reached = {p.name: positions.get(p.name, 0) for p in running}
            for notification in notifications:
                event = self.app.event_of(notification)
                for projection in running:
                    if reached[projection.name] >= notification.id:
                        continue
                    if not careful:
                        projection.process(event, notification.id, cursor)
                    elif projection.name in self.faults.stopped or not self.faults.apply(
                            projection, event, notification.id, cursor):
                        continue
                    reached[projection.name] = notification.id
                self.faults.resume_on(event, cursor)
            if notifications:
                cursor.executemany(
                    "INSERT INTO projection_positions (name, position) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                    list(reached.items()),
                )
        return notifications, notifications[-1].id if notifications else start

    # -- read-your-writes ------------------------------------------------------------------

    def wait_for(self, position: int, timeout: float) -> bool:
        """Blocks until the views include `position`; False if `timeout` passed first."""
        self.wake()
        with self._caught_up:
            return self._caught_up.wait_for(lambda: self._position >= position, timeout)

    def position(self) -> int:
        return views_position(self.views)

    def caught_up_to(self) -> int:
        """What this runner has applied, without asking the database."""
        return self._position

    # -- rebuilding ------------------------------------------------------------------------

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Drops every view and replays the whole event store into it. Other writers of
        the views (Kafka projection workers) wait until it is done; afterwards they skip
        what the rebuild covered, because `projection_positions` says how far it got."""
        with self.views.exclusive():
            with self.views.transaction() as cursor:
                for projection in self.projections:
                    for table in projection.tables:
                        cursor.execute(f"DROP TABLE IF EXISTS {table}")
                    cursor.execute(
                        "DELETE FROM projection_positions WHERE name = ?", (projection.name,)
                    )
            self._create_tables()
            self._position = 0
            done = self.catch_up(progress)
            if self.views.dialect == "postgresql":  # plans need statistics of the new tables
                with self.views.transaction() as cursor:
                    for projection in self.projections:
                        for table in projection.tables:
                            cursor.execute(f"ANALYZE {table}")
            return done

    def _create_tables(self) -> None:
        with self.views.transaction() as cursor:
            cursor.execute(POSITIONS_SCHEMA)
            cursor.execute(FAULTS_SCHEMA)
            # inputs of the views that rebuilds leave alone
            for statement in (presence.SCHEMA, *roster.SCHEMA):
                cursor.execute(statement)
            for statement in signals.SCHEMA:
                cursor.execute(statement)
            for projection in self.projections:
                for statement in (*projection.schema,
                                  *projection.dialect_schema.get(self.views.dialect, ())):
                    cursor.execute(statement)
            self.faults.forget(cursor, self.projections)


def views_position(views: Views) -> int:
    """Every projection still running has applied the events up to here."""
    row = views.row("SELECT MIN(position) AS position FROM projection_positions WHERE name "
                    "NOT IN (SELECT name FROM projection_faults)")
    return (row or {}).get("position") or 0


class PolledProgress:
    """How far the views are when a runner in another process (`spaces project`) feeds them."""

    def __init__(self, views: Views):
        self.views = views

    def position(self) -> int:
        return views_position(self.views)

    def wait_for(self, position: int, timeout: float) -> bool:
        return poll_until(lambda: views_position(self.views) >= position, timeout)


def poll_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Asks `condition` again and again, from 1 ms apart up to 20 ms apart, until it holds
    (True) or `timeout` seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
    return True
