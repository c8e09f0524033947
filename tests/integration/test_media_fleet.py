"""One Space across several media nodes: PostgreSQL, the API and three `spaces media`
processes on 127.0.0.1, with capacities small enough that one Space spills onto all three."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import psycopg

from infrastructure.media_fleet import MediaFleet, create_tables
from infrastructure.pg_views import PostgresViewDatabase
from tests.integration.faults import eventually
from tests.peers import ToneTrack, connect
from tests.support import Server, free_port, register, spaces

LOW, HIGH = 440.0, 1250.0


def test_racing_api_workers_place_a_space_on_one_origin(database_url):
    views = PostgresViewDatabase(database_url, 4)
    try:
        create_tables(views)
        fleet = MediaFleet(views)
        for name in ("a", "b", "c"):
            fleet.beat(name, f"http://{name}", capacity=10, load=0)
        chosen: list[str] = []
        racers = [threading.Thread(target=lambda: chosen.append(fleet.origin_of("space").node_id))
                  for _ in range(8)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        assert len(chosen) == 8 and len(set(chosen)) == 1
        fleet.leave(chosen[0])  # its node is gone: the Space moves, once
        assert fleet.origin_of("space").node_id not in chosen
    finally:
        views.close()


def fleet_nodes(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT count(*) FROM media_nodes").fetchone()
    return row[0] if row else 0


def test_a_space_spills_over_three_nodes_and_every_listener_hears_both_speakers(
        database_url, tmp_path: Path):
    env = {"SPACES_DATABASE_URL": database_url, "SPACES_SECRET": "fleet",
           "SPACES_MEDIA_FLEET": "true", "SPACES_MEDIA_CAPACITY": "2"}
    nodes = [Server(tmp_path / f"node{i}", {**env, "SPACES_MEDIA_NODE_ID": f"node{i}"},
                    command="media", port=free_port()) for i in range(3)]
    api = Server(tmp_path / "api", env)
    try:
        for node in nodes:
            node.start()
        http = api.start()
        assert eventually(lambda: fleet_nodes(database_url) == 3, timeout=10)
        host, guest = register(http, "host"), register(http, "guest")
        fans = [register(http, f"fan{i}") for i in range(5)]
        space = http.post("/v1/spaces", json={"title": "Everywhere"}, headers=host.auth).json()["id"]
        base = f"/v1/spaces/{space}"
        http.put(f"{base}/speakers/{guest.id}", headers=host.auth)
        http.post(f"{base}/launch", headers=host.auth)
        for speaker in (host, guest):
            http.post(f"{base}/speakers/{speaker.id}/unmute", headers=speaker.auth)
        token = spaces("auditor-token", "ann", data_dir=api.data_dir, env=env).strip()
        auditor = {"Authorization": f"Bearer {token}"}

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=api.url, timeout=20) as web:
                speakers = [await connect(web, f"{base}/audio/publish", who.token, ToneTrack(tone))
                            for who, tone in ((host, LOW), (guest, HIGH))]
                assert all(r.status_code == 201 for _, _, r in speakers), speakers[0][2].text
                listeners = []
                for fan in fans:
                    listeners.append(await connect(web, f"{base}/audio/listen", fan.token))
                    assert listeners[-1][2].status_code == 201, listeners[-1][2].text
                placed = {r.headers["location"].rsplit("/", 1)[-1].split(".")[0]
                          for _, _, r in listeners}
                assert placed == {"node0", "node1", "node2"}
                overview = (await web.get("/v1/media/nodes", headers=auditor)).json()
                assert sorted(n["node_id"] for n in overview) == ["node0", "node1", "node2"]
                assert [n["origin_of"] for n in overview].count([space]) == 1
                await asyncio.sleep(1.0)
                start = time.monotonic()
                await asyncio.sleep(1.5)
                for _, ears, _ in listeners:
                    assert ears.level_at(LOW, start) > 0.02 and ears.level_at(HIGH, start) > 0.02

                # the domain reaches every node: a removal on an edge, then the end everywhere
                removed = listeners[-1]
                await web.post(f"{base}/removals", json={"user_id": fans[-1].id},
                               headers=host.auth)
                await asyncio.wait_for(removed[1].ended.wait(), timeout=3.0)
                await web.post(f"{base}/end", headers=host.auth)
                for _, ears, _ in listeners:
                    await asyncio.wait_for(ears.ended.wait(), timeout=3.0)
                for pc, _, _ in speakers + listeners:
                    await pc.close()

        asyncio.run(asyncio.wait_for(scenario(), timeout=90))
    finally:
        api.stop()
        for node in nodes:
            node.stop()
