"""Reminders set on upcoming Spaces: counted in the Space detail, and read by the go-live
fan-out (projections/fanout.py) when the Space launches."""

from __future__ import annotations

from typing import Any

from application.ports import Cursor, Views
from domain.reminders import Reminder
from projections.base import Projection, handles, text


class RemindersProjection(Projection):
    name = "reminders"
    tables = ("reminders",)
    schema = (
        "CREATE TABLE IF NOT EXISTS reminders (space_id TEXT NOT NULL, user_id TEXT NOT NULL, "
        "set_at TEXT NOT NULL, PRIMARY KEY (space_id, user_id))",
    )

    @handles(Reminder.ReminderSet)
    def set(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "INSERT INTO reminders (space_id, user_id, set_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (text(event.space_id), text(event.user_id), text(event.timestamp)),
        )

    @handles(Reminder.ReminderCleared)
    def cleared(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("DELETE FROM reminders WHERE space_id = ? AND user_id = ?",
                       (text(event.space_id), text(event.user_id)))


def reminders_of(views: Views, space_id: str, user_id: str | None) -> tuple[int, bool]:
    """How many people set a reminder for the Space, and whether `user_id` is one of them."""
    row = views.row(
        "SELECT COUNT(*) AS count, COALESCE(SUM(CASE WHEN user_id = ? THEN 1 ELSE 0 END), 0) "
        "AS mine FROM reminders WHERE space_id = ?", (user_id, space_id))
    return (int(row["count"]), bool(row["mine"])) if row else (0, False)
