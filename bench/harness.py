"""Shared pieces of the benchmarks: local servers, fresh databases, `spaces serve`, wrk, and
a media node in a process of its own."""

from __future__ import annotations

import asyncio
import fractions
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np
import psycopg
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from media.libopus import FRAME, RATE, Decoder, Encoder  # noqa: E402
from media.rtp_tap import tap  # noqa: E402
from tests.peers import ToneTrack  # noqa: E402
from tests.support import Server  # noqa: E402
from tests.support import new_database as fresh_database  # noqa: E402,F401  (the benchmarks' own)


def p99(ordered: list[float]) -> float:
    """The 99th percentile of values sorted ascending (nearest rank)."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@contextmanager
def kept_database(admin_url: str, name: str) -> Iterator[str]:
    """The database `name` on the server of `admin_url`, made if missing and kept after."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone():
            connection.execute(f"CREATE DATABASE {name}")
    yield admin_url.rsplit("/", 1)[0] + "/" + name


def services_env() -> dict[str, str]:
    subprocess.run([str(ROOT / "scripts/services"), "up"], check=True)
    out = subprocess.run([str(ROOT / "scripts/services"), "env"], check=True,
                         capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.split())


@contextmanager
def running_server(data_dir: Path, env: dict[str, str], *args: str) -> Iterator[Server]:
    server = Server(data_dir, env, args)
    try:
        yield server
    finally:
        server.stop()


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk",
                   shell=True, check=True, capture_output=True)
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


def run_wrk(url: str, lua: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [ensure_wrk(), "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
        check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    figures = {"requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for name, pct in (("p50_ms", "50%"), ("p99_ms", "99%")):
        value, unit = re.search(rf"{pct}\s+([\d.]+)(us|ms|s)", out).groups()
        figures[name] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    figures["errors"] = float(errors.group(1)) if errors else 0.0
    figures["requests"] = float(re.search(r"(\d+) requests in", out).group(1))
    return figures


BURST_HZ = 2000.0
STEADY_HZ = 440.0


class BurstTrack(ToneTrack):
    """Speaker 0: a 100 ms tone burst every 500 ms; remembers when each burst left."""

    def __init__(self) -> None:
        super().__init__(BURST_HZ, level=0.5)
        self.onsets: list[float] = []

    async def recv(self):
        frame = await super().recv()
        position = (self.sent - 1) % 25  # frames within a 500 ms period
        if position >= 5:
            frame = self._silence(frame)
        elif position == 0:
            self.onsets.append(time.monotonic())
        return frame

    @staticmethod
    def _silence(frame):
        frame.planes[0].update(bytes(frame.planes[0].buffer_size))
        return frame


class Recorded(MediaStreamTrack):
    """A speaker whose Opus packets were encoded beforehand (a loop of 20 ms frames), sent
    in real time: the node gets what a live encoder would send, but ten speakers cost the
    benchmark's process about 0.1 core instead of 0.35 (encoding as they go), which the node
    and the listeners need (aiortc's sender takes packets as they are, as media/tracks.py's do)."""

    kind = "audio"

    def __init__(self, frames: list[np.ndarray]) -> None:
        super().__init__()
        encoder = Encoder(fec=True, dtx=False)
        self.payloads = [encoder.encode(frame) for frame in frames]
        self.sent = 0
        self.start: float | None = None

    async def recv(self) -> av.Packet:
        self.start = self.start or time.monotonic()
        wait = self.start + self.sent * FRAME / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self.payloads[self.sent % len(self.payloads)])
        packet.pts, packet.time_base = self.sent * FRAME, fractions.Fraction(1, RATE)
        self.leaving(self.sent)
        self.sent += 1
        return packet

    def leaving(self, index: int) -> None:
        """Packet `index` is handed to the sender now."""


def tone_frames(frequency: float, level: float, count: int = 50) -> list[np.ndarray]:
    """`count` 20 ms frames of a sine (a whole number of its periods in every 100 ms)."""
    t = np.arange(FRAME * count) / RATE
    return list((np.sin(2 * np.pi * frequency * t) * level).astype(np.float32).reshape(count, FRAME))


class RecordedBurst(Recorded):
    """BurstTrack, encoded beforehand: a 100 ms tone burst every `period` frames (25: every
    500 ms); remembers when each burst left."""

    def __init__(self, period: int = 25) -> None:
        frames = tone_frames(BURST_HZ, 0.5, count=period * max(1, 50 // period))
        super().__init__([f if i % period < 5 else np.zeros_like(f) for i, f in enumerate(frames)])
        self.period = period
        self.onsets: list[float] = []

    def leaving(self, index: int) -> None:
        if index % self.period == 0:
            self.onsets.append(time.monotonic())


def latencies(sent: list[float], heard: list[float], within: float = 0.4) -> list[float]:
    """Each burst heard, in ms after the last one sent before it (if within `within` s)."""
    out = []
    for moment in heard:
        before = [s for s in sent if s <= moment]
        if before and moment - before[-1] < within:
            out.append((moment - before[-1]) * 1000)
    return out


class Probe:
    """A listener that decodes what arrives: when each burst begins, and how many packets
    carry the steady tone too."""

    def __init__(self) -> None:
        self.decoder = Decoder()
        self.onsets: list[float] = []
        self.quiet = 0
        self.steady = 0

    def on_packet(self, payload: bytes, _timestamp: int, _sequence: int,
                  arrived: float | None = None) -> None:
        """`arrived`: when the packet reached the listener (time.monotonic()), if not now."""
        samples = self.decoder.decode(payload)
        spectrum = np.abs(np.fft.rfft(samples)) / len(samples)
        loud = spectrum[int(BURST_HZ / 50)] > 0.05
        if loud and self.quiet >= 5:
            self.onsets.append(time.monotonic() if arrived is None else arrived)
        self.quiet = 0 if loud else self.quiet + 1
        self.steady += spectrum[int(STEADY_HZ / 50)] > 0.02


class Node:
    """bench/media_node.py in a process of its own (its CPU measured alone), signalled with
    JSON lines on a local TCP port."""

    def __init__(self, mode: str):
        self.process = subprocess.Popen([sys.executable, str(ROOT / "bench/media_node.py"), mode],
                                        stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())
        self.lock = asyncio.Lock()

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def ask(self, request: dict) -> dict:
        async with self.lock:
            self.writer.write((json.dumps(request) + "\n").encode())
            await self.writer.drain()
            return json.loads(await self.reader.readline())

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


async def join(node: Node, role: str, track=None, on_packet=None) -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if track is not None:
        pc.addTrack(track)
    else:
        pc.addTransceiver("audio", direction="recvonly")

        @pc.on("track")
        def on_track(remote):
            receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is remote)
            tap(receiver, on_packet)

    await pc.setLocalDescription(await pc.createOffer())
    answer = await node.ask({"op": role, "sdp": pc.localDescription.sdp})
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    return pc


async def join_at_input(node: Node, on_packet) -> RTCPeerConnection:
    """A listener that takes its packets at its network input: as each SRTP datagram comes
    off its ICE socket (bench/listeners.py's `Receiver`), before aiortc's receiver, jitter
    buffer or decoder; `on_packet(payload, timestamp, sequence, arrived)`."""
    from listeners import Receiver, arm, payload_of

    def on_rtp(plain: bytes, arrived: float) -> None:
        on_packet(payload_of(plain), int.from_bytes(plain[4:8], "big"),
                  (plain[2] << 8) | plain[3], arrived)

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    arm(pc, Receiver(on_rtp).take)
    answer = await node.ask({"op": "listener", "sdp": pc.localDescription.sdp})
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
    return pc
