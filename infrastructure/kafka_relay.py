"""The relay: tails the event store's notification log and publishes every event to Kafka.

Only one relay publishes at a time: the leader holds a PostgreSQL advisory lock on
its own connection; any other relay waits as a standby and takes over when that
connection goes. The relay records its position (and the last offset per partition)
only after the broker has acknowledged a batch, so a crash repeats at most the
unacknowledged batch; consumers skip the repeats by position. While Kafka is
away, commands keep succeeding and the relay retries from its recorded position.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import psycopg
from eventsourcing.persistence import Notification
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from application.background import BackgroundThread
from infrastructure.kafka_messages import message_headers, message_key

if TYPE_CHECKING:
    from application.command_application import CommandApplication

log = logging.getLogger(__name__)

RELAY_LOCK = 0x5245_4C41  # "RELA"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS relay_position (topic TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS relay_offsets (topic TEXT NOT NULL, partition INTEGER NOT NULL, "
    "last_offset BIGINT NOT NULL, position BIGINT NOT NULL, published_at TIMESTAMPTZ NOT NULL, "
    "PRIMARY KEY (topic, partition))",
)


def create_relay_tables(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        for statement in SCHEMA:
            connection.execute(statement)


def ensure_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="spaces-admin")
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


class Relay(BackgroundThread):
    def __init__(self, app: CommandApplication, database_url: str, bootstrap: str, topic: str,
                 partitions: int = 3, batch_size: int = 500, poll_interval: float = 0.5):
        super().__init__("relay")
        self.app = app
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = partitions
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.ready = False  # it has found out whether it leads or stands by
        create_relay_tables(database_url)

    def run(self) -> None:
        backoff = 0.5
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self.database_url, autocommit=True) as leadership:
                    self._lead(leadership)
                backoff = 0.5
            except (KafkaError, psycopg.Error, OSError) as error:
                log.warning("relay paused (%s); retrying in %.1f s", error, backoff)
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _lead(self, leadership: psycopg.Connection) -> None:
        while not (leadership.execute(
                "SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK,)).fetchone() or (False,))[0]:
            self.ready = True  # a standby is ready too
            if self._stopped.wait(1.0):
                return
        log.info("relay is the leader; publishing to %s", self.topic)
        leadership.execute(f"LISTEN {self.app.recorder.channel_name}")  # type: ignore[attr-defined]
        ensure_topic(self.bootstrap, self.topic, self.partitions)
        self.ready = True
        producer = KafkaProducer(
            bootstrap_servers=self.bootstrap, client_id="spaces-relay", enable_idempotence=True,
            acks="all", linger_ms=0, max_block_ms=10_000, request_timeout_ms=10_000,
            delivery_timeout_ms=30_000,
        )
        try:
            position = self._recorded_position(leadership)
            while not self._stopped.is_set():
                batch = self.app.recorder.select_notifications(
                    start=position, limit=self.batch_size, inclusive_of_start=False)
                if not batch:
                    for _ in leadership.notifies(timeout=self.poll_interval, stop_after=1):
                        pass
                    continue
                position = self._publish(producer, leadership, batch)
        finally:
            producer.close(timeout=5)

    def _publish(self, producer: KafkaProducer, leadership: psycopg.Connection,
                 batch: Sequence[Notification]) -> int:
        futures = [
            producer.send(self.topic, key=message_key(self.app.event_of(n)),
                          value=n.state, headers=message_headers(n))
            for n in batch
        ]
        producer.flush(timeout=30)
        last_per_partition: dict[int, tuple[int, int]] = {}
        for notification, future in zip(batch, futures):
            metadata = future.get(timeout=0)  # raises if the broker did not acknowledge
            last_per_partition[metadata.partition] = (metadata.offset, notification.id)
        position = batch[-1].id
        with leadership.transaction():
            leadership.execute(
                "INSERT INTO relay_position (topic, position) VALUES (%s, %s) "
                "ON CONFLICT (topic) DO UPDATE SET position = excluded.position",
                (self.topic, position))
            for partition, (offset, at_position) in last_per_partition.items():
                leadership.execute(
                    "INSERT INTO relay_offsets (topic, partition, last_offset, position, published_at) "
                    "VALUES (%s, %s, %s, %s, now()) ON CONFLICT (topic, partition) DO UPDATE SET "
                    "last_offset = excluded.last_offset, position = excluded.position, "
                    "published_at = excluded.published_at",
                    (self.topic, partition, offset, at_position))
        return position

    def _recorded_position(self, connection: psycopg.Connection) -> int:
        row = connection.execute(
            "SELECT position FROM relay_position WHERE topic = %s", (self.topic,)).fetchone()
        return row[0] if row else 0
