"""In-process delivery of short-lived events (reactions, presence) to whoever listens.

These are not aggregate events: they are never stored. The live stream of a Space
subscribes here; with Kafka configured they also go to their own topics.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Listener = Callable[[str, str, dict[str, Any]], None]  # (space_id, kind, payload)


class LiveEvents:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._unsubscribe(listener)

    def publish(self, space_id: str, kind: str, payload: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(space_id, kind, payload)

    def _unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.remove(listener)
