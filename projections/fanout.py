"""The notifier: writes the rows of the notification jobs (projections/notifications.py),
one row per recipient, a batch at a time.

A job's recipients are split into 16 shards by the first hex digit of their id. A batch
is one transaction: it takes one shard number (a lock: with PostgreSQL an advisory lock,
so that notifiers in several processes share a launch shard by shard, never two on one),
writes up to `batch` rows of the oldest 100 jobs pending there (invitations among them
first, then the go-lives, sharing the rest), and moves each job's cursor (the last
recipient id done) in the same transaction. A notifier killed mid-batch loses nothing
and repeats nothing: its transaction never committed, and a recipient holds at most one
row per job (its primary key). Each recipient's rows are numbered in the order they
arrive (`rseq`); since one shard number is written by one transaction at a time, a
recipient's numbers are given, and committed, in order, so a live stream that resumes
after a number misses nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from application.background import WokenThread
from application.ports import Cursor, Views
from projections.notifications import GO_LIVE, SHARDS

BIGINT = 2**63 - 1

# Followers of the host (who followed before the launch, and did not switch go-live
# notifications off) and reminder setters, in one shard after the cursor, in id order.
CANDIDATES = (
    "SELECT r FROM (SELECT f.follower_id AS r FROM go_live_followers f WHERE f.host_id = ? "
    "AND f.since < ? AND f.follower_id > ? AND f.follower_id < ? AND NOT EXISTS (SELECT 1 "
    "FROM go_live_mutes m WHERE m.host_id = f.host_id AND m.follower_id = f.follower_id) "
    "ORDER BY f.follower_id LIMIT ?) followers UNION SELECT r FROM (SELECT user_id AS r "
    "FROM reminders WHERE space_id = ? AND user_id > ? AND user_id < ? ORDER BY user_id "
    "LIMIT ?) reminded ORDER BY r LIMIT ?")
NEXT_NUMBER = ("COALESCE((SELECT MAX(o.rseq) FROM notifications o WHERE o.recipient_id = {}), 0) + 1")
INSERT = ("INSERT INTO notifications (recipient_id, position, rseq, kind, space_id, actor_id, "
          "created_at) ")
KEPT_OUT = ("NOT EXISTS (SELECT 1 FROM notification_blocks b WHERE b.blocker_id = ? AND "
            "b.blocked_id = {0}) AND NOT EXISTS (SELECT 1 FROM space_removals x WHERE "
            "x.space_id = ? AND x.user_id = {0})")


class Notifier(WokenThread):
    def __init__(self, views: Views, batch: int = 5_000, poll_interval: float = 0.5,
                 caught_up: Callable[[], int] | None = None, pause: float = 0.0):
        """`caught_up`: how far the views are; a job waits until every event before it is
        in them (with Kafka the follows, on other partitions, may come after the launch)."""
        super().__init__("notifier", poll_interval)
        self.views = views
        self.batch = batch
        self.caught_up = caught_up
        self.pause = pause  # after a batch, waits `pause` times as long as it took
        self.written_listeners: list[Callable[[], None]] = []  # told after each batch that wrote
        self._turn = 0  # which shard this notifier tries first, so notifiers spread out

    def step(self) -> int:
        """Writes every job's rows there are for now; returns how many batches it ran."""
        batches = 0
        while not self._stopped.is_set():
            up_to = self.caught_up() if self.caught_up else BIGINT
            pending = [r["shard"] for r in self.views.rows(
                "SELECT DISTINCT shard FROM notification_shards WHERE done = 0 AND position <= ?",
                (up_to,))]
            if not pending:
                return batches
            self._turn = (self._turn + 1) % SHARDS
            pending.sort(key=lambda k: (k - self._turn) % SHARDS)
            worked = False
            for shard in pending:
                started = time.monotonic()
                if self.run_batch(shard, up_to):
                    worked, batches = True, batches + 1
                    if self.pause:
                        self._stopped.wait(self.pause * (time.monotonic() - started))
                    for listener in self.written_listeners:
                        listener()
            if not worked:  # every pending shard is another notifier's just now
                self._stopped.wait(0.05)
        return batches

    def run_batch(self, shard: int, up_to: int = BIGINT) -> bool:
        """One transaction over one shard number (jobs up to `up_to`); False if another
        notifier holds it."""
        with self.views.transaction() as cursor:
            if not self.views.try_lock(cursor, f"notifier-shard-{shard}"):
                return False
            # the oldest pending, found on the index of what is to do (every job ever made
            # stays in notification_jobs: sorting those would grow with the years)
            cursor.execute(
                "SELECT s.position, s.after, j.kind, j.space_id, j.actor_id, j.recipient_id, "
                "j.created_at FROM (SELECT position, after FROM notification_shards WHERE "
                "done = 0 AND shard = ? AND position <= ? ORDER BY position LIMIT 100) s "
                "JOIN notification_jobs j ON j.position = s.position "
                "ORDER BY CASE WHEN j.kind = ? THEN 1 ELSE 0 END, s.position",
                (shard, up_to, GO_LIVE))
            jobs = cursor.fetchall()
            others = [j for j in jobs if j[2] != GO_LIVE][:self.batch]  # invitations: first
            for position, _, kind, space_id, actor_id, recipient, created_at in others:
                self._one(cursor, (position, space_id, actor_id, created_at), kind, recipient)
            budget = self.batch - len(others)
            # the rest shared among the go-lives: a host with few followers is done in this
            # batch, a celebrity's launch goes on in the next ones
            go_lives = [j for j in jobs if j[2] == GO_LIVE][:budget]
            for position, after, _, space_id, host_id, _, created_at in go_lives:
                self._go_live(cursor, (position, space_id, host_id, created_at), shard, after,
                              budget // len(go_lives))
            return True

    @staticmethod
    def _one(cursor: Cursor, job: tuple[Any, ...], kind: str, recipient: str) -> None:
        position, space_id, actor_id, created_at = job
        cursor.execute(
            f"{INSERT} SELECT ?, ?, {NEXT_NUMBER.format('?')}, ?, ?, ?, ? WHERE "
            f"{KEPT_OUT.format('?')} ON CONFLICT (recipient_id, position) DO NOTHING",
            (recipient, position, recipient, kind, space_id, actor_id, created_at,
             actor_id, recipient, space_id, recipient))
        cursor.execute("UPDATE notification_shards SET done = 1 WHERE position = ?", (position,))

    def _go_live(self, cursor: Cursor, job: tuple[Any, ...], shard: int, after: str,
                 limit: int) -> None:
        """Writes the next `limit` recipients of the job in this shard and moves its cursor
        (on PostgreSQL in one statement that nothing waits for: a batch's go-lives go out
        pipelined)."""
        position, space_id, host_id, created_at = job
        high = f"{shard + 1:x}" if shard + 1 < SHARDS else "g"  # ids of shard k are below k+1
        candidates = (host_id, position, after, high, limit, space_id, after, high, limit, limit)
        rows = (f"{INSERT} SELECT c.r, ?, {NEXT_NUMBER.format('c.r')}, ?, ?, ?, ? FROM {{}} c "
                f"WHERE c.r <> ? AND {KEPT_OUT.format('c.r')} "
                "ON CONFLICT (recipient_id, position) DO NOTHING")
        written = (position, GO_LIVE, space_id, host_id, created_at, host_id, host_id, space_id)
        if self.views.dialect == "postgresql":  # the candidates found once, for all three
            cursor.execute(
                f"WITH found AS MATERIALIZED ({CANDIDATES}), written AS ({rows.format('found')}), "
                "taken AS (SELECT COUNT(*) AS n, MAX(r) AS last FROM found) "
                "UPDATE notification_shards SET done = CASE WHEN (SELECT n FROM taken) < ? "
                "THEN 1 ELSE 0 END, after = COALESCE((SELECT last FROM taken), after) "
                "WHERE position = ? AND shard = ?",
                (*candidates, *written, limit, position, shard))
            return
        cursor.execute(f"SELECT COUNT(*), MAX(r) FROM ({CANDIDATES}) c", candidates)
        taken, last = cursor.fetchone()
        if taken:
            cursor.execute(rows.format(f"({CANDIDATES})"),
                           (*written[:5], *candidates, *written[5:]))
        cursor.execute("UPDATE notification_shards SET done = ?, after = ? WHERE position = ? "
                       "AND shard = ?", (int(taken < limit), last or after, position, shard))
