"""Follows the event store's notification log from the moment it starts: every batch of
events stored afterwards is handed over in order. Woken after each save in this process,
and polling for events stored by other processes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class LogFollower:
    def __init__(self, app: Any, on_batch: Callable[[list[Any]], None], name: str,
                 poll_interval: float = 0.2):
        self.app = app
        self.on_batch = on_batch
        self.name = name
        self.poll_interval = poll_interval
        self.position = app.position()
        self.ready = True
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.app.saved_listeners.append(lambda _position: self._wake.set())
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                while batch := self.app.recorder.select_notifications(
                        start=self.position, limit=500, inclusive_of_start=False):
                    self.position = batch[-1].id
                    self.on_batch(batch)
            except Exception:
                log.exception("%s failed; retrying", self.name)
                self._stopped.wait(1.0)
            self._wake.wait(self.poll_interval)
            self._wake.clear()
