"""Listener counts: not events (they change too often to be stored) but an input of the
views, written by the process that hears presence (the one carrying the audio), together
with who is listening (roster.py). They live in tables of their own, which rebuilding the
projections leaves alone; they are cleared when the Space ends, and a node's when it
starts afresh or leaves the fleet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from application.ports import Views
from projections import roster

SCHEMA = ("CREATE TABLE IF NOT EXISTS listeners_present (space_id TEXT NOT NULL, "
          "node TEXT NOT NULL, listeners INTEGER NOT NULL, PRIMARY KEY (space_id, node))")
# For the Space queries: the listeners on every media node; none before anyone listened.
LISTENER_COUNT = ("COALESCE((SELECT SUM(p.listeners) FROM listeners_present p "
                  "WHERE p.space_id = s.id), 0) AS listener_count")
TABLES = ("listeners_present", "listeners_roster")


class PresenceWriter:
    """The listeners of each Space on one media node (`node`)."""

    def __init__(self, views: Views, node: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.views, self.node, self.clock = views, node, clock
        self._last_join = datetime.min.replace(tzinfo=timezone.utc)

    def record(self, space_id: str, listeners: int, change: str, session_id: str,
               user_id: str | None) -> int:
        """Records this node's listeners of the Space and who joined or left; returns the
        Space's listeners, on every node."""
        with self.views.transaction() as cursor:
            cursor.execute(
                "INSERT INTO listeners_present (space_id, node, listeners) VALUES (?, ?, ?) "
                "ON CONFLICT (space_id, node) DO UPDATE SET listeners = excluded.listeners",
                (space_id, self.node, listeners))
            if change == "joined":
                roster.joined(cursor, space_id, self.node, session_id, user_id, self._join_time())
            else:
                roster.left(cursor, space_id, self.node, session_id)
            cursor.execute("SELECT SUM(listeners) AS total FROM listeners_present "
                           "WHERE space_id = ?", (space_id,))
            row = cursor.fetchone()
        return int(row[0] if row else listeners)

    def start_afresh(self) -> None:
        """A node that starts carries nobody: what it recorded before it stopped is gone."""
        with self.views.transaction() as cursor:
            for table in TABLES:
                cursor.execute(f"DELETE FROM {table} WHERE node = ?", (self.node,))

    def _join_time(self) -> str:
        # Joins this node hears one after another are ordered so, even within a microsecond.
        self._last_join = max(self.clock(), self._last_join + timedelta(microseconds=1))
        return self._last_join.astimezone(timezone.utc).isoformat()


def forget_space(views: Views, space_id: str) -> None:
    """The Space has ended: nobody listens any more, on any node."""
    with views.transaction() as cursor:
        for table in TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE space_id = ?", (space_id,))


def forget_node(views: Views, space_id: str, node: str) -> None:
    """The node died or left the fleet: its listeners of the Space are not there any more."""
    with views.transaction() as cursor:
        for table in TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE space_id = ? AND node = ?", (space_id, node))
