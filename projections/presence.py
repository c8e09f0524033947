"""Listener counts: not events (they change too often to be stored) but an input of the
views, written by the process that hears presence (the one carrying the audio). They live
in a table of their own, which rebuilding the projections leaves alone."""

from __future__ import annotations

from application.ports import Views

SCHEMA = ("CREATE TABLE IF NOT EXISTS listener_counts (space_id TEXT PRIMARY KEY, "
          "listeners INTEGER NOT NULL)")
# For the Space queries: a Space nobody has listened to yet has no row.
LISTENER_COUNT = ("COALESCE((SELECT p.listeners FROM listener_counts p "
                  "WHERE p.space_id = s.id), 0) AS listener_count")


def create_table(views: Views) -> None:
    with views.transaction() as cursor:
        cursor.execute(SCHEMA)


class PresenceWriter:
    def __init__(self, views: Views):
        self.views = views

    def record(self, space_id: str, listeners: int) -> None:
        with self.views.transaction() as cursor:
            cursor.execute(
                "INSERT INTO listener_counts (space_id, listeners) VALUES (?, ?) "
                "ON CONFLICT (space_id) DO UPDATE SET listeners = excluded.listeners",
                (space_id, listeners))
