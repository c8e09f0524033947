"""Logs the live signals this process publishes (presence, who is talking, reactions) for
the analytics, in batches, from a thread of its own (projections/signals.py says why).

It listens to LiveEvents as an outbound listener, so it hears what this process
publishes and not what arrives from the other processes (which log their own): each
signal is logged once, by the process it comes from. Each is stamped when it is heard.
Writing never holds up the publisher: signals wait in a bounded buffer (the oldest are
dropped, and counted, while the views are away) and go out every `every` seconds.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections import Counter
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from application.background import BackgroundThread
from projections import signals

if TYPE_CHECKING:
    from application.ports import Views

log = logging.getLogger(__name__)
KINDS = ("presence", "talking", "reaction")


class SignalRecorder(BackgroundThread):
    def __init__(self, views: Views, every: float = 0.5, capacity: int = 100_000):
        super().__init__("signal-recorder")
        self.views = views
        self.every = every
        self.capacity = capacity
        self.dropped = 0
        self._pending: list[tuple[str, str, str, dict[str, Any]]] = []
        self._lock = threading.Lock()  # the buffer
        self._writing = threading.Lock()  # one flush at a time
        self._seq = itertools.count(1)

    def __call__(self, space_id: str, kind: str, payload: dict[str, Any]) -> None:
        """A LiveEvents listener: called by whoever publishes (any thread)."""
        if kind not in KINDS:
            return
        heard = (space_id, kind, datetime.now(timezone.utc).isoformat(), payload)
        with self._lock:
            if len(self._pending) >= self.capacity:
                self._pending.pop(0)
                self.dropped += 1
            self._pending.append(heard)

    def run(self) -> None:
        while not self._stopped.wait(self.every):
            try:
                self.flush()
            except Exception:
                log.exception("live signals not logged yet; trying again")

    def stop(self) -> None:
        super().stop()
        try:
            self.flush()
        except Exception:
            log.exception("live signals lost at shutdown")

    def flush(self) -> None:
        """Writes what is waiting, in one transaction; kept for the next try if it fails.
        Returns once everything heard before the call is written, also by a flush that
        another thread had under way."""
        with self._writing:
            self._write()

    def _write(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        presence, talking, reactions = [], [], Counter[tuple[str, str]]()
        for space_id, kind, at, payload in batch:
            if kind == "presence":
                presence.append((space_id, at, next(self._seq), int(payload["listeners"]),
                                 payload.get("change"), payload.get("user_id")))
            elif kind == "talking":
                talking.append((space_id, at, next(self._seq),
                                json.dumps(sorted(payload["speakers"]))))
            else:
                reactions[(space_id, payload["emoji"])] += 1
        try:
            signals.write(self.views, presence, talking, dict(reactions))
        except Exception:
            with self._lock:
                self._pending[:0] = batch
                del self._pending[:max(len(self._pending) - self.capacity, 0)]
            raise
