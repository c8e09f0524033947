"""A track that hands already-encoded Opus packets to aiortc's sender (no re-encode).

Each listener has one, with a small bounded queue: when a listener falls behind, its
oldest packets are dropped; nobody else waits for it.
"""

from __future__ import annotations

import asyncio
import time

import av
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from media.listeners import ListenerTrack, TrackSet


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


class QueuedListeners(TrackSet[PacketTrack]):
    """The "tasks" fan-out: each listener's PacketTrack is offered every packet; its own
    aiortc sender task takes them from there."""

    def open_track(self, pc: RTCPeerConnection) -> PacketTrack:
        track = PacketTrack()
        pc.addTrack(track)
        return track

    def add(self, track: ListenerTrack) -> None:
        assert isinstance(track, PacketTrack), "the tasks fan-out offers to packet tracks"
        self.tracks.add(track)

    def send(self, packet: av.Packet) -> None:
        for track in self.tracks:
            track.offer(packet)
