"""With Kafka, the media node hears about Space changes from the events topic, in time."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

from api.bootstrap import build
from infrastructure.kafka_events_tail import KafkaEventsTail
from media.domain_feed import DomainFeed
from tests.integration.faults import eventually


class NodeThatListens:
    def __init__(self) -> None:
        self.rooms: dict[str, SimpleNamespace] = {}
        self.changes: list[tuple[float, str, str, dict, set]] = []

    async def space_changed(self, space_id, state, stage, kept_out, recording=False,
                            transcripts=False) -> None:
        self.changes.append((time.monotonic(), space_id, state, stage, kept_out))


def test_mute_removal_and_end_reach_the_media_node_through_kafka(kafka_settings):
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    system = build(kafka_settings)
    system.start()
    node = NodeThatListens()
    events = KafkaEventsTail(kafka_settings.kafka_bootstrap, kafka_settings.kafka_topic)
    feed = DomainFeed(system.app, node, loop, events)
    try:
        app = system.app
        host, guest, fan = (app.register_account(h).id for h in ("host", "guest", "fan"))
        space = app.create_space(host, "Through Kafka").id
        app.launch(space, host)  # the relay creates the topic
        feed.start()
        events.start()
        assert eventually(lambda: events.ready, timeout=30)
        node.rooms[str(space)] = SimpleNamespace(space_id=str(space), host_id=str(host))
        app.grant_speaker(space, host, guest)
        app.unmute(space, guest, guest)
        assert eventually(lambda: any(c[3].get(str(guest)) is False for c in node.changes),
                          timeout=15), f"relay at {system.progress.relay_position()}, changes {node.changes}"

        for command, seen in [
            (lambda: app.mute_speaker(space, host, guest),
             lambda c: c[3].get(str(guest)) is True),
            (lambda: app.remove_user(space, host, fan, "spam"),
             lambda c: str(fan) in c[4]),
            (lambda: app.end(space, host),
             lambda c: c[2] == "ended"),
        ]:
            sent = time.monotonic()
            command()
            # Arrives in milliseconds; the bound only keeps a loaded machine from failing it.
            assert eventually(lambda: any(c[0] >= sent and seen(c) for c in node.changes),
                              timeout=15), node.changes
    finally:
        events.stop()
        feed.stop()
        system.close()
        loop.call_soon_threadsafe(loop.stop)
