"""The events topic read from its end, for processes that need only what happens from now
on (a media node: the events of its own rooms). Reads every partition without a consumer
group and hands each batch to its subscribers, like the store feed does."""

from __future__ import annotations

import logging

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from application.background import BackgroundThread, Subscribers
from infrastructure.kafka_messages import notification_of

log = logging.getLogger(__name__)


class KafkaEventsTail(Subscribers, BackgroundThread):
    def __init__(self, bootstrap: str, topic: str):
        Subscribers.__init__(self, "kafka-events-tail")
        BackgroundThread.__init__(self, "kafka-events-tail")
        self.bootstrap, self.topic = bootstrap, topic
        self.ready = False  # until the end of every partition is known

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
                self.hand_over([notification_of(m.value, m.headers) for m in messages])
