"""Work that runs in a thread of its own beside the server: `BackgroundThread` (start, stop,
`run` until stopped) and `WokenLoop`, a reader of the notification log whose step runs soon
after every save in this process (which hands it the saved events) and every
`poll_interval` seconds for what other processes store; a failing step is logged and tried
again a second later. With `gather`, a wake-up waits that long first, so one step covers
many saves. `feed_from(follower)` makes it take the events a `LogFollower` reads instead."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from application.log_tail import LogTail

if TYPE_CHECKING:
    from application.command_application import CommandApplication

log = logging.getLogger(__name__)


class BackgroundThread:
    ready: bool = True  # whether it has caught up (workers that must catch up say when)

    def __init__(self, name: str):
        self.thread_name = name
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=15)


class WokenThread(BackgroundThread):
    """Runs `step` when woken (`wake`) and every `poll_interval` seconds; a failing step is
    logged and tried again a second later. With `gather`, a wake-up waits that long first."""

    def __init__(self, name: str, poll_interval: float = 0.5, gather: float = 0.0):
        super().__init__(name)
        self.name = name
        self.poll_interval = poll_interval
        self.gather = gather
        self._wake = threading.Event()

    def step(self) -> Any:
        raise NotImplementedError

    def wake(self, *_: Any) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        super().stop()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.step()
                self.ready = True
            except Exception:
                log.exception("%s failed; trying again", self.name)
                self._stopped.wait(1.0)
            if self._wake.wait(self.poll_interval) and self.gather:
                self._stopped.wait(self.gather)
            self._wake.clear()


class WokenLoop(WokenThread):
    def __init__(self, app: CommandApplication, name: str, poll_interval: float = 0.5, gather: float = 0.0):
        super().__init__(name, poll_interval, gather)
        self.app = app
        self.ready = False  # a step has succeeded since it started
        self.tail = LogTail(app.recorder)
        self._fed = False

    def offer(self, notifications: list[Any]) -> None:
        """Newly stored events (none: only a wake-up); the next step starts with them."""
        self.tail.offer(notifications)
        self._wake.set()

    def feed_from(self, follower: Any) -> None:
        self.tail = LogTail(self.app.recorder, known_end=lambda: follower.position)
        follower.subscribe(self.offer)
        self._fed = True

    def start(self) -> None:
        if not self._fed:
            self.app.saved_listeners.append(self.offer)
        super().start()


class Subscribers:
    """Hands each batch of events (notifications) to every subscriber, in order; one failing
    subscriber must not starve the others. An `EventSource` (application/ports.py)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._subscribers: list[Callable[[list[Any]], None]] = []

    def subscribe(self, on_batch: Callable[[list[Any]], None]) -> None:
        self._subscribers.append(on_batch)

    def unsubscribe(self, on_batch: Callable[[list[Any]], None]) -> None:
        if on_batch in self._subscribers:
            self._subscribers.remove(on_batch)

    def hand_over(self, batch: list[Any]) -> None:
        for on_batch in list(self._subscribers):
            try:
                on_batch(batch)
            except Exception:
                log.exception("%s: %s failed on a batch", self._name, on_batch)
