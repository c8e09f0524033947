"""Short-lived events between the processes of one deployment (API workers, media nodes),
through PostgreSQL's LISTEN/NOTIFY: what one process publishes (who is talking, presence,
captions, reactions) reaches the live streams served by every other.

Sending happens on a thread of its own behind a bounded queue, so the media node's event
loop never waits for the database; while the database is away the newest events are kept
and the oldest dropped. Delivery is at most once: these events are never stored.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from typing import Any

import psycopg

from infrastructure.live import LiveEvents

log = logging.getLogger(__name__)
CHANNEL = "spaces_live"
MAX_PAYLOAD = 7_900  # NOTIFY's limit is 8000 bytes
RETRY_SECONDS = 1.0


class LiveThroughPostgres:
    def __init__(self, database_url: str, live: LiveEvents, capacity: int = 10_000):
        self.database_url, self.live = database_url, live
        self.sender = uuid.uuid4().hex  # this process: what it sent comes back to it too
        self._queue: queue.Queue[str | None] = queue.Queue(capacity)
        self._stopped = threading.Event()
        self._threads = [threading.Thread(target=self._send, name="live-to-postgres", daemon=True),
                         threading.Thread(target=self._hear, name="live-from-postgres", daemon=True)]
        self.ready = False  # listening
        self.dropped = 0

    def __call__(self, space_id: str, kind: str, payload: dict[str, Any]) -> None:
        """A LiveEvents listener: what this process publishes goes to the others."""
        message = json.dumps({"from": self.sender, "space_id": space_id, "kind": kind,
                              "payload": payload})
        if len(message.encode()) > MAX_PAYLOAD:
            log.warning("a %s event of Space %s is too long for the other processes", kind, space_id)
            return
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self._queue.get_nowait()
            self._queue.put_nowait(message)
            self.dropped += 1

    def start(self) -> None:
        self.live.subscribe(self, outbound=True)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._queue.put(None)
        for thread in self._threads:
            if thread.ident is not None:  # a system closed without starting never ran them
                thread.join(timeout=5)

    def _send(self) -> None:
        connection: psycopg.Connection | None = None
        while (message := self._queue.get()) is not None:
            try:
                if connection is None or connection.closed:
                    connection = psycopg.connect(self.database_url, autocommit=True)
                connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, message))
            except psycopg.Error as error:
                log.warning("live events to the other processes paused (%s)", error)
                connection = None
                self._stopped.wait(RETRY_SECONDS)
        if connection is not None:
            connection.close()

    def _hear(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self.database_url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self.ready = True
                    while not self._stopped.is_set():
                        for notice in connection.notifies(timeout=0.5):
                            self._deliver(notice.payload)
            except psycopg.Error as error:
                self.ready = False
                log.warning("live events from the other processes paused (%s)", error)
                self._stopped.wait(RETRY_SECONDS)

    def _deliver(self, raw: str) -> None:
        message = json.loads(raw)
        if message["from"] != self.sender:
            self.live.publish(message["space_id"], message["kind"], message["payload"],
                              from_elsewhere=True)
