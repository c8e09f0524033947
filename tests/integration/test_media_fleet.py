"""One Space across several media nodes: PostgreSQL, the API and three `spaces media`
processes on 127.0.0.1, with capacities small enough that one Space spills onto all three."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from pathlib import Path

import av
import httpx
import psycopg

from application.ports import MediaFull
from infrastructure.fleet_media import FleetMedia
from infrastructure.media_fleet import MediaFleet, create_tables
from infrastructure.pg_views import PostgresViewDatabase
from tests.hls_client import MediaPlaylist
from tests.integration.faults import eventually
from tests.peers import ToneTrack, connect
from tests.stream_watcher import Watcher
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


def test_a_listener_a_full_node_refuses_goes_to_another_node(database_url, monkeypatch):
    """The fleet's count of a node's listeners can lag (a beat counts fewer than are joining):
    a node that refuses is full until its next beat, and the listener is placed again."""
    views = PostgresViewDatabase(database_url, 2)
    try:
        create_tables(views)
        fleet = MediaFleet(views)
        for name in ("a", "b"):
            fleet.beat(name, f"http://{name}", capacity=10, load=0)
        origin = fleet.origin_of("space").node_id

        class Node:
            def __init__(self, node_id: str):
                self.node_id = node_id

            async def listen(self, *_: object) -> tuple[str, str]:
                if self.node_id == origin:
                    raise MediaFull("This media node takes 10 listeners.")
                return "session", "answer"

        media = FleetMedia(fleet, "token")
        monkeypatch.setattr(media, "_node", lambda node: Node(node.node_id))
        session_id, _ = asyncio.run(media.listen("space", "host", None, "offer"))
        assert session_id.split(".")[0] != origin
    finally:
        views.close()


def fleet_nodes(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT count(*) FROM media_nodes").fetchone()
    return row[0] if row else 0


def placements(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        rows = connection.execute("SELECT (SELECT count(*) FROM space_placements) + "
                                  "(SELECT count(*) FROM space_nodes)").fetchone()
    return rows[0] if rows else 0


def test_a_space_spills_over_three_nodes_and_every_listener_hears_both_speakers(
        database_url, tmp_path: Path):
    env = {"SPACES_DATABASE_URL": database_url, "SPACES_SECRET": "fleet",
           "SPACES_MEDIA_FLEET": "true", "SPACES_MEDIA_CAPACITY": "2",
           "SPACES_HLS_DIR": str(tmp_path / "hls")}  # shared: the origin writes, the API reads
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
        late = [register(http, f"late{i}") for i in range(2)]
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
                # the last seat, then none: the next listener is sent to the origin's HLS
                last_seat = await connect(web, f"{base}/audio/listen", late[0].token)
                assert last_seat[2].status_code == 201, last_seat[2].text
                pc, _, full = await connect(web, f"{base}/audio/listen", late[1].token)
                await pc.close()
                assert full.status_code == 503 and 'rel="alternate"' in full.headers["link"]
                hls = (await web.get(f"{base}/hls/audio.m3u8", headers=late[1].auth))
                assert hls.status_code == 200 and "#EXT-X-PART:" in hls.text, hls.text
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
                for pc, _, _ in speakers + listeners + [last_seat]:
                    await pc.close()

        asyncio.run(asyncio.wait_for(scenario(), timeout=90))
        assert eventually(lambda: placements(database_url) == 0, timeout=5)  # placed nowhere
    finally:
        api.stop()
        for node in nodes:
            node.stop()


class Person:
    """A web client's audio: one session, and a new offer when the stream says its media
    node is gone (as the web client does by itself)."""

    def __init__(self, web: httpx.AsyncClient, base: str, who, tone: float | None = None):
        self.web, self.base, self.who, self.tone = web, base, who, tone
        self.stream = Watcher(web, f"{base}/stream", who.token)
        self.node = ""
        self.handled = 0  # reconnect messages read
        self.rejoined = 0

    async def join(self) -> None:
        kind = "publish" if self.tone else "listen"
        self.pc, self.ears, answered = await connect(
            self.web, f"{self.base}/audio/{kind}", self.who.token,
            ToneTrack(self.tone) if self.tone else None)
        assert answered.status_code == 201, answered.text
        self.node = answered.headers["location"].rsplit("/", 1)[-1].split(".")[0]

    async def rejoin_when_told(self) -> None:
        for _ in range(600):
            told = [m["data"] for m in self.stream.messages if m["event"] == "reconnect"]
            new, self.handled = told[self.handled:], len(told)
            if any(t["origin"] or t["node"] == self.node for t in new):
                await self.pc.close()
                await self.join()
                self.rejoined += 1
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"never told to reconnect: {self.stream.kinds()}")


def test_when_an_edge_or_the_origin_dies_everyone_hears_the_space_again(database_url, tmp_path):
    env = {"SPACES_DATABASE_URL": database_url, "SPACES_SECRET": "fleet",
           "SPACES_MEDIA_FLEET": "true", "SPACES_RECORDINGS_DIR": str(tmp_path / "recordings"),
           "SPACES_RECORDING_SEGMENT_SECONDS": "1", "SPACES_HLS_DIR": str(tmp_path / "hls")}
    # node0 becomes the origin (all equally idle, first by name), node1 an edge; node2 is
    # big enough to take everyone once the other two have died
    capacities = {"node0": 2, "node1": 2, "node2": 10}
    nodes = {name: Server(tmp_path / name, {**env, "SPACES_MEDIA_NODE_ID": name,
                                            "SPACES_MEDIA_CAPACITY": str(capacity)},
                          command="media", port=free_port())
             for name, capacity in capacities.items()}
    api = Server(tmp_path / "api", env)
    try:
        for node in nodes.values():
            node.start()
        http = api.start()
        assert eventually(lambda: fleet_nodes(database_url) == 3, timeout=10)
        host = register(http, "host")
        fans = [register(http, f"fan{i}") for i in range(4)]
        space = http.post("/v1/spaces", json={"title": "Survives"}, headers=host.auth).json()["id"]
        base = f"/v1/spaces/{space}"
        http.patch(base, json={"recording": True}, headers=host.auth)
        http.post(f"{base}/launch", headers=host.auth)
        http.post(f"{base}/speakers/{host.id}/unmute", headers=host.auth)
        token = spaces("auditor-token", "ann", data_dir=api.data_dir, env=env).strip()
        auditor = {"Authorization": f"Bearer {token}"}

        async def everyone_hears(people: list[Person]) -> None:
            await asyncio.sleep(1.0)
            start = time.monotonic()
            await asyncio.sleep(1.0)
            for person in people:
                assert person.ears.level_at(LOW, start) > 0.02, person.who.handle

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=api.url, timeout=20) as web:
                speaker = Person(web, base, host, LOW)
                listeners = [Person(web, base, fan) for fan in fans]
                for person in [speaker, *listeners]:
                    await person.join()
                recorded_from = time.monotonic()
                await everyone_hears(listeners)
                hls = f"{base}/hls/audio.m3u8"
                assert "DISCONTINUITY" not in (await web.get(hls)).text

                origin = speaker.node
                edge = next(p.node for p in listeners if p.node != origin)
                on_edge = [p for p in listeners if p.node == edge]
                nodes[edge].process.kill()  # SIGKILL an edge
                await asyncio.gather(*(p.rejoin_when_told() for p in on_edge))
                assert all(p.node not in ("", edge) for p in on_edge)
                await everyone_hears(listeners)

                nodes[origin].process.kill()  # SIGKILL the origin
                killed = time.monotonic()
                await asyncio.gather(*(p.rejoin_when_told() for p in [speaker, *listeners]))
                recording_again = time.monotonic()
                assert speaker.node != origin
                await everyone_hears(listeners)
                # the HLS stream goes on from the new origin, numbered on after the old one
                after = MediaPlaylist.parse((await web.get(hls)).text)
                assert "#EXT-X-DISCONTINUITY-SEQUENCE:1" in after.text and after.parts, after.text
                history = (await web.get(f"/v1/audit/spaces/{space}/history",
                                         headers=auditor)).json()
                moved = [e["data"] for e in history if e["event"] == "MediaMoved"]
                assert moved == [{"from_node": origin, "to_node": speaker.node}]
                await web.post(f"{base}/end", headers=host.auth)
                ended = time.monotonic()
                for person in [speaker, *listeners]:
                    await person.pc.close()
                # The new origin records on in new segments: the crash lost at most the one
                # segment (1 s) it was writing, besides the time nobody was on the origin.
                await asyncio.sleep(1.0)
                recording = await web.get(f"{base}/recording", headers=host.auth)
                assert recording.status_code == 200, recording.text
                with av.open(io.BytesIO(recording.content)) as container:
                    seconds = sum(f.samples for f in container.decode(audio=0)) / 48_000
                expected = (killed - recorded_from) + (ended - recording_again)
                assert seconds >= expected - 1.0 - 0.5, (seconds, expected)

        asyncio.run(asyncio.wait_for(scenario(), timeout=120))
    finally:
        api.stop()
        for node in nodes.values():
            node.stop()
