"""Faults on the path from the event store through Kafka to the views. Each test is
bounded in time and stops by itself; Kafka is always started again."""

from __future__ import annotations

import time

import psycopg
import pytest

from api.bootstrap import build, projection_worker
from infrastructure import kafka_projection_worker as kafka_worker
from tests.integration.faults import Worker, assert_views_equal_a_rebuild, eventually, many_events
from tests.integration.kafka_topic import positions_of, read_topic
from tests.scenario import play
from tests.support import services


def relay_position(system) -> int:
    return system.progress.relay_position()


@pytest.mark.restarts_kafka
def test_commands_succeed_while_kafka_is_down_and_the_views_converge_after(kafka_settings):
    system = build(kafka_settings)
    system.start()
    try:
        play(system.app)
        assert system.progress.wait_for(system.app.position(), timeout=30)
        services("down", "kafka")
        try:
            written_while_down = many_events(system.app, spaces=40, per_save=1)
            time.sleep(2)  # the relay and the workers keep failing for a while
            assert system.progress.position() < written_while_down
        finally:
            services("up", "kafka")
        converged = system.progress.wait_for(written_while_down, timeout=120)
        assert converged, (f"relay at {system.progress.relay_position()} of {written_while_down}; "
                           f"partitions {system.progress.partitions()}")
        assert_views_equal_a_rebuild(system)
    finally:
        system.close()


def test_a_relay_killed_mid_stream_loses_nothing_and_duplicates_are_ignored(kafka_settings, tmp_path):
    system = build(kafka_settings, workers=False)
    relay = Worker("relay", kafka_settings, tmp_path, "relay-1")
    try:
        target = many_events(system.app, spaces=2000)
        assert eventually(lambda: relay_position(system) > 0, timeout=60), relay.output()[-3000:]
        relay.kill()
        assert relay_position(system) < target, "the relay finished before it could be killed"
        relay = Worker("relay", kafka_settings, tmp_path, "relay-2")
        assert eventually(lambda: relay_position(system) == target, timeout=180), relay.output()[-3000:]
        assert eventually(lambda: system.chain.verify().checked == target, timeout=30)  # chained too
        relay.stop()

        # What a crash between the broker's ack and the recorded position causes: resends.
        with psycopg.connect(kafka_settings.database_url, autocommit=True) as connection:
            connection.execute("UPDATE relay_position SET position = position - 700")
        relay = Worker("relay", kafka_settings, tmp_path, "relay-3")

        def published() -> list[int]:
            return positions_of(read_topic(kafka_settings.kafka_bootstrap, kafka_settings.kafka_topic))

        assert eventually(lambda: len(published()) >= target + 700, timeout=60, interval=0.5)
        positions = published()
        assert set(positions) == set(range(1, target + 1))  # nothing lost
        assert len(positions) > target  # and the topic does hold repeats

        worker = projection_worker(system)
        worker.start()
        try:
            assert system.progress.wait_for(target, timeout=120)
        finally:
            worker.stop()
        assert worker.applied == target  # every event applied once, every repeat skipped
        assert_views_equal_a_rebuild(system)
    finally:
        relay.stop()
        system.close()


def test_a_projection_worker_killed_mid_batch_resumes_and_the_views_equal_a_rebuild(
        kafka_settings, tmp_path):
    system = build(kafka_settings, workers=False)
    relay = Worker("relay", kafka_settings, tmp_path, "relay")
    worker = None
    try:
        target = many_events(system.app, spaces=3000)
        assert eventually(lambda: relay_position(system) == target, timeout=120)
        same_worker = {"SPACES_WORKER_ID": "worker-a"}  # static membership: no session wait
        worker = Worker("project", kafka_settings, tmp_path, "worker-1", same_worker)

        def applied() -> int:
            return sum(p["applied_offset"] + 1 for p in system.progress.partitions())

        assert eventually(lambda: applied() > target // 5, timeout=120, interval=0.01), \
            worker.output()[-3000:]
        worker.kill()
        assert applied() < target, "the worker finished before it could be killed"
        worker = Worker("project", kafka_settings, tmp_path, "worker-2", same_worker)
        assert system.progress.wait_for(target, timeout=120), worker.output()[-3000:]
        assert_views_equal_a_rebuild(system)
    finally:
        if worker:
            worker.stop()
        relay.stop()
        system.close()


def test_of_two_relays_only_one_publishes_and_the_other_takes_over(kafka_settings, tmp_path):
    system = build(kafka_settings, workers=False)
    relays = [Worker("relay", kafka_settings, tmp_path, f"relay-{i}") for i in (1, 2)]
    try:
        first = many_events(system.app, spaces=300)
        assert eventually(lambda: relay_position(system) == first, timeout=60), \
            "\n".join(r.output()[-1500:] for r in relays)
        leaders = [r for r in relays if "relay is the leader" in r.output()]
        assert len(leaders) == 1
        leaders[0].kill()
        (standby,) = [r for r in relays if r is not leaders[0]]
        second = many_events(system.app, spaces=100)
        assert eventually(lambda: relay_position(system) == second, timeout=60)
        assert "relay is the leader" in standby.output()
        positions = positions_of(read_topic(kafka_settings.kafka_bootstrap, kafka_settings.kafka_topic))
        assert set(positions) == set(range(1, second + 1))
        assert len(positions) == second  # the standby published nothing while it stood by
    finally:
        for relay in relays:
            relay.stop()
        system.close()


def test_a_projection_worker_started_before_the_topic_exists_gets_its_partitions(
        kafka_settings, tmp_path):
    system = build(kafka_settings, workers=False)
    worker = Worker("project", kafka_settings, tmp_path, "early-worker")
    relay = None
    try:
        time.sleep(2)  # the worker is in the group before the relay creates the topic
        relay = Worker("relay", kafka_settings, tmp_path, "relay")
        target = many_events(system.app, spaces=50)
        assert system.progress.wait_for(target, timeout=60), worker.output()[-3000:]
    finally:
        if relay:
            relay.stop()
        worker.stop()
        system.close()


def test_a_projection_worker_whose_rebalance_stalls_starts_over_and_catches_up(
        kafka_settings, monkeypatch):
    monkeypatch.setattr(kafka_worker, "STALLED_REBALANCE_SECONDS", 3.0)
    system = build(kafka_settings)
    worker = next(w for w in system.background if isinstance(w, kafka_worker.ProjectionWorker))
    system.start()
    try:
        play(system.app)
        assert system.progress.wait_for(system.app.position(), timeout=30)
        stalled_consumer = worker._consumer
        worker.on_partitions_revoked([])  # a rebalance begins and its assignment never comes
        assert eventually(lambda: worker._consumer is not stalled_consumer, timeout=30)
        target = many_events(system.app, spaces=20)
        assert system.progress.wait_for(target, timeout=30), system.progress.partitions()
        assert_views_equal_a_rebuild(system)
    finally:
        system.close()


def test_a_new_projection_worker_gets_every_partition_in_its_first_assignment(kafka_settings):
    system = build(kafka_settings, workers=False)
    worker = projection_worker(system)  # the first in its group, on a topic not created yet
    assignments = []
    assign = worker.on_partitions_assigned
    worker.on_partitions_assigned = lambda assigned: (
        assignments.append(sorted(p.partition for p in assigned)), assign(assigned))
    worker.start()
    try:
        assert eventually(lambda: worker.ready, timeout=30)
        assert assignments == [[0, 1, 2]]  # no empty first generation, no second rebalance
    finally:
        worker.stop()
        system.close()
