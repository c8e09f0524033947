"""Short-lived events between processes through PostgreSQL's LISTEN/NOTIFY."""

from __future__ import annotations

from infrastructure.live import LiveEvents
from infrastructure.pg_live import LiveThroughPostgres
from tests.integration.faults import eventually


def test_what_one_process_publishes_reaches_the_others_once(database_url):
    here, there = LiveEvents(), LiveEvents()
    heard_here: list[tuple] = []
    heard_there: list[tuple] = []
    sent_on_from_there: list[tuple] = []
    here.subscribe(lambda *event: heard_here.append(event))
    there.subscribe(lambda *event: heard_there.append(event))
    there.subscribe(lambda *event: sent_on_from_there.append(event), outbound=True)
    bridges = [LiveThroughPostgres(database_url, here), LiveThroughPostgres(database_url, there)]
    for bridge in bridges:
        bridge.start()
    try:
        assert eventually(lambda: all(b.ready for b in bridges), timeout=10)
        here.publish("space", "talking", {"speakers": ["ann"]})
        assert eventually(lambda: heard_there == [("space", "talking", {"speakers": ["ann"]})], timeout=5)
        assert heard_here == [("space", "talking", {"speakers": ["ann"]})]  # once, not echoed
        assert sent_on_from_there == []  # what came from elsewhere is not sent on again
        here.publish("space", "caption", {"text": "x" * 10_000})  # too long for NOTIFY: kept here
        there.publish("space", "presence", {"listeners": 2})
        assert eventually(lambda: len(heard_here) == 3, timeout=5)
        assert heard_here[-1] == ("space", "presence", {"listeners": 2})
        assert len(heard_there) == 2
    finally:
        for bridge in bridges:
            bridge.stop()
