"""Who hears a go-live: the part of the notifications projection that knows, per host, the
followers (since when, and who switched go-live notifications off), whom each host
blocks, who was removed from which Space, and who hosts each Space.

The fan-out (projections/fanout.py) reads these tables when a Space launches; reads of
notifications read the blocks too, so a block hides what its host's Spaces sent before.
"""

from __future__ import annotations

from typing import Any, ClassVar

from application.ports import Cursor
from domain.people import Block, Follow
from domain.space import Space
from projections.base import Projection, handles, handles_in_bulk, insert_rows, text


class Audience(Projection):
    tables: ClassVar[tuple[str, ...]] = ("go_live_followers", "go_live_mutes", "notification_blocks",
                               "space_removals", "notification_hosts")
    schema: ClassVar[tuple[str, ...]] = (
        # since: the position of the follow, so a fan-out reaches those who followed before
        # the launch, on every run and every rebuild
        "CREATE TABLE IF NOT EXISTS go_live_followers (host_id TEXT NOT NULL, "
        "follower_id TEXT NOT NULL, since BIGINT NOT NULL, PRIMARY KEY (host_id, follower_id))",
        "CREATE TABLE IF NOT EXISTS go_live_mutes (host_id TEXT NOT NULL, "
        "follower_id TEXT NOT NULL, PRIMARY KEY (host_id, follower_id))",
        "CREATE TABLE IF NOT EXISTS notification_blocks (blocker_id TEXT NOT NULL, "
        "blocked_id TEXT NOT NULL, PRIMARY KEY (blocker_id, blocked_id))",
        "CREATE TABLE IF NOT EXISTS space_removals (space_id TEXT NOT NULL, "
        "user_id TEXT NOT NULL, PRIMARY KEY (space_id, user_id))",
        "CREATE TABLE IF NOT EXISTS notification_hosts (space_id TEXT PRIMARY KEY, "
        "host_id TEXT NOT NULL)",
    )

    @handles(Follow.Followed)
    def followed(self, event: Any, position: int, cursor: Cursor) -> None:
        self.followed_many([(event, position)], cursor)

    @handles_in_bulk(Follow.Followed)
    def followed_many(self, events: list[tuple[Any, int]], cursor: Cursor) -> None:
        insert_rows(cursor, "go_live_followers (host_id, follower_id, since)",
                    [(text(e.followee_id), text(e.follower_id), p) for e, p in events],
                    "ON CONFLICT DO NOTHING")

    @handles(Follow.Unfollowed)
    def unfollowed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("DELETE FROM go_live_followers WHERE host_id = ? AND follower_id = ?",
                       (text(event.followee_id), text(event.follower_id)))

    @handles(Follow.GoLiveNotificationsSwitched)
    def switched(self, event: Any, position: int, cursor: Cursor) -> None:
        pair = (text(event.followee_id), text(event.follower_id))
        if event.on:
            cursor.execute("DELETE FROM go_live_mutes WHERE host_id = ? AND follower_id = ?", pair)
        else:
            cursor.execute("INSERT INTO go_live_mutes (host_id, follower_id) VALUES (?, ?) "
                           "ON CONFLICT DO NOTHING", pair)

    @handles(Block.Blocked)
    def blocked(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("INSERT INTO notification_blocks (blocker_id, blocked_id) VALUES (?, ?) "
                       "ON CONFLICT DO NOTHING", (text(event.blocker_id), text(event.blocked_id)))

    @handles(Block.Unblocked)
    def unblocked(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("DELETE FROM notification_blocks WHERE blocker_id = ? AND blocked_id = ?",
                       (text(event.blocker_id), text(event.blocked_id)))

    @handles(Space.UserRemoved)
    def removed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("INSERT INTO space_removals (space_id, user_id) VALUES (?, ?) "
                       "ON CONFLICT DO NOTHING", (text(event.originator_id), text(event.user_id)))

    @handles(Space.SpaceCreated)
    def created(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("INSERT INTO notification_hosts (space_id, host_id) VALUES (?, ?) "
                       "ON CONFLICT DO NOTHING", (text(event.originator_id), text(event.host_id)))

    @handles(Space.HostHandedOver)
    def handed_over(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("UPDATE notification_hosts SET host_id = ? WHERE space_id = ?",
                       (text(event.to_host), text(event.originator_id)))
