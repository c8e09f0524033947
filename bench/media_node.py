"""The media side of bench/media.py, in a process of its own so its CPU is measured alone.

`batched` / `tasks`: the real MediaNode (packets tapped, one mix encoded once, shared by
listeners), its packets sent to listeners in one loop per packet (media/fanout.py) or by
one aiortc sender task per listener.
`relay`: the naive way: aiortc decodes each speaker, one decoded mix is handed by
aiortc's MediaRelay to every listener, whose sender encodes it again.
Signalling: JSON lines on a local TCP port (printed on the first line of stdout); a request
with an "id" is answered (with that id) when it is done, many at once (bench/listeners.py's
processes offer so), one without in turn. {"op": "stats"} gives the process's CPU seconds
and memory and, for ours, the mix's clock as it ran (ticks, late ticks, the longest gap),
what the node received of its speakers and what its fan-out sent, dropped and skipped.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import os
import sys
from pathlib import Path

import av
import numpy as np
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.contrib.media import MediaRelay  # noqa: E402

import media.ice  # noqa: E402,F401
from infrastructure.garbage import calm_garbage_collection  # noqa: E402
from media.node import MediaNode  # noqa: E402


class DecodedMix(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[MediaStreamTrack] = []
        self.pts = 0

    async def recv(self) -> av.AudioFrame:
        while not self.sources:
            await asyncio.sleep(0.02)
        frames = await asyncio.gather(*(s.recv() for s in list(self.sources)))
        mixed = sum(f.to_ndarray().astype(np.int32) for f in frames)
        frame = av.AudioFrame.from_ndarray(np.clip(mixed, -32768, 32767).astype(np.int16),
                                           format=frames[0].format.name, layout=frames[0].layout.name)
        frame.sample_rate, frame.pts = 48_000, self.pts
        frame.time_base = fractions.Fraction(1, 48_000)
        self.pts += frame.samples
        return frame


class Naive:
    def __init__(self) -> None:
        self.mix = DecodedMix()
        self.relay = MediaRelay()
        self.pcs: list[RTCPeerConnection] = []

    async def answer(self, role: str, offer: str) -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs.append(pc)
        if role == "speaker":
            pc.on("track", lambda track: self.mix.sources.append(track))
        else:
            pc.addTrack(self.relay.subscribe(self.mix))
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp


class Ours:
    def __init__(self, fanout: str) -> None:
        self.node = MediaNode(fanout=fanout)  # type: ignore[arg-type]
        self.speakers = 0
        self.clock: TickClock | None = None

    async def answer(self, role: str, offer: str) -> str:
        if role == "speaker":
            self.speakers += 1
            _, sdp = await self.node.publish("bench", "host", f"s{self.speakers}", offer, audible=True)
        else:
            _, sdp = await self.node.listen("bench", "host", None, offer)
        room = self.node.rooms.get("bench")
        if room is not None and (self.clock is None or self.clock.mix is not room.mix):
            self.clock = TickClock(room.mix)
        return sdp

    def stats(self) -> dict:
        """The mix's clock, what the node received of its speakers and what its fan-out sent."""
        room = self.node.rooms.get("bench")
        if room is None or self.clock is None:
            return {}
        speakers = [s.playout.stats for s in room.mix.speakers.values()]
        tracks = list(room.mix.listeners)
        return {
            **self.clock.read(),
            "speakers": {name: sum(getattr(s, name) for s in speakers)
                         for name in ("received", "recovered", "concealed", "late", "dropped")},
            "listeners": len(tracks),
            "sent": sum(getattr(t, "sent", 0) for t in tracks),
            "fanout_dropped": sum(t.dropped for t in tracks),
            "skipped": sum(getattr(t, "skipped", 0) for t in tracks),
        }


class TickClock:
    """The mix's 20 ms clock as it really ran: ticks, and the longest gap between two (a
    starved event loop shows here first)."""

    def __init__(self, mix) -> None:
        self.mix, self.ticks, self.longest, self.late = mix, 0, 0.0, 0
        self.last: float | None = None
        tick, clock = mix.tick, asyncio.get_running_loop().time

        def timed() -> None:
            now = clock()
            if self.last is not None:
                gap = now - self.last
                self.longest = max(self.longest, gap)
                self.late += gap > 0.030
            self.last = now
            self.ticks += 1
            tick()

        mix.tick = timed

    def read(self) -> dict:
        """Since the previous read: the longest gap (then reset); ticks and late ticks ever."""
        longest, self.longest = self.longest, 0.0
        return {"ticks": self.ticks, "late_ticks": self.late, "longest_gap_ms": longest * 1000}


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def main() -> None:
    calm_garbage_collection()  # as `spaces media` does
    side = Naive() if sys.argv[1] == "relay" else Ours(sys.argv[1])

    async def handle(request: dict, writer: asyncio.StreamWriter) -> None:
        if request["op"] == "stats":
            times = os.times()
            reply = {"cpu": times.user + times.system, "rss": rss_bytes(),
                     **(side.stats() if isinstance(side, Ours) else {})}
        else:
            try:
                reply = {"sdp": await side.answer(request["op"], request["sdp"])}
            except Exception as error:  # told to the asker, who counts it
                reply = {"error": repr(error)}
        if "id" in request:
            reply["id"] = request["id"]
        writer.write((json.dumps(reply) + "\n").encode())

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Requests with an "id" are answered as they finish, each in a task of its own (the
        listener processes send many offers at once); without one, in turn."""
        tasks = set()
        while line := await reader.readline():
            request = json.loads(line)
            if "id" in request:
                task = asyncio.ensure_future(handle(request, writer))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                await handle(request, writer)
                await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main())  # the event loop `spaces media` runs on (uvicorn picks uvloop)
