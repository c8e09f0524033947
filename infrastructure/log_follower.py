"""Follows the event store's notification log from the moment it starts: every batch of
events stored afterwards is handed, in order, to each subscriber. One follower per
process (`System.store_feed`) serves the aggregate cache, the projections and the hash
chain when they run here, the live stream and the media feed, so each batch is read from
the store at most once, and what this process stores is not read back at all."""

from __future__ import annotations

from typing import TYPE_CHECKING

from application.background import Subscribers, WokenLoop

if TYPE_CHECKING:
    from application.command_application import CommandApplication

BATCH = 500


class LogFollower(Subscribers, WokenLoop):
    def __init__(self, app: CommandApplication, name: str = "store-feed", poll_interval: float = 0.2):
        Subscribers.__init__(self, name)
        WokenLoop.__init__(self, app, name, poll_interval)
        self.position = app.position()

    def step(self) -> None:
        while batch := self.tail.after(self.position, BATCH):
            self.hand_over(batch)
            self.position = batch[-1].id  # after the hand-over: see LogTail's known_end
            if self.tail.exhausted(batch, BATCH):
                return
