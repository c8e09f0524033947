"""One Space on a fleet of three media nodes against the same Space on one node, side by
side in one run: PostgreSQL, the API and `spaces media` processes on 127.0.0.1, 10 speakers
(one sends a tone burst every 500 ms, one a steady 440 Hz tone). The listeners offer through
the API: the cheap ones of bench/listeners.py (real aiortc peers, several hundred per
process, in processes of their own), and one decoding probe per node in this process. They
grow by 100 until a listener gets less than 99 % of the packets. Prints, per row: listeners
in total and per node, media CPU (cores, summed over the nodes), the listener processes'
CPU, listeners per core of media CPU, the worst listener's share of packets, burst latency
p50 / p99 at a probe on the origin and on an edge (the edge hop), and then the failover
times: SIGKILL an edge (its listener is told on the live stream and listens again), SIGKILL
the origin (the speakers publish again, the listener listens again) until the burst is
heard again.

Run: .venv/bin/python bench/nodes.py                  (about ten minutes)
     .venv/bin/python bench/nodes.py --quick          (a smoke run, as in CI)
     .venv/bin/python bench/nodes.py --json FILE      (the figures, under the issue's keys)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import STEADY_HZ, BurstTrack, Probe, fresh_database, latencies, p99, services_env  # noqa: E402
from listeners import Generators  # noqa: E402

from media.rtp_tap import tap  # noqa: E402
from tests.peers import ToneTrack  # noqa: E402
from tests.stream_watcher import Watcher  # noqa: E402
from tests.support import Server, free_port, register  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
GENERATORS = 2  # listener processes (bench/listeners.py)
ENOUGH = 0.99  # the worst listener's share of packets a step must reach


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def offer(web: httpx.AsyncClient, path: str, token: str | None, track: Any = None,
                on_packet: Any = None) -> tuple[RTCPeerConnection, str]:
    """A speaker (with a track) or a listener (whose packets go to `on_packet`); answers the
    connection and the node the session is on."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if track is not None:
        pc.addTrack(track)
    else:
        pc.addTransceiver("audio", direction="recvonly")

        @pc.on("track")
        def on_track(remote: Any) -> None:
            receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is remote)
            tap(receiver, on_packet)

    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp", **({"Authorization": f"Bearer {token}"}
                                                     if token else {})}
    response = await web.post(path, content=pc.localDescription.sdp, headers=headers)
    if response.is_error:
        await pc.close()
        raise RuntimeError(f"{path}: {response.status_code} {response.text}")
    await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
    return pc, response.headers["location"].rsplit("/", 1)[-1].split(".")[0]


class Run:
    """PostgreSQL, the API and `nodes` media nodes, one live Space with 10 speakers."""

    def __init__(self, database_url: str, where: Path, nodes: int, capacity: int):
        env = {"SPACES_DATABASE_URL": database_url, "SPACES_SECRET": "bench",
               "SPACES_MEDIA_FLEET": "true", "SPACES_MEDIA_CAPACITY": str(capacity),
               # every listener comes from this one address
               "SPACES_AUDIO_OFFER_BURST": "100000", "SPACES_AUDIO_OFFERS_PER_SECOND": "10000"}
        self.nodes = {f"node{i}": Server(where / f"node{i}", {**env, "SPACES_MEDIA_NODE_ID": f"node{i}"},
                                         command="media", port=free_port()) for i in range(nodes)}
        self.api = Server(where / "api", env)
        self.pcs: list[RTCPeerConnection] = []
        self.listeners: Generators | None = None

    async def start(self, web: httpx.AsyncClient) -> None:
        for node in self.nodes.values():
            node.start()
        http = self.api.start()
        web.base_url = httpx.URL(self.api.url)
        for _ in range(100):
            if await self._fleet_size() == len(self.nodes):
                break
            await asyncio.sleep(0.1)
        host = register(http, "host")
        guests = [register(http, f"guest{i}") for i in range(9)]
        space = http.post("/v1/spaces", json={"title": "Bench"}, headers=host.auth).json()["id"]
        self.base = f"/v1/spaces/{space}"
        for guest in guests:
            http.put(f"{self.base}/speakers/{guest.id}", headers=host.auth)
        http.post(f"{self.base}/launch", headers=host.auth)
        self.speakers = [host, *guests]
        for who in self.speakers:
            http.post(f"{self.base}/speakers/{who.id}/unmute", headers=who.auth)
        await self.publish(web)
        self.listeners = Generators(f"{self.api.url}{self.base}/audio/listen", GENERATORS)
        await self.listeners.start()

    async def _fleet_size(self) -> int:
        import psycopg

        with psycopg.connect(self.api.env["SPACES_DATABASE_URL"]) as connection:
            row = connection.execute("SELECT count(*) FROM media_nodes").fetchone()
        return row[0] if row else 0

    async def publish(self, web: httpx.AsyncClient) -> None:
        self.burst = BurstTrack()
        tracks = [self.burst, ToneTrack(STEADY_HZ, level=0.2),
                  *(ToneTrack(200 + 40 * i, level=0.03) for i in range(8))]
        # each speaker is a client of their own: they publish at once
        published = await asyncio.gather(*(offer(web, f"{self.base}/audio/publish", who.token, track)
                                           for who, track in zip(self.speakers, tracks)))
        self.pcs += [pc for pc, _ in published]
        self.origin = published[0][1]

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(node.process.pid) for name, node in self.nodes.items()
                if node.process and node.process.poll() is None}

    async def close(self) -> None:
        if self.listeners is not None:
            await self.listeners.close()
        for pc in self.pcs:
            await pc.close()
        self.api.stop()
        for node in self.nodes.values():
            node.stop()


async def measure(database_url: str, nodes: int, listeners: int, seconds: float,
                  failover: bool) -> dict[str, Any]:
    # room for everyone, a decoding probe per node and the failover probes
    capacity = -(-listeners // nodes) + 3 if nodes > 1 else listeners + 10
    with TemporaryDirectory(prefix="bench-nodes-") as where:
        run = Run(database_url, Path(where), nodes, capacity)
        # idle connections dropped before uvicorn's 5 s keep-alive closes them: else a
        # request after a quiet spell (a failover) can go out on one being closed
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(keepalive_expiry=2)) as web:
            try:
                await run.start(web)
                probes: dict[str, Probe] = {}

                async def probe() -> None:
                    """A decoding listener, on whichever node the API places it."""
                    heard = Probe()
                    pc, node = await offer(web, f"{run.base}/audio/listen", None,
                                           on_packet=heard.on_packet)
                    run.pcs.append(pc)
                    probes.setdefault(node, heard)

                await probe()  # the origin's, the first listener
                generators = run.listeners
                assert generators is not None
                await generators.join(listeners)
                placed = Counter((await generators.snapshot())["node"])
                for _ in range(2 * nodes):  # then one on each edge (each has room for 3)
                    if set(placed) <= set(probes):
                        break
                    await probe()
                await asyncio.sleep(2.0)
                first, start_cpu = await generators.snapshot(), run.cpu()
                heard_from = {n: len(p.onsets) for n, p in probes.items()}
                await asyncio.sleep(seconds)
                last, end_cpu = await generators.snapshot(), run.cpu()
                elapsed = last["time"] - first["time"]
                shares = [(b - a) / ((tb - ta) * 50) for a, b, ta, tb in zip(
                    first["packets"], last["packets"], first["shares_time"], last["shares_time"])]
                cores = sum(end_cpu[n] - start_cpu[n] for n in end_cpu) / elapsed
                hops = {n: sorted(latencies(run.burst.onsets, p.onsets[heard_from[n]:]))
                        for n, p in probes.items()}
                origin_lat = hops.get(run.origin, [])
                edge_lat = [x for n, lat in hops.items() if n != run.origin for x in lat]
                result: dict[str, Any] = {
                    "listeners": listeners, "per_node": dict(placed), "cores": cores,
                    "gen_cores": (sum(last["cpu"]) - sum(first["cpu"])) / elapsed,
                    "per_core": listeners / cores if cores else float("inf"),
                    "worst_share": min(shares), "failed": last["failed"],
                    # both tones at a decoding listener on every node, and packets at all
                    "all_heard": min(shares) >= 0.9 and not last["failed"] and all(
                        p.onsets and p.steady for p in probes.values()),
                    "origin_p50": statistics.median(origin_lat) if origin_lat else float("nan"),
                    "origin_p99": p99(origin_lat) if origin_lat else float("nan"),
                    "edge_p50": statistics.median(edge_lat) if edge_lat else float("nan"),
                    "edge_p99": p99(edge_lat) if edge_lat else float("nan"),
                }
                if failover and nodes > 1:
                    result |= await _failovers(run, web)
                return result
            finally:
                await run.close()


async def _failovers(run: Run, web: httpx.AsyncClient) -> dict[str, float]:
    """Seconds from a SIGKILL until a listener that was on the killed node hears the burst
    again: first an edge, then the origin."""
    figures = {}
    for key in ("edge_failover_s", "origin_failover_s"):
        probe = Probe()
        pc, node = await offer(web, f"{run.base}/audio/listen", None, on_packet=probe.on_packet)
        stream = Watcher(web, f"{run.base}/stream", None)
        victim = node if key == "edge_failover_s" else run.origin
        assert victim != run.origin or key == "origin_failover_s", "the full origin took the probe"
        await asyncio.sleep(1.0)
        killed = time.monotonic()
        run.nodes[victim].process.kill()
        while not any(m["event"] == "reconnect" and m["data"]["node"] == victim
                      for m in stream.messages):
            if time.monotonic() - killed > 30:
                raise RuntimeError(f"no reconnect for the listeners of {victim} in 30 s")
            await asyncio.sleep(0.02)
        await pc.close()
        probe = Probe()
        # the listener offers again while (after an origin's death) the speakers publish again
        again = [offer(web, f"{run.base}/audio/listen", None, on_packet=probe.on_packet)]
        if victim == run.origin:
            again.append(run.publish(web))
        (pc, _), *_ = await asyncio.gather(*again)
        run.pcs.append(pc)
        while not probe.onsets and time.monotonic() - killed < 30:
            await asyncio.sleep(0.02)
        figures[key] = (probe.onsets[0] - killed) if probe.onsets else float("inf")
        stream.task.cancel()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few listeners, short")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    steps = [6] if args.quick else range(100, 2001, 100)  # until a listener gets too little
    seconds = 2.0 if args.quick else 6.0
    admin = services_env()["SPACES_DATABASE_URL"]
    print(f"{'nodes':<6}{'listeners':>10}{'per node':>16}{'cores':>7}{'gen':>6}{'per core':>9}"
          f"{'worst %':>8}{'origin p50':>11}{'edge p50':>9}{'edge p99':>9}", flush=True)
    rows: dict[int, list[dict[str, Any]]] = {1: [], 3: []}
    for listeners in steps:
        step = {}
        for nodes in (1, 3):
            with fresh_database(admin) as url:
                r = step[nodes] = asyncio.run(measure(url, nodes, listeners, seconds, failover=False))
            spread = "/".join(str(v) for _, v in sorted(r["per_node"].items()))
            print(f"{nodes:<6}{listeners:>10}{spread:>16}{r['cores']:>7.2f}{r['gen_cores']:>6.2f}"
                  f"{r['per_core']:>9.0f}"
                  f"{r['worst_share'] * 100:>8.1f}{r['origin_p50']:>11.1f}{r['edge_p50']:>9.1f}"
                  f"{r['edge_p99']:>9.1f}", flush=True)
        short = min(r["worst_share"] for r in step.values()) < ENOUGH
        if short and rows[1]:
            break  # the figures are those of the last step where every listener got enough
        for nodes, r in step.items():
            rows[nodes].append(r)
        if short:
            break
    fleet, single = rows[3][-1], rows[1][-1]
    # Failovers on a fleet with room to spare on the surviving nodes (a full fleet has none):
    # three listeners fill the origin (capacity 4 with its probe), so that the next listener
    # goes to an edge, and each survivor has room for the listeners that come back to it
    with fresh_database(admin) as url:
        failovers = asyncio.run(measure(url, 3, 3, seconds, failover=True))
    figures = {
        "listeners_per_core": fleet["per_core"], "single_node_listeners_per_core": single["per_core"],
        "edge_hop_ms_p50": fleet["edge_p50"] - fleet["origin_p50"],
        "edge_failover_s": failovers["edge_failover_s"],
        "origin_failover_s": failovers["origin_failover_s"],
        "all_heard": all(r["all_heard"] for rs in rows.values() for r in rs)
        and failovers["all_heard"],
    }
    print(f"edge failover {figures['edge_failover_s']:.2f} s, origin failover "
          f"{figures['origin_failover_s']:.2f} s, edge hop {figures['edge_hop_ms_p50']:.1f} ms p50, "
          f"fleet/single per core {fleet['per_core'] / single['per_core']:.0%}, "
          f"all heard: {figures['all_heard']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
