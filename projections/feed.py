"""The follower feed: live and upcoming (scheduled) Spaces of the people you follow.

The feed is a join at read time, so a host with a million followers going live
is one row update, visible in every follower's feed at once.
"""

from __future__ import annotations

from typing import Any

from application.ports import Cursor, Views
from domain.people import Follow
from projections.base import Projection, handles, text
from projections.spaces import LIVE_OR_UPCOMING, SPACE_COLUMNS


class FeedProjection(Projection):
    name = "feed"
    tables = ("follows",)
    schema = (
        "CREATE TABLE IF NOT EXISTS follows (follower_id TEXT NOT NULL, "
        "followee_id TEXT NOT NULL, PRIMARY KEY (follower_id, followee_id))",
    )

    @handles(Follow.Followed)
    def followed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "INSERT INTO follows (follower_id, followee_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (text(event.follower_id), text(event.followee_id)),
        )

    @handles(Follow.Unfollowed)
    def unfollowed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?",
            (text(event.follower_id), text(event.followee_id)),
        )


def feed(views: Views, follower_id: str, limit: int) -> list[dict[str, Any]]:
    """Live Spaces first (newest first), then upcoming ones (soonest first)."""
    return views.rows(
        f"SELECT {SPACE_COLUMNS} FROM follows f JOIN spaces s ON s.host_id = f.followee_id "
        f"LEFT JOIN accounts a ON a.id = s.host_id WHERE f.follower_id = ? AND {LIVE_OR_UPCOMING} "
        "ORDER BY s.state = 'live' DESC, s.live_seq DESC, s.scheduled_for LIMIT ?",
        (follower_id, limit),
    )
