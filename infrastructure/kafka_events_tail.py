"""The events topic read from its end, for processes that need only what happens from now
on (a media node: the events of its own rooms). Reads every partition without a consumer
group and hands each batch to its subscribers, like the store feed does."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from application.background import BackgroundThread
from infrastructure.kafka_messages import notification_of

log = logging.getLogger(__name__)
Subscriber = Callable[[list[Any]], None]


class KafkaEventsTail(BackgroundThread):
    def __init__(self, bootstrap: str, topic: str):
        super().__init__("kafka-events-tail")
        self.bootstrap, self.topic = bootstrap, topic
        self.ready = False  # until the end of every partition is known
        self._subscribers: list[Subscriber] = []

    def subscribe(self, on_batch: Subscriber) -> None:
        self._subscribers.append(on_batch)

    def unsubscribe(self, on_batch: Subscriber) -> None:
        if on_batch in self._subscribers:
            self._subscribers.remove(on_batch)

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                         enable_auto_commit=False, fetch_max_wait_ms=50)
                try:
                    self._from_the_end(consumer)
                finally:
                    consumer.close()
            except KafkaError as error:
                log.warning("events from Kafka paused (%s)", error)
                self._stopped.wait(1.0)

    def _from_the_end(self, consumer: KafkaConsumer) -> None:
        while not (partitions := consumer.partitions_for_topic(self.topic)):
            if self._stopped.wait(0.5):  # the relay creates the topic
                return
        assigned = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_end(*assigned)
        for partition in assigned:
            consumer.position(partition)  # resolve "the end" now, before anything new arrives
        self.ready = True
        while not self._stopped.is_set():
            for messages in consumer.poll(timeout_ms=200).values():
                batch = [notification_of(m.value, m.headers) for m in messages]
                for on_batch in list(self._subscribers):
                    try:
                        on_batch(batch)
                    except Exception:
                        log.exception("%s could not apply a Kafka batch", on_batch)
