"""The moderation log: who did what to whom in which Space, when and why."""

from __future__ import annotations

from typing import Any

from application.ports import Cursor, Views
from domain.acts import ACCOUNT_WIDE, MODERATION_IN_SPACES, act_of
from projections.base import Projection, handles, text


class ModerationProjection(Projection):
    name = "moderation"
    tables = ("moderation_log",)
    schema = (
        "CREATE TABLE IF NOT EXISTS moderation_log (position BIGINT PRIMARY KEY, "
        "space_id TEXT, action TEXT NOT NULL, actor_id TEXT NOT NULL, target_id TEXT NOT NULL, "
        "reason TEXT, occurred_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS moderation_space ON moderation_log (space_id, position)",
        "CREATE INDEX IF NOT EXISTS moderation_target ON moderation_log (target_id, position)",
        "CREATE INDEX IF NOT EXISTS moderation_actor ON moderation_log (actor_id, position)",
    )

    @handles(*MODERATION_IN_SPACES)
    def in_space(self, event: Any, position: int, cursor: Cursor) -> None:
        self._log(cursor, position, text(event.originator_id), event)

    @handles(*ACCOUNT_WIDE)
    def account_wide(self, event: Any, position: int, cursor: Cursor) -> None:
        self._log(cursor, position, None, event)

    @staticmethod
    def _log(cursor: Cursor, position: int, space_id: str | None, event: Any) -> None:
        act = act_of(event)
        assert act.actor and act.target, "every moderation act names who did it to whom"
        cursor.execute(
            "INSERT INTO moderation_log (position, space_id, action, actor_id, target_id, "
            "reason, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (position, space_id, act.action, text(getattr(event, act.actor)),
             text(getattr(event, act.target)), getattr(event, "reason", None),
             text(event.timestamp)),
        )


def moderation_log(
    views: Views, *, space_id: str | None, user_id: str | None, since: str | None,
    after: int | None, limit: int,
) -> list[dict[str, Any]]:
    """Oldest first; `after` is the position cursor of the previous page."""
    return views.rows(
        "SELECT position, space_id, action, actor_id, target_id, reason, occurred_at "
        "FROM moderation_log WHERE (? IS NULL OR space_id = ?) "
        "AND (? IS NULL OR actor_id = ? OR target_id = ?) AND (? IS NULL OR occurred_at >= ?) "
        "AND (? IS NULL OR position > ?) ORDER BY position LIMIT ?",
        (space_id, space_id, user_id, user_id, user_id, since, since, after, after, limit),
    )
