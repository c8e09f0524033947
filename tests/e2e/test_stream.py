"""The live stream of a Space, over server-sent events, against `spaces serve`."""

from __future__ import annotations

import asyncio

import httpx

from tests.stream_watcher import Watcher
from tests.support import register


def test_every_viewer_sees_what_changes_and_only_what_is_theirs(server):
    http = server.start()
    host, fan, troll = (register(http, h) for h in ("host", "fan", "troll"))
    space = http.post("/v1/spaces", json={"title": "Live"}, headers=host.auth).json()["id"]
    base = f"/v1/spaces/{space}"
    http.post(f"{base}/launch", headers=host.auth)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            host_view = Watcher(web, f"{base}/stream", host.token)
            fan_view = Watcher(web, f"{base}/stream", fan.token)
            troll_view = Watcher(web, f"{base}/stream", troll.token)
            anonymous = Watcher(web, f"{base}/stream", None)
            for view in (host_view, fan_view, troll_view, anonymous):
                snapshot = await view.wait_for("snapshot")
                assert snapshot["data"]["state"] == "live"

            await web.post(f"{base}/speak-requests", headers=fan.auth)
            request = await host_view.wait_for("speak_request")
            assert request["data"]["user_id"] == fan.id
            await web.put(f"{base}/speakers/{fan.id}", headers=host.auth)
            stage = await anonymous.wait_for("stage")
            assert fan.id in [s["id"] for s in stage["data"]["speakers"]]
            seen_by_views = await web.get(f"{base}?after={stage['data']['position']}")
            assert fan.id in [s["id"] for s in seen_by_views.json()["speakers"]]
            assert "speak_request" not in fan_view.kinds() + anonymous.kinds()

            for who, emoji in [(fan, "🔥"), (fan, "🔥"), (troll, "🔥"), (troll, "👏")]:
                await web.post(f"{base}/reactions", json={"emoji": emoji}, headers=who.auth)
            await asyncio.sleep(2.2)
            counted: dict = {}
            for message in anonymous.messages:
                if message["event"] == "reactions":
                    for emoji, count in message["data"].items():
                        counted[emoji] = counted.get(emoji, 0) + count
            assert counted == {"🔥": 3, "👏": 1}

            await web.post(f"{base}/removals", json={"user_id": troll.id, "reason": "spam"},
                           headers=host.auth)
            removed = await troll_view.wait_for("removed")
            assert removed["data"]["reason"] == "spam"
            await asyncio.wait_for(troll_view.closed.wait(), 2)
            assert "removed" not in fan_view.kinds() + host_view.kinds()

            fan_view.task.cancel()
            seen = fan_view.last_id()
            await web.patch(base, json={"recording": True}, headers=host.auth)
            resumed = Watcher(web, f"{base}/stream", fan.token, last_event_id=seen)
            switches = await resumed.wait_for("switches")
            assert switches["data"]["recording"] is True and switches["id"] > seen
            assert resumed.kinds()[-1] == "snapshot"

            await web.post(f"{base}/end", headers=host.auth)
            for view in (host_view, resumed, anonymous):
                await view.wait_for("ended")
                await asyncio.wait_for(view.closed.wait(), 2)
            late = await web.get(f"{base}/stream", headers=fan.auth)
            assert late.status_code == 410

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_an_account_wide_block_closes_the_blocked_persons_streams_of_that_hosts_spaces(server):
    http = server.start()
    host, other, rude, fan = (register(http, h) for h in ("host", "other", "rude", "fan"))

    def live(owner) -> str:
        space = http.post("/v1/spaces", json={"title": "Live"}, headers=owner.auth).json()["id"]
        done = http.post(f"/v1/spaces/{space}/launch", headers=owner.auth).json()
        assert http.get(f"/v1/spaces/{space}", params={"after": done["position"]}).status_code == 200
        return space

    mine, also_mine, theirs = live(host), live(host), live(other)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            views = {space: Watcher(web, f"/v1/spaces/{space}/stream", rude.token)
                     for space in (mine, also_mine, theirs)}
            fan_view = Watcher(web, f"/v1/spaces/{mine}/stream", fan.token)
            for view in (*views.values(), fan_view):
                await view.wait_for("snapshot")
            blocked = await web.put(f"/v1/accounts/{host.id}/blocked/{rude.id}", headers=host.auth)
            assert blocked.status_code == 200
            for space in (mine, also_mine):
                await views[space].wait_for("removed")
                await asyncio.wait_for(views[space].closed.wait(), 2)
            await asyncio.sleep(0.5)
            assert not views[theirs].closed.is_set() and not fan_view.closed.is_set()
            assert "removed" not in views[theirs].kinds() + fan_view.kinds()
            for view in (views[theirs], fan_view):
                view.task.cancel()

    asyncio.run(asyncio.wait_for(scenario(), 60))
