"""Short-lived events (presence, reactions, captions) to their own Kafka topics:
`<prefix>presence`, `<prefix>reactions`, `<prefix>captions`, keyed by Space id. Not stored in
the event store.

Sending happens on a thread of its own behind a bounded queue: the media node's event
loop never waits for Kafka, and while Kafka is away the newest events are kept and the
oldest dropped.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from infrastructure.kafka_relay import ensure_topic
from infrastructure.live import Newest

log = logging.getLogger(__name__)
TOPICS = {"presence": "presence", "reaction": "reactions", "caption": "captions"}


class LiveToKafka:
    def __init__(self, bootstrap: str, prefix: str, partitions: int = 3, capacity: int = 10_000):
        self.bootstrap, self.prefix, self.partitions = bootstrap, prefix, partitions
        self._queue: Newest[tuple[str, bytes, bytes] | None] = Newest(capacity)
        self.ready = True
        self._thread = threading.Thread(target=self._run, name="live-to-kafka", daemon=True)

    def topic(self, kind: str) -> str:
        return self.prefix + TOPICS[kind]

    def __call__(self, space_id: str, kind: str, payload: dict[str, Any]) -> None:
        """A LiveEvents listener."""
        if kind not in TOPICS or payload.get("one_by_one") is False:
            return  # a reaction past its Space's rate is only counted on the stream
        message = (self.topic(kind), space_id.encode(),
                   json.dumps({"space_id": space_id, **payload}).encode())
        self._queue.offer(message)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)

    def _run(self) -> None:
        producer = None
        while (message := self._queue.get()) is not None:
            try:
                if producer is None:
                    for kind in TOPICS:
                        ensure_topic(self.bootstrap, self.topic(kind), self.partitions)
                    producer = KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5,
                                             client_id="spaces-live")
                topic, key, value = message
                producer.send(topic, key=key, value=value)
            except KafkaError as error:
                log.warning("live events to Kafka paused (%s)", error)
                producer = None
        if producer is not None:
            producer.flush(timeout=5)
            producer.close(timeout=5)
