"""Tamper evidence: a hash chain over every stored event, in the event store's database.

Link n = HMAC-SHA256(secret, link n-1 | position | originator id | version | topic | state).
A chainer extends the chain after events are committed, in the background, so writers
never wait for it (they already take turns on the event store's own lock). `verify` walks
the events and the chain together and names the first position where an event was
altered, removed, inserted or moved.

What it protects against: anyone who can change the database but does not hold the
server's secret cannot alter, remove, insert or reorder chained events without `verify`
finding the first such position. What it does not: someone holding the secret can rebuild
the chain; events not yet chained (the last fraction of a second) are reported as
unchained, not protected; and a truncation of the newest events together with the
matching chain rows looks like a shorter history (compare the head with a copy kept
elsewhere: `verify` reports the head position and link).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from application.background import WokenLoop

if TYPE_CHECKING:
    from application.command_application import CommandApplication

SCHEMA = "CREATE TABLE IF NOT EXISTS event_chain (position BIGINT PRIMARY KEY, link TEXT NOT NULL)"
GENESIS = b"spaces-event-chain"


@dataclass
class Verdict:
    intact: bool
    checked: int
    head_position: int
    head_link: str
    unchained: int
    broken_at: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class HashChain(WokenLoop):
    def __init__(self, app: CommandApplication, database: Any, secret: str, batch_size: int = 1000):
        # After a wake-up it gathers for 0.1 s: one pass chains many commands.
        super().__init__(app, "event-chain", poll_interval=0.5, gather=0.1)
        self.db = database
        self._key = hashlib.sha256(b"event-chain:" + secret.encode()).digest()
        self.batch_size = batch_size
        with self.db.transaction() as cursor:
            cursor.execute(SCHEMA)

    def link(self, previous: bytes, notification: Any) -> bytes:
        message = b"|".join([
            previous, str(notification.id).encode(), str(notification.originator_id).encode(),
            str(notification.originator_version).encode(), notification.topic.encode(),
            bytes(notification.state),
        ])
        return hmac.new(self._key, message, hashlib.sha256).digest()

    # -- extending ---------------------------------------------------------------------------

    def extend(self) -> int:
        """Chains every event committed so far; returns how many it chained."""
        return self._extend(fed=False)

    def _extend(self, fed: bool) -> int:
        chained = 0
        while True:
            with self.db.transaction() as cursor:
                self.db.serialize(cursor, "event-chain")
                cursor.execute("SELECT position, link FROM event_chain ORDER BY position DESC LIMIT 1")
                head = cursor.fetchone()
                position, previous = (head[0], bytes.fromhex(head[1])) if head else (0, GENESIS)
                batch = self.tail.after(position, self.batch_size, fed)
                rows = []
                for notification in batch:
                    previous = self.link(previous, notification)
                    rows.append((notification.id, previous.hex()))
                if rows:
                    cursor.executemany("INSERT INTO event_chain (position, link) VALUES (?, ?)", rows)
            chained += len(batch)
            if self.tail.exhausted(batch, self.batch_size):
                return chained

    def step(self) -> None:
        self._extend(fed=True)

    # -- verifying ---------------------------------------------------------------------------

    def verify(self, progress: Callable[[int], None] | None = None) -> Verdict:
        previous, checked, head_position = GENESIS, 0, 0
        events = self._events()
        pending = next(events, None)
        for position, link in self._links():
            if pending is not None and pending.id < position:
                return self._broken(checked, pending.id, "an event that was never chained "
                                    "stands here: inserted, or moved from elsewhere")
            if pending is None or pending.id > position:
                return self._broken(checked, position, "the event chained here is missing")
            expected = self.link(previous, pending)
            if expected.hex() != link:
                return self._broken(checked, position, "the chain breaks here: this event was "
                                    "changed or moved, or one before it was removed with its link")
            previous, head_position, checked = expected, position, checked + 1
            if progress and checked % 10_000 == 0:
                progress(checked)
            pending = next(events, None)
        unchained = 0 if pending is None else 1 + sum(1 for _ in events)
        return Verdict(True, checked, head_position, previous.hex(), unchained)

    def _broken(self, checked: int, position: int, problem: str) -> Verdict:
        return Verdict(False, checked, 0, "", 0, broken_at=position, problem=problem)

    def _events(self) -> Iterator[Any]:
        position = 0
        while batch := self.app.recorder.select_notifications(
                start=position, limit=self.batch_size, inclusive_of_start=False):
            yield from batch
            position = batch[-1].id

    def _links(self) -> Iterator[tuple[int, str]]:
        position = -1
        while rows := self.db.rows(
                "SELECT position, link FROM event_chain WHERE position > ? ORDER BY position LIMIT ?",
                (position, self.batch_size)):
            for row in rows:
                yield row["position"], row["link"]
            position = rows[-1]["position"]
