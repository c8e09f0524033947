"""Host analytics: the figures from the events and the live signals' logs, equal after a
rebuild; who may read them, and when."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from infrastructure import signal_recorder
from projections.analytics import listening, talk_seconds
from tests.support import assert_problem, register
from tests.unit.test_http_api import auditor_headers, live_space

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_listeners_and_talk_time_hold_from_one_change_to_the_next_within_the_space():
    counts = [(at(-5), 9), (at(0), 2), (at(10), 5), (at(20), 1), (at(40), 0), (at(50), 7)]
    peak, seconds = listening(counts, at(0), at(45))
    assert peak == 5  # 9 was before the launch and 7 after the end
    assert seconds == 2 * 10 + 5 * 10 + 1 * 20
    changes = [(at(1), ["ann"]), (at(4), ["ann", "bob"]), (at(5), []), (at(30), ["bob"])]
    assert talk_seconds(changes, at(0), at(32)) == {"ann": 4.0, "bob": 3.0}
    assert listening([], at(0), at(1)) == (0, 0.0) and talk_seconds([], at(0), at(1)) == {}


def signal(client, space, kind, payload) -> None:
    """What the media node publishes (api/bootstrap.py: on_presence, on_talking)."""
    client.app.state.system.live.publish(space, kind, payload)


def test_the_host_reads_the_figures_after_the_end_and_they_equal_a_rebuilds(client):
    check_analytics_equal_a_rebuilds(client)


def check_analytics_equal_a_rebuilds(client) -> None:
    """Run here on SQLite, and by tests/integration on PostgreSQL."""
    host, ann, bob, troll = (register(client, h) for h in ("host", "ann", "bob", "troll"))
    space = live_space(client, host)
    client.put(f"/v1/spaces/{space}/speakers/{ann.id}", headers=host.auth)
    client.post(f"/v1/spaces/{space}/speak-requests", headers=bob.auth)
    client.post(f"/v1/spaces/{space}/removals", json={"user_id": troll.id}, headers=host.auth)
    for who, emoji in ((bob, "🔥"), (bob, "🔥"), (ann, "👏")):
        client.post(f"/v1/spaces/{space}/reactions", json={"emoji": emoji}, headers=who.auth)
    for listeners, change, user in ((1, "joined", bob.id), (2, "joined", None), (3, "joined", bob.id),
                                    (2, "left", bob.id)):
        signal(client, space, "presence", {"listeners": listeners, "change": change, "user_id": user})
    signal(client, space, "talking", {"speakers": [host.id]})
    time.sleep(0.3)
    signal(client, space, "talking", {"speakers": [host.id, ann.id]})
    time.sleep(0.2)
    signal(client, space, "talking", {"speakers": []})
    assert_problem(client.get(f"/v1/spaces/{space}/analytics", headers=host.auth), 409, "once it has ended")
    ended = client.post(f"/v1/spaces/{space}/end", headers=host.auth).json()["position"]
    client.app.state.system.signals.flush()
    read = client.get(f"/v1/spaces/{space}/analytics", params={"after": ended}, headers=host.auth)
    assert read.status_code == 200, read.text
    figures = read.json()
    assert (figures["peak_listeners"], figures["unique_listeners"]) == (3, 2)
    assert figures["reactions"] == {"🔥": 2, "👏": 1}
    assert (figures["speak_requests"], figures["removals"], figures["blocks"]) == (1, 1, 0)
    talk = {s["handle"]: s["talk_seconds"] for s in figures["speakers"]}
    assert set(talk) == {"host", "ann"}
    assert 0.45 <= talk["host"] <= 0.9 and 0.15 <= talk["ann"] <= 0.5, talk
    assert 0 < figures["listen_minutes"] * 60 <= 2 * figures["duration_seconds"] + 0.01
    client.app.state.system.projections.rebuild()
    assert client.get(f"/v1/spaces/{space}/analytics", headers=auditor_headers(client)).json() == figures
    assert_problem(client.get(f"/v1/spaces/{space}/analytics", headers=ann.auth), 403, "host and auditors")
    assert_problem(client.get(f"/v1/spaces/{space}/analytics"), 401)


def test_the_openapi_document_describes_analytics(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "get" in paths["/v1/spaces/{space_id}/analytics"]


def test_a_flush_returns_only_once_a_flush_already_under_way_has_written(monkeypatch):
    """The analytics read flushes first: what the background flush took must be written
    by then, not still on its way."""
    order, writing, release = [], threading.Event(), threading.Event()

    def write(views, presence, talking, reactions) -> None:
        writing.set()
        release.wait(5)
        order.append(f"wrote {len(presence)}")

    monkeypatch.setattr(signal_recorder.signals, "write", write)
    recorder = signal_recorder.SignalRecorder(views=None)
    recorder("space", "presence", {"listeners": 1, "change": "joined"})
    background = threading.Thread(target=recorder.flush)
    background.start()
    assert writing.wait(5)
    reader = threading.Thread(target=lambda: (recorder.flush(), order.append("read")))
    reader.start()
    reader.join(0.2)  # a flush that did not wait would have returned by now
    release.set()
    background.join(5)
    reader.join(5)
    assert order == ["wrote 1", "read"]
