"""A projection worker: one member of a Kafka consumer group feeding the projections.

For each partition it records, in the same PostgreSQL transaction as the rows a
batch changed, the last offset it consumed and the last event position it applied.
A restarted worker resumes after its own recorded offset (not the group's), and a
message whose position it has applied already (the relay may resend after a crash)
changes nothing. Events a rebuild covered are skipped too. A projection whose handler
raises stops in this worker while the others go on (projections/faults.py); since the
worker keeps one position per partition, it takes that projection's events again only
after `spaces rebuild`, which honours the operators' `spaces views skip` decisions.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError

from application.background import BackgroundThread
from infrastructure.kafka_messages import notification_of
from infrastructure.kafka_relay import ensure_topic
from projections.base import Projection
from projections.faults import FAULTS_SCHEMA, Faults
from projections.runner import all_projections, apply_in_runs

if TYPE_CHECKING:
    from application.ports import Views
    from application.spaces import SpacesApplication

log = logging.getLogger(__name__)

SESSION_TIMEOUT_MS = 10_000
# A rebalance still unfinished after this long will not finish: the broker has dropped a
# member that sends no heartbeats by then. The worker starts over with a new consumer.
STALLED_REBALANCE_SECONDS = SESSION_TIMEOUT_MS / 1000 + 2

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kafka_positions (topic TEXT NOT NULL, partition INTEGER NOT NULL, "
    "last_offset BIGINT NOT NULL, position BIGINT NOT NULL, worker TEXT NOT NULL, "
    "applied_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (topic, partition))",
    FAULTS_SCHEMA,
)


def create_worker_tables(views: Views) -> None:
    with views.transaction() as cursor:
        for statement in SCHEMA:
            cursor.execute(statement)


class ProjectionWorker(BackgroundThread, ConsumerRebalanceListener):
    def __init__(self, app: SpacesApplication, views: Views, bootstrap: str, topic: str, group: str,
                 projections: list[Projection] | None = None, worker_id: str | None = None,
                 partitions: int = 3):
        BackgroundThread.__init__(self, "projection-worker")
        self.mapper = app.mapper
        self.views = views
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = group
        self.partitions = partitions
        self.projections = projections or all_projections()
        self.worker_id = worker_id
        self.name = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.applied = 0
        self.applied_listeners: list[Callable[[], None]] = []  # told after each batch applied
        self.faults = Faults(app, views)
        self.ready = False  # it has been given its partitions
        self._consumer: KafkaConsumer | None = None
        self._rebalancing_since: float | None = None
        create_worker_tables(views)

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._consume()
            except KafkaError as error:
                log.warning("projection worker paused (%s); retrying", error)
                self._stopped.wait(1.0)

    def _consume(self) -> None:
        # Joining the group before the relay has created the topic left kafka-python 3.0.12
        # spinning in its coordinator lookup, with no partitions, for good.
        ensure_topic(self.bootstrap, self.topic, self.partitions)
        consumer = self._consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group, client_id=self.name,
            group_instance_id=self.worker_id, session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=1_000, enable_auto_commit=False,
            auto_offset_reset="earliest", max_poll_records=2_000, fetch_max_wait_ms=5,
        )
        try:
            self._rebalancing_since = time.monotonic()
            consumer.subscribe([self.topic], listener=self)
            self._learn_partitions(consumer)
            while not self._stopped.is_set():
                if self._rebalance_stalled():
                    log.warning("projection worker: rebalance unfinished after %.0f s; "
                                "starting over with a new consumer", STALLED_REBALANCE_SECONDS)
                    return
                for partition, messages in consumer.poll(timeout_ms=100).items():
                    self._apply(partition, messages)
                    consumer.commit_async()  # for tools that watch the group; PostgreSQL is the truth
        finally:
            consumer.close()

    def _learn_partitions(self, consumer: KafkaConsumer) -> None:
        """Have the subscribed consumer see the topic's partitions before it joins the group.

        Joining first gets an empty assignment and a second rebalance as soon as the
        partitions appear; kafka-python 3.0.12 can drop that rebalance's result (a poll
        that times out while it is in flight never applies it), leaving the worker with
        no partitions until the broker evicts it.
        """
        deadline = time.monotonic() + 10
        while (not consumer.partitions_for_topic(self.topic) and time.monotonic() < deadline
               and not self._stopped.wait(0.05)):
            pass

    def _rebalance_stalled(self) -> bool:
        since = self._rebalancing_since
        return since is not None and time.monotonic() - since > STALLED_REBALANCE_SECONDS

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        assert self._consumer is not None, "assigned while consuming"
        for partition in assigned:
            row = self.views.row(
                "SELECT last_offset FROM kafka_positions WHERE topic = ? AND partition = ?",
                (partition.topic, partition.partition))
            if row is None:
                self._consumer.seek_to_beginning(partition)
            else:
                self._consumer.seek(partition, row["last_offset"] + 1)
        self._rebalancing_since = None
        self.ready = True

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Every batch is already committed with its effects; only note a rebalance began.
        self._rebalancing_since = time.monotonic()

    def _apply(self, partition: TopicPartition, messages: list[Any]) -> None:
        try:
            with self.faults.kept_unless_committed():
                applied = self._apply_messages(partition, messages, careful=False)
        except Exception:
            # Again, event by event: a projection whose handler raises stops there.
            with self.faults.kept_unless_committed():
                applied = self._apply_messages(partition, messages, careful=True)
        self.applied += applied  # counted once the batch has committed
        for listener in self.applied_listeners:
            listener()

    def _apply_messages(self, partition: TopicPartition, messages: list[Any], careful: bool) -> int:
        """Applies a partition's messages in one transaction; returns how many events it applied."""
        with self.views.transaction() as cursor:
            cursor.execute(
                "SELECT last_offset, position FROM kafka_positions "
                "WHERE topic = ? AND partition = ? FOR UPDATE",
                (partition.topic, partition.partition))
            row = cursor.fetchone()
            last_offset, applied = row if row else (-1, 0)
            cursor.execute("SELECT MIN(position) FROM projection_positions")
            rebuilt_up_to = cursor.fetchone()[0] or 0
            self.faults.reconcile(cursor)
            due = []
            for message in messages:
                if message.offset <= last_offset:
                    continue
                notification = notification_of(message.value, message.headers)
                if notification.id > max(applied, rebuilt_up_to):
                    due.append(notification)
                    applied = notification.id
                last_offset = message.offset
            running = self.faults.running(self.projections)
            if careful:
                for notification in due:
                    event = self.mapper.to_domain_event(notification)
                    for projection in running:
                        self.faults.apply(projection, event, notification.id, cursor)
            else:
                apply_in_runs(self.mapper.to_domain_event, due, running, cursor)
            cursor.execute(
                "INSERT INTO kafka_positions (topic, partition, last_offset, position, worker, "
                "applied_at) VALUES (?, ?, ?, ?, ?, now()) ON CONFLICT (topic, partition) DO UPDATE "
                "SET last_offset = excluded.last_offset, position = excluded.position, "
                "worker = excluded.worker, applied_at = excluded.applied_at",
                (partition.topic, partition.partition, last_offset, applied, self.name))
        return len(due)
