"""Who is listening now: one row per listening session on each media node, written beside
the node's count (presence.py) by the process that hears listeners join and leave, and
cleared when the Space ends. Like the counts, an input of the views that rebuilds leave
alone. Someone listening without an account has a row (they count) but no name."""

from __future__ import annotations

from typing import Any

from application.ports import Cursor, Views

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS listeners_roster (space_id TEXT NOT NULL, node TEXT NOT NULL, "
    "session_id TEXT NOT NULL, user_id TEXT, joined_at TEXT NOT NULL, "
    "PRIMARY KEY (space_id, node, session_id))",
    "CREATE INDEX IF NOT EXISTS listeners_roster_newest ON listeners_roster (space_id, joined_at)",
)


def joined(cursor: Cursor, space_id: str, node: str, session_id: str, user_id: str | None,
           at: str) -> None:
    cursor.execute(
        "INSERT INTO listeners_roster (space_id, node, session_id, user_id, joined_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (space_id, node, session_id, user_id, at))


def left(cursor: Cursor, space_id: str, node: str, session_id: str) -> None:
    cursor.execute("DELETE FROM listeners_roster WHERE space_id = ? AND node = ? AND session_id = ?",
                   (space_id, node, session_id))


def listeners(views: Views, space_id: str, limit: int,
              before: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """The people with an account listening to a live Space, each once (the latest of their
    sessions), newest first; `before`: the (joined_at, user_id) of the previous page's last."""
    joined_at, user_id = before or (None, None)
    return views.rows(
        "SELECT r.user_id, a.handle, r.joined_at FROM (SELECT user_id, MAX(joined_at) AS joined_at "
        "FROM listeners_roster WHERE space_id = ? AND user_id IS NOT NULL GROUP BY user_id) r "
        "JOIN spaces s ON s.id = ? AND s.state = 'live' LEFT JOIN accounts a ON a.id = r.user_id "
        "WHERE (? IS NULL OR r.joined_at < ? OR (r.joined_at = ? AND r.user_id < ?)) "
        "ORDER BY r.joined_at DESC, r.user_id DESC LIMIT ?",
        (space_id, space_id, joined_at, joined_at, joined_at, user_id, limit))
