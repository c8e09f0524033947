"""Follows the event store's notification log from the moment it starts: every batch of
events stored afterwards is handed over in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infrastructure.background import WokenLoop


class LogFollower(WokenLoop):
    def __init__(self, app: Any, on_batch: Callable[[list[Any]], None], name: str,
                 poll_interval: float = 0.2):
        super().__init__(app, name, poll_interval)
        self.on_batch = on_batch
        self.position = app.position()

    def step(self) -> None:
        while batch := self.app.recorder.select_notifications(
                start=self.position, limit=500, inclusive_of_start=False):
            self.position = batch[-1].id
            self.on_batch(batch)
