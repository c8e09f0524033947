"""The follower feed: live and upcoming (scheduled) Spaces of the people you follow.

The feed is a join at read time, so a host with a million followers going live
is one row update, visible in every follower's feed at once. How the join runs depends on
the reader: from the hosts they follow to those hosts' Spaces when they follow a few
(most people), and from the live (then upcoming) Spaces, newest first, to whether they
follow each one's host when they follow many (a reader following 5,000 hosts meets the
first page within a few hundred Spaces instead of looking up 5,000 hosts). Pages are
keyset-paged: a Space launching or ending between two pages never makes another one
skipped or repeated.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from application.ports import Cursor, Views
from domain.people import Follow
from projections.base import Projection, handles, handles_in_bulk, insert_rows, text
from projections.spaces import SPACE_COLUMNS


class FeedProjection(Projection):
    name = "feed"
    tables = ("follows",)
    schema = (
        "CREATE TABLE IF NOT EXISTS follows (follower_id TEXT NOT NULL, "
        "followee_id TEXT NOT NULL, PRIMARY KEY (follower_id, followee_id))",
    )

    @handles(Follow.Followed)
    def followed(self, event: Any, position: int, cursor: Cursor) -> None:
        self.followed_many([(event, position)], cursor)

    @handles_in_bulk(Follow.Followed)
    def followed_many(self, events: list[tuple[Any, int]], cursor: Cursor) -> None:
        insert_rows(cursor, "follows (follower_id, followee_id)",
                    [(text(e.follower_id), text(e.followee_id)) for e, _ in events],
                    "ON CONFLICT DO NOTHING")

    @handles(Follow.Unfollowed)
    def unfollowed(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?",
            (text(event.follower_id), text(event.followee_id)),
        )


MANY_FOLLOWS = 300  # a reader who follows more: their feed walks the Spaces instead

LIVE = "s.state = 'live'"
UPCOMING = "s.state = 'created' AND s.scheduled_for IS NOT NULL"
FOLLOWED = "EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = ? AND f.followee_id = s.host_id%s)"
# On PostgreSQL the walk's test of each Space stays a test (OFFSET 0 keeps the planner from
# turning it into a join from the reader's follows): the statement is prepared, and a
# generic plan, which cannot know the reader follows thousands, would start from those
# (25 ms instead of 3 for a reader following 5,000 hosts on the read-side data set).
KEEP_AS_TEST = {"postgresql": " OFFSET 0", "sqlite": ""}


@dataclass(frozen=True)
class FeedCursor:
    """Where a feed page ended: after a live Space (its launch order) or an upcoming one."""

    live_seq: int | None = None
    scheduled_for: str | None = None
    space_id: str | None = None

    def encode(self) -> str:
        if self.live_seq is not None:
            return f"live.{self.live_seq}"
        return f"upcoming.{self.scheduled_for}.{self.space_id}"

    @classmethod
    def decode(cls, raw: str) -> FeedCursor:
        """Raises ValueError for anything `encode` does not make."""
        kind, _, rest = raw.partition(".")
        if kind == "live" and rest.isdigit():
            return cls(live_seq=int(rest))
        when, _, space_id = rest.rpartition(".")
        if kind == "upcoming" and when and space_id:
            return cls(scheduled_for=when, space_id=space_id)
        raise ValueError(raw)

    @classmethod
    def after(cls, row: dict[str, Any]) -> FeedCursor:
        if row["state"] == "live":
            return cls(live_seq=row["live_seq"])
        return cls(scheduled_for=row["scheduled_for"], space_id=row["id"])


def feed(views: Views, follower_id: str, limit: int, after: FeedCursor | None = None,
         plain: bool = False) -> list[dict[str, Any]]:
    """Live Spaces first (newest first), then upcoming ones (soonest first), after `after`.
    `plain`: always from the followed hosts (the plain read-time join). One statement: the
    page's live part and its upcoming part, each limited, put in order here. Each row also
    says whether the reader follows many, which chooses the way of the reader's next read
    (both ways give the same rows; the first read of a reader is the join)."""
    walk = not plain and _follows_many(views, follower_id)
    counted = () if plain else (follower_id,)
    parts: list[tuple[str, tuple[Any, ...]]] = []
    if after is None or after.live_seq is not None:
        seq = after.live_seq if after else None
        parts.append((_select(views, walk, LIVE + ("" if seq is None else " AND s.live_seq < ?"),
                              "s.live_seq DESC", not plain),
                      (*counted, follower_id, *(() if seq is None else (seq,)), limit)))
    upcoming = after if after is not None and after.live_seq is None else None
    parts.append((_select(views, walk, UPCOMING + ("" if upcoming is None else
                                                   " AND (s.scheduled_for, s.id) > (?, ?)"),
                          "s.scheduled_for, s.id", not plain),
                  (*counted, follower_id, *(() if upcoming is None else
                                            (upcoming.scheduled_for, upcoming.space_id)), limit)))
    rows = views.rows(" UNION ALL ".join(f"SELECT * FROM ({sql}) AS part{n}"
                                         for n, (sql, _) in enumerate(parts)),
                      tuple(p for _, params in parts for p in params), prepare=True)
    if counted and rows:
        _remember(views, follower_id, rows[0]["many"] > MANY_FOLLOWS)
        for row in rows:
            del row["many"]
    rows.sort(key=lambda r: (0, -r["live_seq"], "") if r["state"] == "live"
              else (1, r["scheduled_for"], r["id"]))
    return rows[:limit]


_many: OrderedDict[tuple[int, str], float] = OrderedDict()  # (views, reader): known many until
MANY_KEPT, MANY_SECONDS = 100_000, 60.0


def _follows_many(views: Views, follower_id: str) -> bool:
    """Whether the reader's last read (in this process, within MANY_SECONDS) found they
    follow many: it only chooses the way, so a reader who just crossed MANY_FOLLOWS is
    answered right either way."""
    until = _many.get((id(views), follower_id))
    return until is not None and until > time.monotonic()


def _remember(views: Views, follower_id: str, many: bool) -> None:
    key = (id(views), follower_id)
    if not many:
        _many.pop(key, None)
        return
    _many[key] = time.monotonic() + MANY_SECONDS
    _many.move_to_end(key)
    if len(_many) > MANY_KEPT:
        _many.popitem(last=False)


def _select(views: Views, walk: bool, where: str, order: str, counted: bool) -> str:
    many = (f", (SELECT COUNT(*) FROM (SELECT 1 FROM follows WHERE follower_id = ? "
            f"LIMIT {MANY_FOLLOWS + 1}) AS firsts) AS many") if counted else ""
    if walk:
        source, where = "spaces s", f"{FOLLOWED % KEEP_AS_TEST[views.dialect]} AND {where}"
    else:
        source, where = "follows f JOIN spaces s ON s.host_id = f.followee_id", \
            f"f.follower_id = ? AND {where}"
    return (f"SELECT {SPACE_COLUMNS}{many} FROM {source} LEFT JOIN accounts a ON a.id = s.host_id "
            f"WHERE {where} ORDER BY {order} LIMIT ?")
