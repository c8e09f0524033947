"""Tells the media node about every change to a Space it carries audio for.

On any event of a Space with a room on this node it loads the Space and hands its state
to the node; a host's account-wide block disconnects the blocked user from that host's
rooms. The events come from the event store's notification log, through the process's
store feed (`System.store_feed`), or, with Kafka, from the events topic
(`KafkaDomainFeed`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from infrastructure.background import BackgroundThread
from infrastructure.kafka_messages import notification_of
from infrastructure.log_follower import LogFollower

log = logging.getLogger(__name__)


class DomainFeed:
    def __init__(self, app: Any, node: Any, loop: asyncio.AbstractEventLoop,
                 store_feed: LogFollower | None = None):
        self.app = app
        self.node = node
        self.loop = loop
        self._store_feed = store_feed
        self.ready = True

    def start(self) -> None:
        self._store_feed.subscribe(self.handle)

    def stop(self) -> None:
        self._store_feed.unsubscribe(self.handle)

    def handle(self, notifications: list[Any]) -> None:
        changed: dict[str, set[str]] = {}  # Space -> users to disconnect for a block
        for notification in notifications:
            space_id = str(notification.originator_id)
            if space_id in self.node.rooms:
                changed.setdefault(space_id, set())
            if notification.topic == "spaces:Blocked":
                event = self.app.mapper.to_domain_event(notification)
                for room in list(self.node.rooms.values()):
                    if room.host_id == str(event.blocker_id):
                        changed.setdefault(room.space_id, set()).add(str(event.blocked_id))
            elif notification.topic == "spaces:UserBlocked" and space_id in changed:
                changed[space_id].add(str(self.app.mapper.to_domain_event(notification).user_id))
        for space_id, blocked in changed.items():
            self._tell(space_id, blocked)

    def _tell(self, space_id: str, blocked: set[str]) -> None:
        space = self.app.space(UUID(space_id))
        stage = {str(user): muted for user, muted in space.stage.items()}
        kept_out = {str(user) for user in space.removed} | blocked
        asyncio.run_coroutine_threadsafe(
            self.node.space_changed(space_id, space.state, stage, kept_out, space.recording,
                                    space.transcripts),
            self.loop
        ).result(timeout=10)


class KafkaDomainFeed(BackgroundThread, DomainFeed):
    """The same, fed from the events topic. Every media node reads every partition from
    the end (no consumer group): it needs the events of its own rooms only, and loads a
    Space's state from the event store when a room opens."""

    def __init__(self, app: Any, node: Any, loop: asyncio.AbstractEventLoop,
                 bootstrap: str, topic: str):
        BackgroundThread.__init__(self, "media-kafka-feed")
        DomainFeed.__init__(self, app, node, loop)
        self.bootstrap, self.topic = bootstrap, topic
        self.ready = False

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
                log.warning("media feed from Kafka paused (%s)", error)
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
                try:
                    self.handle([notification_of(m.value, m.headers) for m in messages])
                except Exception:
                    log.exception("media feed could not apply a Kafka batch")
