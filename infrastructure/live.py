"""In-process delivery of short-lived events (reactions, presence) to whoever listens.

These are not aggregate events: they are never stored. The live stream of a Space
subscribes here. Outbound listeners carry what this process publishes elsewhere (to the
other processes of a deployment, to Kafka's topics); what arrives from another process is
published here again for this process's own listeners only.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Listener = Callable[[str, str, dict[str, Any]], None]  # (space_id, kind, payload)


class LiveEvents:
    def __init__(self) -> None:
        self._listeners: list[tuple[Listener, bool]] = []  # (listener, outbound)
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener, outbound: bool = False) -> Callable[[], None]:
        entry = (listener, outbound)
        with self._lock:
            self._listeners.append(entry)
        return lambda: self._unsubscribe(entry)

    def publish(self, space_id: str, kind: str, payload: dict[str, Any],
                from_elsewhere: bool = False) -> None:
        for listener, outbound in list(self._listeners):
            if not (outbound and from_elsewhere):
                listener(space_id, kind, payload)

    def _unsubscribe(self, entry: tuple[Listener, bool]) -> None:
        with self._lock:
            self._listeners.remove(entry)


class Newest(queue.Queue[T]):
    """The queue between a process's live events and a thread that sends them on: bounded,
    and when full it drops its oldest, so a sender that is away never holds up the media."""

    dropped = 0

    def offer(self, item: T) -> None:
        try:
            self.put_nowait(item)
        except queue.Full:
            try:
                self.get_nowait()
            except queue.Empty:
                pass
            self.put_nowait(item)
            self.dropped += 1
