"""Notifications on PostgreSQL: two notifiers share a launch and every follower and
reminder setter hears of it exactly once, also when a notifier process is SIGKILLed
mid-fan-out; the HTTP reads and the live stream on PostgreSQL views."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import build
from domain.people import Account, Follow
from domain.reminders import Reminder
from infrastructure.settings import Settings
from projections.fanout import Notifier
from projections.notifications import NotificationQueries
from tests.integration.faults import Worker, assert_views_equal_a_rebuild, eventually
from tests.support import register
from tests.unit.test_http_notifications import read_events


def audience(app, followers: int, setters: int, per_save: int = 500):
    """A host with `followers` followers and a scheduled Space that `setters` others (and
    every tenth follower) set a reminder for; saved many at a time. The host and the Space."""
    host = app.register_account(f"host{time.monotonic_ns()}").id
    space = app.create_space(host, "Big show",
                             scheduled_for=datetime.now(timezone.utc) + timedelta(days=1)).id
    people = [Account.register(f"p{i}x{time.monotonic_ns()}") for i in range(followers + setters)]
    for start in range(0, len(people), per_save):
        batch = people[start:start + per_save]
        edges, reminders = [], []
        for i, person in enumerate(batch, start):
            if i < followers:
                edge = Follow.between(person.id, host)
                edge.follow()
                edges.append(edge)
            if i >= followers or i % 10 == 0:
                reminder = Reminder(space, person.id)
                reminder.set()
                reminders.append(reminder)
        app.save(*batch, *edges, *reminders)
    return host, space, {str(p.id) for p in people}


def recipients(views, position) -> Counter:
    return Counter(r["recipient_id"] for r in views.rows(
        "SELECT recipient_id FROM notifications WHERE position = ?", (position,)))


def test_two_notifiers_share_a_launch_and_each_recipient_hears_once(database_url, tmp_path):
    system = build(Settings(database_url=database_url, data_dir=tmp_path, secret="s"), workers=False)
    try:
        host, space, everyone = audience(system.app, followers=1_500, setters=300)
        launched = system.app.launch(space, host).position
        system.projections.catch_up()
        notifiers = [Notifier(system.views, batch=40) for _ in range(2)]
        batches: list[int] = []
        threads = [threading.Thread(target=lambda n=n: batches.append(n.step())) for n in notifiers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert NotificationQueries(system.views).fanned_out(launched)
        counts = recipients(system.views, launched)
        assert set(counts) == everyone and set(counts.values()) == {1}
        assert len(batches) == 2 and min(batches) > 5, batches  # both took a share
        numbers = system.views.rows("SELECT recipient_id, rseq FROM notifications")
        assert {r["rseq"] for r in numbers} == {1}
        assert_views_equal_a_rebuild(system)
    finally:
        system.close()


def test_a_notifier_killed_mid_fan_out_loses_and_repeats_nothing(database_url, tmp_path):
    settings = Settings(database_url=database_url, data_dir=tmp_path, secret="s")
    system = build(settings, workers=False)
    worker = None
    try:
        host, space, everyone = audience(system.app, followers=3_000, setters=200)
        launched = system.app.launch(space, host).position
        slow = {"SPACES_NOTIFICATION_BATCH": "10"}
        worker = Worker("project", settings, tmp_path, "project-1", slow)

        def written() -> int:
            return sum(recipients(system.views, launched).values())

        assert eventually(lambda: written() > len(everyone) // 10, timeout=60, interval=0.01), \
            worker.output()[-3000:]
        worker.kill()
        assert written() < len(everyone), "the notifier finished before it could be killed"
        worker = Worker("project", settings, tmp_path, "project-2")
        assert eventually(lambda: NotificationQueries(system.views).fanned_out(launched), timeout=60), \
            worker.output()[-3000:]
        counts = recipients(system.views, launched)
        assert set(counts) == everyone and set(counts.values()) == {1}
    finally:
        if worker:
            worker.stop()
        system.close()


def test_notifications_and_their_stream_on_postgres(database_url, tmp_path):
    settings = Settings(database_url=database_url, data_dir=tmp_path, secret="s")
    with TestClient(create_app(settings)) as client:
        host, fan = register(client, "host"), register(client, "fan")
        client.put(f"/v1/accounts/{fan.id}/following/{host.id}", headers=fan.auth)
        with client.stream("GET", "/v1/notifications/stream", headers=fan.auth) as stream:
            lines = stream.iter_lines()
            assert read_events(lines, 1)[0]["data"] == {"count": 0}
            space = client.post("/v1/spaces", json={"title": "Live"}, headers=host.auth).json()["id"]
            launched = client.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()["position"]
            first = read_events(lines, 1)[0]
        assert (first["event"], first["id"], first["data"]["id"]) == ("notification", 1, launched)
        page = client.get("/v1/notifications", params={"after": launched}, headers=fan.auth).json()
        assert [n["id"] for n in page["items"]] == [launched] and page["unread_count"] == 1
        marked = client.post("/v1/notifications/read", json={"up_to": launched}, headers=fan.auth).json()
        assert client.get("/v1/notifications", params={"after": marked["position"]},
                          headers=fan.auth).json()["unread_count"] == 0


def test_through_kafka_a_projection_worker_killed_mid_fan_out_loses_and_repeats_nothing(
        kafka_settings, tmp_path):
    """`spaces project` with Kafka runs the projection worker and the notifier: killed in the
    middle of a launch's fan-out, the next one finishes it, each recipient once."""
    system = build(kafka_settings, workers=False)
    relay = Worker("relay", kafka_settings, tmp_path, "relay")
    worker = None
    try:
        host, space, everyone = audience(system.app, followers=3_000, setters=200)
        launched = system.app.launch(space, host).position  # at once: follows are on other partitions
        slow = {"SPACES_NOTIFICATION_BATCH": "10", "SPACES_WORKER_ID": "worker-a"}
        worker = Worker("project", kafka_settings, tmp_path, "project-1", slow)

        def written() -> int:
            return sum(recipients(system.views, launched).values())

        assert eventually(lambda: written() > len(everyone) // 10, timeout=120, interval=0.01), \
            worker.output()[-3000:]
        worker.kill()
        assert written() < len(everyone), "the notifier finished before it could be killed"
        worker = Worker("project", kafka_settings, tmp_path, "project-2", {"SPACES_WORKER_ID": "worker-a"})
        assert eventually(lambda: written() == len(everyone) and
                          NotificationQueries(system.views).fanned_out(launched), timeout=120), \
            worker.output()[-3000:]
        counts = recipients(system.views, launched)
        assert set(counts) == everyone and set(counts.values()) == {1}
    finally:
        if worker:
            worker.stop()
        relay.stop()
        system.close()
