"""Recording a Space: the mix written as Ogg/Opus in short segment files, so that a crash
loses the segment being written, not the recording; joined into one file on download."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np

from media.opus import FRAME, RATE


class Recorder:
    def __init__(self, directory: Path, segment_seconds: float = 10.0):
        self.directory = directory
        self.frames_per_segment = max(1, int(segment_seconds * RATE / FRAME))
        directory.mkdir(parents=True, exist_ok=True)
        self._next = len(segments(directory))
        self._container: av.container.OutputContainer | None = None
        self._stream: av.audio.stream.AudioStream | None = None
        self._frames = 0

    def write(self, samples: np.ndarray) -> None:
        if self._container is None or self._stream is None:
            self._container, self._stream = self._open()
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, self._frames * FRAME
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self._frames += 1
        if self._frames >= self.frames_per_segment:
            self.close()

    def close(self) -> None:
        if self._container is None or self._stream is None:
            return
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        self._container, self._stream, self._frames = None, None, 0

    def _open(self) -> tuple[av.container.OutputContainer, av.audio.stream.AudioStream]:
        path = self.directory / f"segment-{self._next:06d}.ogg"
        self._next += 1
        container = av.open(str(path), "w", format="ogg")
        stream = container.add_stream("libopus", rate=RATE)
        stream.codec_context.layout = "mono"
        stream.codec_context.format = "s16"
        stream.bit_rate = 32_000
        return container, stream


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("segment-*.ogg")) if directory.exists() else []


def joined(directory: Path) -> bytes:
    """Every readable segment, in order, remuxed into one Ogg/Opus file (no re-encoding)."""
    parts = []
    for path in segments(directory):
        try:
            parts.append(av.open(str(path)))
        except av.FFmpegError:
            continue  # a segment cut short by a crash
    buffer = io.BytesIO()
    if not parts:
        return b""
    output = av.open(buffer, "w", format="ogg")
    stream = output.add_stream_from_template(parts[0].streams.audio[0])
    offset = 0
    for part in parts:
        end = offset
        try:
            for packet in part.demux(part.streams.audio[0]):
                if packet.pts is None:
                    continue
                packet.pts += offset
                packet.dts = packet.pts
                end = max(end, packet.pts + (packet.duration or FRAME))
                packet.stream = stream
                output.mux(packet)
        except av.FFmpegError:
            pass  # keep what was readable of a damaged segment
        part.close()
        offset = end
    output.close()
    return buffer.getvalue()
