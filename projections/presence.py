"""Listener counts: not events (they change too often to be stored) but an input of the
views, written by the process that hears presence (the one carrying the audio). They live
in a table of their own, which rebuilding the projections leaves alone."""

from __future__ import annotations

from application.ports import Views

SCHEMA = ("CREATE TABLE IF NOT EXISTS listeners_present (space_id TEXT NOT NULL, "
          "node TEXT NOT NULL, listeners INTEGER NOT NULL, PRIMARY KEY (space_id, node))")
# For the Space queries: the listeners on every media node; none before anyone listened.
LISTENER_COUNT = ("COALESCE((SELECT SUM(p.listeners) FROM listeners_present p "
                  "WHERE p.space_id = s.id), 0) AS listener_count")


def create_table(views: Views) -> None:
    with views.transaction() as cursor:
        cursor.execute(SCHEMA)


class PresenceWriter:
    """The listeners of each Space on one media node (`node`)."""

    def __init__(self, views: Views, node: str):
        self.views, self.node = views, node

    def record(self, space_id: str, listeners: int) -> int:
        """Records this node's listeners of the Space; returns the Space's, on every node."""
        with self.views.transaction() as cursor:
            cursor.execute(
                "INSERT INTO listeners_present (space_id, node, listeners) VALUES (?, ?, ?) "
                "ON CONFLICT (space_id, node) DO UPDATE SET listeners = excluded.listeners",
                (space_id, self.node, listeners))
            cursor.execute("SELECT SUM(listeners) AS total FROM listeners_present "
                           "WHERE space_id = ?", (space_id,))
            row = cursor.fetchone()
        return int(row[0] if row else listeners)
