"""One mix per Space: every 20 ms, one frame from each audible speaker is decoded, mixed
and encoded once; every listener's track gets the same packets.

Speakers' frames wait in short playout buffers (media/playout.py); one that runs dry is
concealed, then silence; one that grows past a few frames loses its oldest (latency must
not creep). Who is audible is the
domain's decision (on stage, unmuted, Space live), handed in by the media node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import av
import numpy as np

from media.hls import HlsWriter
from media.listeners import Listeners, listeners
from media.opus import FRAME, TIME_BASE, OpusEncoder
from media.playout import Playout
from media.recording import Recorder
from media.tracks import PacketTrack

log = logging.getLogger(__name__)
TICK = 0.020
MAX_QUEUED = 3
TALKING_RMS = 0.02
TALKING_HOLDS = 0.3  # seconds a speaker still counts as talking after their last loud frame


class SpeakerInput:
    """One speaker's incoming Opus frames: in order for the mix (media/playout.py: losses
    rebuilt from FEC or concealed), and forwarded as they come to the other speakers (one
    shared packet for all of them; nothing re-encoded)."""

    def __init__(self, is_audible: Callable[[], bool]) -> None:
        self.playout = Playout(longest=MAX_QUEUED + 1)
        self.forward_to: set[PacketTrack] = set()
        self.is_audible = is_audible

    def push(self, payload: bytes, timestamp: int, sequence: int) -> None:
        self.playout.push(payload, sequence)
        if self.forward_to and self.is_audible():
            packet = av.Packet(payload)
            packet.pts, packet.time_base = timestamp, TIME_BASE
            for track in self.forward_to:
                track.offer(packet)


class SpaceMix:
    def __init__(self, to: Listeners | None = None) -> None:
        self.speakers: dict[str, SpeakerInput] = {}
        self.audible: set[str] = set()
        self.listeners = to if to is not None else listeners("batched")
        self.recorder: Recorder | None = None  # set while the Space is being recorded
        self.hls: HlsWriter | None = None  # set while the mix is packaged as HLS
        self.on_speech: Callable[[str, np.ndarray], None] | None = None  # while transcripts are on
        self.on_talking: Callable[[list[str]], None] | None = None  # who is heard, on each change
        self.talking: set[str] = set()
        self._loud_at: dict[str, int] = {}  # speaker -> tick of their last loud frame
        self._encoder = OpusEncoder()
        self._task: asyncio.Task | None = None
        self.ticks = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task:
            self._task.cancel()
        self.record(None)
        for track in self.listeners:
            track.end()

    def record(self, recorder: Recorder | None) -> None:
        if self.recorder is not None and recorder is not self.recorder:
            self.recorder.close()
        self.recorder = recorder

    def expect_loss(self, percent: int) -> None:
        """Listeners lose this much: the shared encoder sizes its in-band FEC for it."""
        self._encoder.expect_loss(percent)

    @property
    def fec_percent(self) -> int:
        return self._encoder.loss_percent

    def input_for(self, speaker: str) -> SpeakerInput:
        if speaker not in self.speakers:
            self.speakers[speaker] = SpeakerInput(lambda: speaker in self.audible)
        return self.speakers[speaker]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            try:
                self.tick()
            except Exception:  # one bad frame must not end the Space's audio
                log.exception("mix tick failed")
            next_tick += TICK
            delay = next_tick - loop.time()
            if delay < -0.1:  # fell far behind (a stalled loop): start the clock again
                next_tick, delay = loop.time(), 0
            await asyncio.sleep(max(delay, 0))

    def _notice_talking(self) -> None:
        holds = int(TALKING_HOLDS / TICK)
        talking = {s for s, at in self._loud_at.items()
                   if self.ticks - at <= holds and s in self.audible}
        if talking != self.talking:
            self.talking = talking
            if self.on_talking is not None:
                self.on_talking(sorted(talking))

    def tick(self) -> None:
        self.ticks += 1
        mixed = np.zeros(FRAME, dtype=np.float32)
        for speaker, source in self.speakers.items():
            samples = source.playout.frame()  # taken even when muted: keeps the decoder's state
            if samples is None:
                continue
            if speaker in self.audible:
                mixed += samples
                if float(np.sqrt(np.mean(samples ** 2))) > TALKING_RMS:
                    self._loud_at[speaker] = self.ticks
                if self.on_speech is not None:
                    self.on_speech(speaker, samples)
        self._notice_talking()
        if self.recorder is not None:
            self.recorder.write(mixed)
        if self.hls is not None:
            self.hls.write(mixed)
        for packet in self._encoder.encode(mixed):
            self.listeners.send(packet)
