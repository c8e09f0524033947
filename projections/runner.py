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

from eventsourcing.utils import resolve_topic

from application.background import WokenLoop
from application.log_tail import LogTail
from domain.operations import EventSkip
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

REBUILD_BATCH = 5_000  # events per transaction while rebuilding
UPSERT_POSITIONS = ("INSERT INTO projection_positions (name, position) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET position = excluded.position")
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
    app: SpacesApplication

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
        self.serial = "projection-runner"  # runners of one name take turns
        self._caught_up = threading.Condition()
        self._position = 0
        self._create_tables()

    # -- running ---------------------------------------------------------------------------

    def step(self) -> None:
        self._catch_up(fed=True)

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Processes every event recorded so far (telling `progress` the position after
        each batch); returns how many it processed."""
        return self._catch_up(progress)

    def _catch_up(self, progress: Callable[[int], None] | None = None, fed: bool = False) -> int:
        processed = 0
        while True:
            batch = self._process_batch(fed)
            processed += len(batch)
            if progress and batch:
                progress(self._position)
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
            self.views.serialize(cursor, self.serial)
            cursor.execute("SELECT name, position FROM projection_positions")
            positions = {row[0]: row[1] for row in cursor.fetchall()}
            start = min(positions.get(p.name, 0) for p in running)
            notifications = self.tail.after(start, self.batch_size, fed)
            reached = {p.name: positions.get(p.name, 0) for p in running}
            if careful:
                self._apply_carefully(notifications, running, reached, cursor)
            elif notifications:
                apply_in_runs(self.app.event_of, notifications, running, cursor, reached,
                              lambda event: self.faults.resume_on(event, cursor))
                reached.update((p.name, max(reached[p.name], notifications[-1].id)) for p in running)
            if notifications:
                cursor.executemany(UPSERT_POSITIONS, list(reached.items()))
        return notifications, notifications[-1].id if notifications else start

    def _apply_carefully(self, notifications: list[Any], running: list[Projection],
                         reached: dict[str, int], cursor: Any) -> None:
        """Event by event: a projection whose handler raises stops there."""
        for notification in notifications:
            event = self.app.event_of(notification)
            for projection in running:
                if reached[projection.name] >= notification.id:
                    continue
                if projection.name in self.faults.stopped or not self.faults.apply(
                        projection, event, notification.id, cursor):
                    continue
                reached[projection.name] = notification.id
            self.faults.resume_on(event, cursor)

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
        """Replays the whole event store into new views; returns the position it replayed
        it up to (the last event a projection takes). On PostgreSQL the new views are
        written beside the live ones, which readers and other writers go on using, and
        swapped in at the end in one transaction, after the events stored meanwhile (other
        writers wait for that last part only); only the events projections take are read.
        Elsewhere the views are dropped and replayed in place, with other writers waiting.
        Afterwards those writers skip what the rebuild covered, because
        `projection_positions` says how far it got."""
        if not self.views.builds_beside:
            return self._rebuild_in_place(progress)
        builder = ProjectionRunner(self.app, self.views, self.projections, REBUILD_BATCH)
        builder.serial = "projection-rebuild"  # it writes other tables than the running ones
        # events no projection takes (half of them: a follow's edge, a handle's claim) stay
        # unread; those after the last one taken, the running projections pass over next
        builder.tail = LogTail(self.app.recorder, topics=taken_topics(self.projections))
        with self.views.beside():
            with self.views.transaction() as cursor:
                builder._create_views(cursor)
                self.views.write_live(cursor, self._kept())
            builder.catch_up(progress)
            self._analyze()  # plans need statistics of the new tables
            with self.views.exclusive():
                builder.catch_up(progress)
                with self.views.transaction() as cursor:
                    cursor.execute("SELECT name, position FROM projection_positions")
                    reached = cursor.fetchall()
                    self.views.swap_in(cursor, self._rebuilt())
                    cursor.executemany(UPSERT_POSITIONS, reached)
        return builder.caught_up_to()

    def _rebuild_in_place(self, progress: Callable[[int], None] | None) -> int:
        with self.views.exclusive():
            with self.views.transaction() as cursor:
                for table in self._rebuilt():
                    cursor.execute(f"DROP TABLE IF EXISTS {table}")
                for projection in self.projections:
                    cursor.execute(
                        "DELETE FROM projection_positions WHERE name = ?", (projection.name,)
                    )
            self._create_tables()
            self._position = 0
            self.catch_up(progress)
            return self._position

    def _rebuilt(self) -> list[str]:
        return [t for p in self.projections for t in p.tables if t not in p.kept]

    def _kept(self) -> list[str]:
        return [t for p in self.projections for t in p.kept]

    def _analyze(self) -> None:
        with self.views.transaction() as cursor:
            for projection in self.projections:
                for table in projection.tables:
                    cursor.execute(f"ANALYZE {table}")

    def _create_tables(self) -> None:
        with self.views.transaction() as cursor:
            cursor.execute(FAULTS_SCHEMA)
            # inputs of the views that rebuilds leave alone
            for statement in (presence.SCHEMA, *roster.SCHEMA):
                cursor.execute(statement)
            for statement in signals.SCHEMA:
                cursor.execute(statement)
            self._create_views(cursor)
            self.faults.forget(cursor, self.projections)

    def _create_views(self, cursor: Any) -> None:
        cursor.execute(POSITIONS_SCHEMA)
        for projection in self.projections:
            for statement in (*projection.schema,
                              *projection.dialect_schema.get(self.views.dialect, ())):
                cursor.execute(statement)


def taken_topics(projections: Sequence[Projection]) -> list[str]:
    """The topics of the events these projections take, and of an operator's skip."""
    kinds = {EventSkip.EventSkipped, *(kind for p in projections
                                       for kind in (*p.handlers, *p.bulk_handlers))}
    return sorted(kind.TOPIC for kind in kinds)  # type: ignore[attr-defined]


def apply_in_runs(decode: Callable[[Any], Any], notifications: Sequence[Any],
                  running: list[Projection], cursor: Any, reached: dict[str, int] | None = None,
                  on_event: Callable[[Any], None] | None = None) -> None:
    """Every event to every running projection (not past it, when `reached` says how far
    each is). Events of one class in a row go to each projection as one run (in bulk where
    it takes them so); events no running projection takes are not even decoded, except an
    operator's skip, which `on_event` (told of each) may be waiting for."""
    run: list[tuple[Any, int]] = []
    taken: dict[type, bool] = {EventSkip.EventSkipped: True}

    def hand_over() -> None:
        if not run:
            return
        for projection in running:
            due = run
            if reached is not None and reached[projection.name] >= run[0][1]:
                due = [(e, n) for e, n in run if n > reached[projection.name]]
            if due:
                projection.process_run(due, cursor)
        run.clear()

    for notification in notifications:
        kind = resolve_topic(notification.topic)
        if kind not in taken:
            taken[kind] = any(p.takes(kind) for p in running)
        if not taken[kind]:
            continue
        if run and type(run[0][0]) is not kind:
            hand_over()
        event = decode(notification)
        run.append((event, notification.id))
        if on_event is not None and kind is EventSkip.EventSkipped:
            on_event(event)
    hand_over()


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
