"""The media side of bench/media.py, in a process of its own so its CPU is measured alone.

`batched` / `tasks`: the real MediaNode (packets tapped, one mix encoded once, shared by
listeners), its packets sent to listeners in one loop per packet (media/fanout.py) or by
one aiortc sender task per listener.
`relay`: the naive way: aiortc decodes each speaker, one decoded mix is handed by
aiortc's MediaRelay to every listener, whose sender encodes it again.
Signalling: JSON lines on a local TCP port (printed on the first line of stdout).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.contrib.media import MediaRelay  # noqa: E402

import media.ice  # noqa: E402,F401
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

    async def answer(self, role: str, offer: str) -> str:
        if role == "speaker":
            self.speakers += 1
            _, sdp = await self.node.publish("bench", "host", f"s{self.speakers}", offer, audible=True)
        else:
            _, sdp = await self.node.listen("bench", "host", None, offer)
        return sdp


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def main() -> None:
    side = Naive() if sys.argv[1] == "relay" else Ours(sys.argv[1])

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            request = json.loads(line)
            if request["op"] == "stats":
                times = os.times()
                reply = {"cpu": times.user + times.system, "rss": rss_bytes()}
            else:
                reply = {"sdp": await side.answer(request["op"], request["sdp"])}
            writer.write((json.dumps(reply) + "\n").encode())
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
