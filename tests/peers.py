"""aiortc clients for the media tests: a speaker sending tones, a listener measuring them."""

from __future__ import annotations

import asyncio
import fractions
import time
from typing import Any

import av
import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

import media.codecs  # noqa: F401  (offers name FEC and NACK for Opus, as Chromium's may)
import media.ice  # noqa: F401  (ICE candidates on 127.0.0.1 only, as the server's)
from media.playout import Playout
from media.rtp_tap import tap
from tests.relay import LossyRelay
from tests.relay_sdp import hidden_offer, relay_answer

RATE, FRAME = 48_000, 960


class Microphone(MediaStreamTrack):
    """A speaker's microphone, in real time, 20 ms a frame: what it is told to say, silence
    otherwise."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.queued = np.zeros(0, dtype=np.float32)
        self.sent = 0
        self.start: float | None = None

    def say(self, samples: np.ndarray) -> float:
        """Queues 48 kHz samples; returns the seconds until all that is queued has been said."""
        self.queued = np.concatenate([self.queued, samples.astype(np.float32)])
        return len(self.queued) / RATE

    def next_samples(self) -> np.ndarray:
        chunk, self.queued = self.queued[:FRAME], self.queued[FRAME:]
        return np.pad(chunk, (0, FRAME - len(chunk)))

    async def recv(self) -> av.AudioFrame:
        self.start = self.start or time.monotonic()
        wait = self.start + self.sent * FRAME / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        samples = self.next_samples()
        frame = av.AudioFrame.from_ndarray((samples * 32767).astype(np.int16).reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, self.sent * FRAME
        frame.time_base = fractions.Fraction(1, RATE)
        self.sent += 1
        return frame


class ToneTrack(Microphone):
    """A microphone playing sine tones without end."""

    def __init__(self, *frequencies: float, level: float = 0.3):
        super().__init__()
        self.frequencies, self.level = frequencies, level

    def next_samples(self) -> np.ndarray:
        t = (np.arange(FRAME) + self.sent * FRAME) / RATE
        return sum(np.sin(2 * np.pi * f * t) for f in self.frequencies) * self.level


class Ears:
    """What a listener hears: mono samples with their arrival times."""

    def __init__(self) -> None:
        self.chunks: list[tuple[float, np.ndarray]] = []
        self.ended = asyncio.Event()

    async def consume(self, track: Any) -> None:
        try:
            while True:
                frame = await track.recv()
                data = frame.to_ndarray().astype(np.float32) / 32768.0
                channels = len(frame.layout.channels)
                mono = data.reshape(-1, channels).mean(axis=1)
                self.chunks.append((time.monotonic(), mono))
        except Exception:
            self.ended.set()

    def since(self, moment: float) -> np.ndarray:
        parts = [c for t, c in self.chunks if t >= moment]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def level_at(self, frequency: float, since: float) -> float:
        """Amplitude of one frequency in what arrived since `since`."""
        samples = self.since(since)
        if len(samples) < RATE // 10:
            return 0.0
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) / len(samples)
        freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
        band = (freqs > frequency - 15) & (freqs < frequency + 15)
        return float(spectrum[band].max() * 4)

    def dominant(self, since: float) -> float:
        samples = self.since(since)
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
        return float(np.fft.rfftfreq(len(samples), 1 / RATE)[np.argmax(spectrum[1:]) + 1])


class Player:
    """What a listener's decoder makes of the packets that reach it, on its own 20 ms clock:
    a playout buffer (media/playout.py) that rebuilds losses from FEC if `fec`, and asks
    for them again (NACK, as the node's receivers do) if `nack`. Counts concealed frames."""

    def __init__(self, fec: bool = True, nack: bool = True, hold: int = 2, red: bool = False) -> None:
        self.playout = Playout(hold=hold, longest=8, fec=fec)
        self.nack, self.red = nack, red  # red: fill gaps from RED blocks (offer it: connect(red=True))
        self.played = 0
        self.waits: list[float] = []  # seconds from a packet's arrival to its turn to play
        self._arrived: dict[int, float] = {}
        self._clock: asyncio.Task[None] | None = None

    def attach(self, receiver: Any) -> None:
        tap(receiver, self._take, nack=self.nack, on_redundant=self._take_redundant if self.red else None)
        self._clock = asyncio.ensure_future(self._play())

    def _take(self, payload: bytes, _timestamp: int, sequence: int) -> None:
        self._arrived.setdefault(sequence, time.monotonic())
        self.playout.push(payload, sequence)

    def _take_redundant(self, payload: bytes, _timestamp: int, sequence: int) -> None:
        self.playout.push(payload, sequence, redundant=True)

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        tick = loop.time()
        while True:
            turn = self.playout.next
            if self.playout.frame() is not None:
                self.played += 1
                arrived = self._arrived.pop((turn or 0) & 0xFFFF, None)
                if arrived is not None:
                    self.waits.append(time.monotonic() - arrived)
            tick += 0.02
            await asyncio.sleep(max(0.0, tick - loop.time()))

    def stop(self) -> None:
        if self._clock is not None:
            self._clock.cancel()

    @property
    def concealed(self) -> float:
        """The share of played frames the decoder had to make up."""
        return self.playout.stats.concealed / self.played if self.played else 0.0


RED_TYPE = 63


def with_red(sdp: str) -> str:
    """The offer with RED for Opus added after Opus, as Chromium offers it (aiortc has none)."""
    lines = sdp.split("\r\n")
    opus = next(line.split()[0].split(":")[1] for line in lines if "opus/48000" in line)
    out = []
    for line in lines:
        if line.startswith("m=audio"):
            line += f" {RED_TYPE}"
        out.append(line)
        if line.startswith(f"a=rtpmap:{opus} "):
            out += [f"a=rtpmap:{RED_TYPE} red/48000/2", f"a=fmtp:{RED_TYPE} {opus}/{opus}"]
    return "\r\n".join(out)


def close_with(pc: RTCPeerConnection, relay: LossyRelay) -> None:
    """Closes the relay once the connection is closed."""

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState == "closed":
            relay.close()


async def connect(http: httpx.AsyncClient, path: str, token: str | None,
                  tone: ToneTrack | None = None, receive: int = 0, relay: LossyRelay | None = None,
                  player: Player | None = None, red: bool = False,
                  ) -> tuple[RTCPeerConnection, Ears, httpx.Response]:
    """Offers to the server (publish with a tone, listen without); returns the connection,
    what it hears, and the server's response. A speaker may also offer `receive` audio
    sections, in which the server sends the other speakers.

    With a `relay` (a LossyRelay not yet started) every packet of the connection goes through
    it: the offer hides the client's candidates, the relay is started toward the server's
    candidate in the answer, the answer is rewritten to name the relay, and the relay closes
    with the connection. A `player` takes the listener's packets before aiortc's decoder
    (what it hears is then the player's to count; `Ears` get nothing)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    ears = Ears()
    if tone is not None:
        pc.addTrack(tone)
        for _ in range(receive):
            pc.addTransceiver("audio", direction="recvonly")
    else:
        pc.addTransceiver("audio", direction="recvonly")

    @pc.on("track")
    def on_track(track: Any) -> None:
        if player is not None:
            player.attach(next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track))
        asyncio.ensure_future(ears.consume(track))

    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    offer = pc.localDescription.sdp if relay is None else hidden_offer(pc.localDescription.sdp)
    if red:
        offer = with_red(offer)
    response = await http.post(path, content=offer, headers=headers)
    if response.status_code == 201:
        answer = response.text
        if relay is not None:
            answer = await relay_answer(answer, relay)
            close_with(pc, relay)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return pc, ears, response
