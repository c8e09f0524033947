"""Notifications: "@host is live" (to the host's followers and to everyone who set a
reminder) and "@someone invited you to speak", one row per recipient.

The projection does not write those rows itself: a launch may have a million recipients,
so it records a job (`notification_jobs`) split into 16 shards by the recipient's id, and
the notifier (projections/fanout.py) writes the rows, a batch at a time, in transactions
of their own. An invitation is a job with one recipient. Each row is named by the
position of the event that caused it (stable across rebuilds) and numbered per recipient
in the order it arrived (`rseq`: the live stream resumes after it). Read marks are events
(domain/notifications.py) applied here. Blocks hide what came from the blocking host; an
ended Space's notifications say it ended (the Space's state is joined at read time).
"""

from __future__ import annotations

from typing import Any

from application.ports import Cursor, Views
from domain.notifications import NotificationMarks
from domain.space import Space
from projections.audience import Audience
from projections.base import handles, insert_rows, text

SHARDS = 16  # a job's recipients, split by the first hex digit of their id
GO_LIVE, INVITATION = "go_live", "invitation"


def shard_of(account_id: str) -> int:
    return int(account_id[0], 16)


class NotificationsProjection(Audience):
    name = "notifications"
    tables = Audience.tables + ("notifications", "notification_jobs", "notification_shards",
                                "notification_reads", "notification_read_ids")
    kept = ("notifications", "notification_shards")  # a rebuild's jobs find theirs done
    schema = Audience.schema + (
        "CREATE TABLE IF NOT EXISTS notifications (recipient_id TEXT NOT NULL, "
        "position BIGINT NOT NULL, rseq BIGINT NOT NULL, kind TEXT NOT NULL, "
        "space_id TEXT NOT NULL, actor_id TEXT NOT NULL, created_at TEXT NOT NULL, "
        "PRIMARY KEY (recipient_id, position))",
        "CREATE UNIQUE INDEX IF NOT EXISTS notifications_arrival ON notifications "
        "(recipient_id, rseq)",
        "CREATE TABLE IF NOT EXISTS notification_jobs (position BIGINT PRIMARY KEY, "
        "kind TEXT NOT NULL, space_id TEXT NOT NULL, actor_id TEXT NOT NULL, "
        "recipient_id TEXT, created_at TEXT NOT NULL)",
        # after: the last recipient id done in this shard (ids of shard k start with hex k)
        "CREATE TABLE IF NOT EXISTS notification_shards (position BIGINT NOT NULL, "
        "shard INTEGER NOT NULL, after TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY (position, shard))",
        "CREATE INDEX IF NOT EXISTS notification_shards_todo ON notification_shards "
        "(done, shard, position)",
        "CREATE TABLE IF NOT EXISTS notification_reads (recipient_id TEXT PRIMARY KEY, "
        "up_to BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS notification_read_ids (recipient_id TEXT NOT NULL, "
        "position BIGINT NOT NULL, PRIMARY KEY (recipient_id, position))",
    )

    @handles(Space.SpaceLaunched)
    def launched(self, event: Any, position: int, cursor: Cursor) -> None:
        # the host from the Space's row, in the statement: reading it first would stop the
        # pipeline of a batch's statements at every launch
        cursor.execute(
            "INSERT INTO notification_jobs (position, kind, space_id, actor_id, recipient_id, "
            "created_at) SELECT ?, ?, space_id, host_id, NULL, ? FROM notification_hosts "
            "WHERE space_id = ? ON CONFLICT DO NOTHING",
            (position, GO_LIVE, text(event.timestamp), text(event.originator_id)))
        insert_rows(cursor, "notification_shards (position, shard, after)",
                    [(position, k, f"{k:x}") for k in range(SHARDS)], "ON CONFLICT DO NOTHING")

    @handles(Space.SpeakerInvited)
    def invited(self, event: Any, position: int, cursor: Cursor) -> None:
        invitee = text(event.user_id)
        assert invitee is not None
        self._job(cursor, position, INVITATION, text(event.originator_id),
                  text(event.invited_by), invitee, event)
        cursor.execute("INSERT INTO notification_shards (position, shard, after) VALUES (?, ?, '') "
                       "ON CONFLICT DO NOTHING", (position, shard_of(invitee)))

    @handles(NotificationMarks.NotificationsRead)
    def read(self, event: Any, position: int, cursor: Cursor) -> None:
        reader = text(event.account_id)
        cursor.execute(
            "INSERT INTO notification_reads (recipient_id, up_to) VALUES (?, ?) ON CONFLICT "
            "(recipient_id) DO UPDATE SET up_to = excluded.up_to", (reader, event.up_to))
        cursor.execute("DELETE FROM notification_read_ids WHERE recipient_id = ? AND position <= ?",
                       (reader, event.up_to))
        cursor.executemany("INSERT INTO notification_read_ids (recipient_id, position) "
                           "VALUES (?, ?) ON CONFLICT DO NOTHING", [(reader, i) for i in event.ids])

    @staticmethod
    def _job(cursor: Cursor, position: int, kind: str, space_id: str | None, actor_id: str | None,
             recipient_id: str | None, event: Any) -> None:
        cursor.execute(
            "INSERT INTO notification_jobs (position, kind, space_id, actor_id, recipient_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (position, kind, space_id, actor_id, recipient_id, text(event.timestamp)))


VISIBLE = ("NOT EXISTS (SELECT 1 FROM notification_blocks b WHERE b.blocker_id = n.actor_id "
           "AND b.blocked_id = n.recipient_id)")
READ = ("(n.position <= COALESCE((SELECT w.up_to FROM notification_reads w WHERE w.recipient_id "
        "= n.recipient_id), 0) OR EXISTS (SELECT 1 FROM notification_read_ids i WHERE "
        "i.recipient_id = n.recipient_id AND i.position = n.position))")
COLUMNS = (f"n.position, n.rseq, n.kind, n.space_id, n.actor_id, a.handle AS actor_handle, "
           f"n.created_at, s.title, s.state, {READ} AS is_read")
FROM = ("FROM notifications n LEFT JOIN spaces s ON s.id = n.space_id "
        "LEFT JOIN accounts a ON a.id = n.actor_id")


class NotificationQueries:
    def __init__(self, views: Views):
        self.views = views

    def page(self, recipient: str, before: int | None, limit: int) -> list[dict[str, Any]]:
        """Newest first (by the position of what caused them); `before`: the cursor."""
        older = "" if before is None else "AND n.position < ? "
        return self.views.rows(
            f"SELECT {COLUMNS} {FROM} WHERE n.recipient_id = ? {older}AND {VISIBLE} "
            "ORDER BY n.position DESC LIMIT ?",
            (recipient, limit) if before is None else (recipient, before, limit), prepare=True)

    def arrived_after(self, recipient: str, rseq: int, limit: int) -> list[dict[str, Any]]:
        """In the order they arrived: what a live stream sends."""
        return self.views.rows(
            f"SELECT {COLUMNS} {FROM} WHERE n.recipient_id = ? AND n.rseq > ? AND {VISIBLE} "
            "ORDER BY n.rseq LIMIT ?", (recipient, rseq, limit))

    def unread(self, recipient: str) -> int:
        (row,) = self.views.rows(f"SELECT COUNT(*) AS unread FROM notifications n WHERE "
                                 f"n.recipient_id = ? AND NOT {READ} AND {VISIBLE}",
                                 (recipient,), prepare=True)
        return int(row["unread"])

    def last_arrived(self, recipients: list[str]) -> dict[str, int]:
        """The newest `rseq` of each of these recipients (those with any)."""
        marks = ", ".join("?" * len(recipients))
        return {r["recipient_id"]: int(r["rseq"]) for r in self.views.rows(
            f"SELECT recipient_id, MAX(rseq) AS rseq FROM notifications WHERE recipient_id IN "
            f"({marks}) GROUP BY recipient_id", recipients)} if recipients else {}

    def fanned_out(self, position: int) -> bool:
        """Whether every job caused by events up to `position` has written all its rows."""
        return self.views.row("SELECT 1 AS pending FROM notification_shards WHERE done = 0 "
                              "AND position <= ? LIMIT 1", (position,)) is None
