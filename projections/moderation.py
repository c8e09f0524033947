"""The moderation log: who did what to whom in which Space, when and why."""

from __future__ import annotations

from typing import Any

from projections.base import Projection, handles, text

# topic -> (action, attribute naming the actor)
ACTIONS = {
    "spaces:SpeakerGranted": ("speaker_granted", "granted_by"),
    "spaces:SpeakerRevoked": ("speaker_revoked", "revoked_by"),
    "spaces:SpeakerMuted": ("speaker_muted", "muted_by"),
    "spaces:UserRemoved": ("user_removed", "removed_by"),
    "spaces:UserReported": ("user_reported", "reported_by"),
    "spaces:UserBlocked": ("user_blocked", "blocked_by"),
}
ACCOUNT_ACTIONS = {"spaces:Blocked": "account_blocked", "spaces:Unblocked": "account_unblocked"}


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

    @handles(*ACTIONS)
    def in_space(self, event: Any, position: int, cursor: Any) -> None:
        action, actor = ACTIONS[type(event).TOPIC]
        self._log(cursor, position, text(event.originator_id), action,
                  getattr(event, actor), event.user_id, event)

    @handles(*ACCOUNT_ACTIONS)
    def account_wide(self, event: Any, position: int, cursor: Any) -> None:
        self._log(cursor, position, None, ACCOUNT_ACTIONS[type(event).TOPIC],
                  event.blocker_id, event.blocked_id, event)

    @staticmethod
    def _log(cursor: Any, position: int, space_id: str | None, action: str,
             actor: Any, target: Any, event: Any) -> None:
        cursor.execute(
            "INSERT INTO moderation_log (position, space_id, action, actor_id, target_id, "
            "reason, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (position, space_id, action, text(actor), text(target),
             getattr(event, "reason", None), text(event.timestamp)),
        )


def moderation_log(
    views: Any, *, space_id: str | None, user_id: str | None, since: str | None,
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
