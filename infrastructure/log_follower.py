"""Follows the event store's notification log from the moment it starts: every batch of
events stored afterwards is handed, in order, to each subscriber. One follower per
process (`System.store_feed`) serves the aggregate cache, the projections and the hash
chain when they run here, the live stream and the media feed, so each batch is read from
the store at most once, and what this process stores is not read back at all."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from application.background import WokenLoop

if TYPE_CHECKING:
    from application.command_application import CommandApplication

log = logging.getLogger(__name__)
Subscriber = Callable[[list[Any]], None]
BATCH = 500


class LogFollower(WokenLoop):
    def __init__(self, app: CommandApplication, name: str = "store-feed", poll_interval: float = 0.2):
        super().__init__(app, name, poll_interval)
        self.position = app.position()
        self._subscribers: list[Subscriber] = []

    def subscribe(self, on_batch: Subscriber) -> None:
        self._subscribers.append(on_batch)

    def unsubscribe(self, on_batch: Subscriber) -> None:
        if on_batch in self._subscribers:
            self._subscribers.remove(on_batch)

    def step(self) -> None:
        while batch := self.tail.after(self.position, BATCH):
            for on_batch in list(self._subscribers):
                try:
                    on_batch(batch)
                except Exception:  # one failing subscriber must not starve the others
                    log.exception("%s: %s failed on a batch", self.name, on_batch)
            self.position = batch[-1].id  # after the hand-over: see LogTail's known_end
            if self.tail.exhausted(batch, BATCH):
                return
