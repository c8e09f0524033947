"""Opus in and out with PyAV: decode a speaker's frames, encode the mix once (mono, voice)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

RATE = 48_000
FRAME = 960  # 20 ms
TIME_BASE = Fraction(1, RATE)


class OpusDecoder:
    def __init__(self) -> None:
        self._codec = av.CodecContext.create("opus", "r")
        self._codec.sample_rate = RATE

    def decode(self, payload: bytes) -> np.ndarray:
        """One Opus frame to mono float32 samples in [-1, 1]; silence if it will not decode."""
        try:
            frames = self._codec.decode(av.Packet(payload))
        except av.FFmpegError:
            return np.zeros(FRAME, dtype=np.float32)
        if not frames:
            return np.zeros(FRAME, dtype=np.float32)
        samples = np.concatenate([_mono(f) for f in frames])
        return samples[:FRAME] if len(samples) >= FRAME else np.pad(samples, (0, FRAME - len(samples)))


def _mono(frame: av.AudioFrame) -> np.ndarray:
    data = frame.to_ndarray()
    if frame.format.name.startswith("s16"):
        data = data.astype(np.float32) / 32768.0
    if frame.format.is_planar:
        return data.mean(axis=0).astype(np.float32)
    channels = len(frame.layout.channels)
    return data.reshape(-1, channels).mean(axis=1).astype(np.float32)


class OpusEncoder:
    """Encodes 20 ms of mono samples into Opus packets ready for aiortc's senders."""

    def __init__(self, bitrate: int = 32_000) -> None:
        self._codec = av.CodecContext.create("libopus", "w")
        self._codec.sample_rate = RATE
        self._codec.layout = "mono"
        self._codec.format = "s16"
        self._codec.bit_rate = bitrate
        self._codec.options = {"application": "voip", "frame_duration": "20"}
        self._pts = 0

    def encode(self, samples: np.ndarray) -> list[av.Packet]:
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        self._pts += FRAME
        packets = self._codec.encode(frame)
        for packet in packets:
            packet.time_base = TIME_BASE
        return packets
