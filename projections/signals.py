"""The live signals of each Space, kept for its analytics: listener presence (every join
and leave, with the Space's listener count after it), who the mix hears talking (every
change of the set), and reactions (counted per emoji).

They are not events: they come too often and matter too briefly to be stored (DESIGN §2),
and the media node and the API publish them straight to the live stream
(infrastructure/live.py). The process that publishes one also logs it here
(infrastructure/signal_recorder.py), at most once, in batches. Like the listener counts,
these are an input of the views that rebuilds leave alone: the analytics
(projections/analytics.py) are computed from the events and these logs, so a rebuild
gives the same figures.
"""

from __future__ import annotations

from typing import Any

from application.ports import Views

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS presence_log (space_id TEXT NOT NULL, at TEXT NOT NULL, "
    "seq BIGINT NOT NULL, listeners INTEGER NOT NULL, change TEXT, user_id TEXT)",
    "CREATE INDEX IF NOT EXISTS presence_log_space ON presence_log (space_id, at)",
    "CREATE TABLE IF NOT EXISTS talking_log (space_id TEXT NOT NULL, at TEXT NOT NULL, "
    "seq BIGINT NOT NULL, speakers TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS talking_log_space ON talking_log (space_id, at)",
    "CREATE TABLE IF NOT EXISTS reaction_counts (space_id TEXT NOT NULL, emoji TEXT NOT NULL, "
    "count BIGINT NOT NULL, PRIMARY KEY (space_id, emoji))",
)


def create_tables(views: Views) -> None:
    with views.transaction() as cursor:
        for statement in SCHEMA:
            cursor.execute(statement)


def write(views: Views, presence: list[tuple[Any, ...]], talking: list[tuple[Any, ...]],
          reactions: dict[tuple[str, str], int]) -> None:
    """One batch: presence rows (space, at, seq, listeners, change, user), talking rows
    (space, at, seq, speakers as JSON) and reactions counted per (space, emoji)."""
    with views.transaction() as cursor:
        if presence:
            cursor.executemany("INSERT INTO presence_log (space_id, at, seq, listeners, change, "
                               "user_id) VALUES (?, ?, ?, ?, ?, ?)", presence)
        if talking:
            cursor.executemany("INSERT INTO talking_log (space_id, at, seq, speakers) "
                               "VALUES (?, ?, ?, ?)", talking)
        if reactions:
            cursor.executemany(
                "INSERT INTO reaction_counts (space_id, emoji, count) VALUES (?, ?, ?) ON CONFLICT "
                "(space_id, emoji) DO UPDATE SET count = reaction_counts.count + excluded.count",
                [(space, emoji, count) for (space, emoji), count in sorted(reactions.items())])


def presence_of(views: Views, space_id: str) -> list[dict[str, Any]]:
    return views.rows("SELECT at, listeners, change, user_id FROM presence_log WHERE space_id = ? "
                      "ORDER BY at, seq", (space_id,))


def talking_of(views: Views, space_id: str) -> list[dict[str, Any]]:
    return views.rows("SELECT at, speakers FROM talking_log WHERE space_id = ? ORDER BY at, seq",
                      (space_id,))


def reactions_of(views: Views, space_id: str) -> dict[str, int]:
    return {r["emoji"]: int(r["count"]) for r in views.rows(
        "SELECT emoji, count FROM reaction_counts WHERE space_id = ? ORDER BY emoji", (space_id,))}
