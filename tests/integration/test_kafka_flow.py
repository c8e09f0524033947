"""Events flow from PostgreSQL through the relay and Kafka into the same views."""

from __future__ import annotations

import json
import os
import socket
from collections import defaultdict

from api.bootstrap import build
from api.metrics import Metrics
from infrastructure.settings import Settings
from tests.e2e.test_space_walk import walk_a_space
from tests.integration.faults import env_of
from tests.integration.kafka_topic import positions_of, read_topic
from tests.scenario import play, views_of
from tests.support import Server

EDGE_EVENTS = {"spaces:FollowEdgeCreated", "spaces:Followed", "spaces:Unfollowed",
               "spaces:BlockEdgeCreated", "spaces:Blocked", "spaces:Unblocked"}


def test_the_http_walk_on_postgres_and_kafka_publishes_every_event_in_order(kafka_settings, tmp_path):
    server = Server(tmp_path / "data", env_of(kafka_settings))
    try:
        walk_a_space(server)
    finally:
        server.stop()
    system = build(kafka_settings, workers=False)
    stored = system.app.position()
    system.close()

    records = read_topic(kafka_settings.kafka_bootstrap, kafka_settings.kafka_topic)
    assert sorted(positions_of(records)) == list(range(1, stored + 1))  # each once, none lost
    accounts = set()
    by_partition = defaultdict(list)
    for record in records:
        headers = {k: v.decode() for k, v in record.headers}
        assert set(headers) == {"position", "type", "version", "originator_id"}
        by_partition[record.partition].append(record)
        if headers["type"] == "spaces:AccountRegistered":
            accounts.add(headers["originator_id"])
        if headers["type"] not in EDGE_EVENTS:
            assert record.key.decode() == headers["originator_id"]
    for record in records:
        headers = {k: v.decode() for k, v in record.headers}
        if headers["type"] in EDGE_EVENTS:
            assert record.key.decode() in accounts  # keyed by the follower or blocker
    for records_in_partition in by_partition.values():
        versions = defaultdict(list)
        last_position = 0
        for record in sorted(records_in_partition, key=lambda r: r.offset):
            headers = {k: v.decode() for k, v in record.headers}
            assert int(headers["position"]) > last_position  # in store order
            last_position = int(headers["position"])
            versions[headers["originator_id"]].append(int(headers["version"]))
        for sequence in versions.values():
            assert sequence == list(range(1, len(sequence) + 1))


def test_views_through_kafka_equal_the_embedded_defaults_for_the_same_commands(kafka_settings, tmp_path):
    embedded = build(Settings(event_store="memory"))
    play(embedded.app, rounds=2)
    embedded.projections.catch_up()
    expected = views_of(embedded.views)
    embedded.close()

    system = build(kafka_settings)
    system.start()
    try:
        play(system.app, rounds=2)
        assert system.progress.wait_for(system.app.position(), timeout=30)
        assert views_of(system.views) == expected
        assert system.progress.position() == system.app.position()
        metrics = Metrics(system).registry
        assert metrics.get_sample_value("spaces_relay_events_behind") == 0
        assert metrics.get_sample_value("spaces_relay_position") == system.app.position()
        partitions = system.progress.partitions()  # those the relay has published to
        assert partitions
        for partition in partitions:
            labels = {"partition": str(partition["partition"]),
                      "worker": f"{socket.gethostname()}:{os.getpid()}"}
            assert metrics.get_sample_value("spaces_projection_offsets_behind", labels) == 0
    finally:
        system.close()


def test_presence_and_reactions_go_to_their_own_topics(kafka_settings):
    system = build(kafka_settings, workers=False)
    live = next(w for w in system.background if type(w).__name__ == "LiveToKafka")
    live.start()
    try:
        system.live.publish("space-1", "presence", {"listeners": 3, "change": "joined", "user_id": None})
        system.live.publish("space-1", "reaction", {"user_id": "u", "emoji": "🔥"})
    finally:
        live.stop()
        system.close()
    prefix = kafka_settings.kafka_live_prefix
    (presence,) = read_topic(kafka_settings.kafka_bootstrap, prefix + "presence")
    (reaction,) = read_topic(kafka_settings.kafka_bootstrap, prefix + "reactions")
    assert presence.key == b"space-1" and json.loads(presence.value)["listeners"] == 3
    assert json.loads(reaction.value)["emoji"] == "🔥"
