"""What an HLS player does with a Space's stream, for tests and benchmarks: read the media
playlist, follow its parts with blocking reloads, fetch them, and decode the audio."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import av
import numpy as np

ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def attributes(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in ATTRIBUTE.findall(line.split(":", 1)[1])}


@dataclass
class MediaPlaylist:
    text: str
    media_sequence: int = 0
    segments: list[str] = field(default_factory=list)  # complete segments' URIs, in order
    parts: list[tuple[int, str]] = field(default_factory=list)  # (msn, URI), in order
    hint: str | None = None  # the preload hint's URI
    ended: bool = False

    @classmethod
    def parse(cls, text: str) -> MediaPlaylist:
        playlist = cls(text)
        msn = None
        for line in text.splitlines():
            if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
                msn = playlist.media_sequence = int(line.split(":", 1)[1])
            elif line.startswith("#EXT-X-PART:"):
                playlist.parts.append((msn or 0, attributes(line)["URI"]))
            elif line.startswith("#EXT-X-PRELOAD-HINT:"):
                playlist.hint = attributes(line)["URI"]
            elif line.startswith("#EXT-X-ENDLIST"):
                playlist.ended = True
            elif line and not line.startswith("#"):
                playlist.segments.append(line)
                msn = (msn or 0) + 1
        return playlist

    @property
    def next_part(self) -> tuple[int, int]:
        """The msn and part index a blocking reload asks for next (after the last part)."""
        last = self.parts[-1][1] if self.parts else None
        found = re.match(r"part-(\d+)\.(\d+)\.m4s", last or "")
        if found is None or int(found.group(1)) < self.media_sequence + len(self.segments):
            return self.media_sequence + len(self.segments), 0  # its segment is complete
        return int(found.group(1)), int(found.group(2)) + 1


def decode(init: bytes, media: list[bytes]) -> np.ndarray:
    """The audio of an init section and media fragments (AAC in fMP4), mono float32."""
    container = av.open(io.BytesIO(init + b"".join(media)), format="mp4")
    samples = [frame.to_ndarray().astype(np.float32).reshape(-1, frame.samples)[0]
               for frame in container.decode(audio=0)]
    container.close()
    return np.concatenate(samples) if samples else np.zeros(0, np.float32)


def level_at(samples: np.ndarray, hz: float, rate: int = 48_000) -> float:
    """The amplitude of a tone in the audio (as tests/peers' Ears measure it)."""
    if len(samples) < rate // 10:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    frequencies = np.fft.rfftfreq(len(samples), 1 / rate)
    band = (frequencies > hz - 15) & (frequencies < hz + 15)
    return float(spectrum[band].max() * 4 / len(samples))
