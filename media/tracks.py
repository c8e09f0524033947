"""A track that hands already-encoded Opus packets to aiortc's sender (no re-encode).

Each listener has one, with a small bounded queue: when a listener falls behind, its
oldest packets are dropped; nobody else waits for it.
"""

from __future__ import annotations

import asyncio
import time

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError


class PacketTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, capacity: int = 8):
        super().__init__()
        self._queue: asyncio.Queue[av.Packet | None] = asyncio.Queue(capacity)
        self.dropped = 0
        self.last_taken = time.monotonic()  # when the sender last took a packet

    def offer(self, packet: av.Packet) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(packet)

    def end(self) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def recv(self) -> av.Packet:
        packet = await self._queue.get()
        if packet is None:
            self.stop()
            raise MediaStreamError
        self.last_taken = time.monotonic()
        return packet
