"""A Space's mix as Low-Latency HLS: AAC-LC in CMAF fragments, with WebVTT captions.

One :class:`HlsWriter` per Space owns one directory and one AAC encoder. The mix goes in
as PCM of any length; every ``FRAMES_PER_PART`` AAC frames (0.491 s at 48 kHz) become a
partial segment, every ``PARTS_PER_SEGMENT`` parts (1.963 s) a segment, and after each part
the playlists and ``state.json`` are rewritten. Files in the directory:

- ``init.mp4``: the CMAF header (EXT-X-MAP);
- ``part-{msn}.{i}.m4s``: partial segments; ``seg-{msn}.m4s``: their concatenation;
- ``audio.m3u8``: the media playlist; ``index.m3u8``: the multivariant playlist;
- ``captions.m3u8`` and ``captions-{msn}.vtt``: one WebVTT segment per audio segment,
  once there are captions;
- ``state.json``: the last published part (media.hls_state).

Every file is written under a temporary name and renamed, and in dependency order (part
and segment files, then playlists, then the state), so whatever a reader finds named in a
playlist or implied by the state is already whole on disk.

Timelines: the *stream* time of :meth:`HlsWriter.caption` is seconds of PCM given to
:meth:`HlsWriter.write` (``position`` is "now"). The *media* time of the fMP4 track is that
plus the encoder's delay (its first AAC frame is priming, 1024 samples = 21 ms); captions
are shifted by that delay so they stay in sync with the words.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from media import fmp4
from media.hls_playlists import (
    Cue,
    Part,
    RenditionReport,
    Segment,
    audio_playlist,
    captions_playlist,
    multivariant_playlist,
    webvtt_segment,
)
from media.hls_state import (
    FRAMES_PER_PART,
    PARTS_PER_SEGMENT,
    SAMPLES_PER_FRAME,
    STATE_FILE,
    HlsState,
    Timing,
    read_state,
    write_atomic,
    write_state,
)

INIT = "init.mp4"
AUDIO_PLAYLIST = "audio.m3u8"
MULTIVARIANT_PLAYLIST = "index.m3u8"
CAPTIONS_PLAYLIST = "captions.m3u8"
CODECS = "mp4a.40.2"  # AAC-LC
MIN_CUE_SECONDS = 1.0  # the display time given to a caption that comes without one
_STALE = ("part-*.m4s", "seg-*.m4s", "captions-*.vtt", ".*.tmp")


def part_uri(msn: int, index: int) -> str:
    return f"part-{msn}.{index}.m4s"


def segment_uri(msn: int) -> str:
    return f"seg-{msn}.m4s"


def captions_uri(msn: int) -> str:
    return f"captions-{msn}.vtt"


class HlsWriter:
    """Packages one Space's mix into ``directory`` (created, and cleared of an earlier
    stream's files). ``window`` is the number of complete segments a playlist lists; files
    are deleted once their segment is twice that far behind, so a client that has just
    read a playlist can still fetch everything in it (RFC 8216bis 6.2.2).

    A writer that finds an earlier writer's stream there (the Space's origin died, another
    node goes on) numbers on after it, in a new discontinuity: players that reload the
    playlist go on without starting again."""

    def __init__(
        self,
        directory: Path,
        sample_rate: int = 48_000,
        channels: int = 1,
        *,
        bitrate: int = 64_000,
        captions: bool = False,
        window: int = 6,
        frames_per_part: int = FRAMES_PER_PART,
        parts_per_segment: int = PARTS_PER_SEGMENT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if channels not in (1, 2):
            raise ValueError("the mix is mono or stereo")
        self.directory = directory
        self.sample_rate, self.channels = sample_rate, channels
        self.timing = Timing(sample_rate, frames_per_part, parts_per_segment)
        if window * self.timing.segment_duration < 3 * self.timing.target_duration:
            raise ValueError("a live playlist must last at least three target durations")
        self.window = window
        self._clock = clock
        self._encoder = av.CodecContext.create("aac", "w")
        self._encoder.sample_rate = sample_rate
        self._encoder.layout = {1: "mono", 2: "stereo"}[channels]
        self._encoder.format = "fltp"
        self._encoder.bit_rate = bitrate
        self._encoder.time_base = Fraction(1, sample_rate)
        self._encoder.open()
        config = bytes(self._encoder.extradata or b"") or fmp4.audio_specific_config(sample_rate, channels)
        # Peak segment bit rate: the encoder overshoots its target by a few per cent, and
        # each part adds ~200 bytes of moof and mdat headers.
        self.bandwidth = round(bitrate * 1.15 + 8 * 200 / self.timing.part_duration)

        self._pending = np.zeros((channels, 0), dtype=np.float32)  # PCM not yet encoded
        self._encoded = 0  # samples handed to the encoder
        self._written = 0  # samples given to write()
        self._priming = SAMPLES_PER_FRAME  # replaced by the encoder's own delay on its first packet
        self._first_packet = True
        self._started_at: float | None = None  # POSIX time of media time 0
        self._frames: list[bytes] = []  # AAC frames of the part being filled
        self._fragments: list[bytes] = []  # fragments of the segment being filled
        self._sequence = 1  # mfhd sequence number of the next fragment
        self._decode_time = 0  # media time of the next fragment, in samples
        self._segment_start = 0  # media time of the segment being filled, in samples
        before = read_state(directory)
        first = before.msn + 1 if before is not None else 0
        self._discontinuity = before.discontinuity + 1 if before is not None else 0
        self._msn, self._part = first, 0  # the next part to publish
        self._segments: list[Segment] = []  # the playlist's window, the last one maybe incomplete
        self._deleted = first  # segments below this have had their files deleted
        self._first = first
        self._state = HlsState(first, -1, discontinuity=self._discontinuity, first=first)
        self._captions_from: int | None = None  # first segment with a WebVTT segment
        self._cues: list[Cue] = []  # cues not yet wholly published
        self._vtt: list[Segment] = []
        self._playlist = ""
        self._closed = False

        directory.mkdir(parents=True, exist_ok=True)
        for pattern in _STALE:
            for stale in directory.glob(pattern):
                stale.unlink(missing_ok=True)
        for name in (CAPTIONS_PLAYLIST, STATE_FILE):
            (directory / name).unlink(missing_ok=True)
        write_atomic(directory / INIT, fmp4.init_segment(config, sample_rate, channels, bitrate))
        if captions:
            self._captions_from = first
        self._publish(multivariant=True)

    @property
    def state(self) -> HlsState:
        return self._state

    @property
    def position(self) -> float:
        """Seconds of PCM written so far: "now" on the timeline of :meth:`caption`."""
        return self._written / self.sample_rate

    def media_playlist(self) -> str:
        """The text of ``audio.m3u8`` as last written."""
        return self._playlist

    def write(self, samples: np.ndarray) -> None:
        """Add PCM of the mix: int16, or float in [-1, 1] (as the mix makes it); shape
        ``(n,)`` for mono or ``(n, channels)``. Parts are published as they fill."""
        if self._closed:
            raise RuntimeError("the HLS writer is closed")
        pcm = _planar(samples, self.channels)
        if self._started_at is None:
            self._started_at = self._clock() - self._priming / self.sample_rate
        self._written += pcm.shape[1]
        self._pending = np.concatenate([self._pending, pcm], axis=1)
        whole = self._pending.shape[1] - self._pending.shape[1] % SAMPLES_PER_FRAME
        for start in range(0, whole, SAMPLES_PER_FRAME):
            self._encode(self._pending[:, start : start + SAMPLES_PER_FRAME])
        self._pending = self._pending[:, whole:]

    def caption(self, start: float, end: float, text: str) -> None:
        """Show ``text`` from ``start`` to ``end`` (stream seconds). The first caption turns
        the captions rendition on (at once if made with ``captions=True``).

        A WebVTT segment is published with its audio segment and never changes, so a cue
        that comes after its time was published (transcripts come late) is moved to the
        first moment not yet published, keeping its length: shown late rather than never.
        Empty text, and captions after :meth:`close`, are ignored."""
        text = text.strip()
        if self._closed or not text:
            return
        if self._captions_from is None:
            self._captions_from = self._msn
            self._publish(multivariant=True)
        if end <= start:
            end = start + MIN_CUE_SECONDS
        offset = self._priming / self.sample_rate
        start, end = start + offset, end + offset
        published = self._segment_start / self.sample_rate
        if start < published:
            start, end = published, end + published - start
        self._cues.append(Cue(start, end, text))

    def close(self, ended: bool = True) -> None:
        """Encode what is left and publish it as the last (perhaps short) part and segment.
        ``ended`` adds EXT-X-ENDLIST: the Space is over and players stop; without it the
        playlists stay live-looking but get nothing more from this writer."""
        if self._closed:
            return
        if self._pending.shape[1]:
            tail = np.zeros((self.channels, SAMPLES_PER_FRAME), dtype=np.float32)
            tail[:, : self._pending.shape[1]] = self._pending
            self._encode(tail)
        self._pending = self._pending[:, :0]
        for packet in self._encoder.encode(None):
            self._take(packet)
        if self._frames:
            self._publish_part(last=True)
        elif self._part:
            self._complete_segment()
        self._closed = True
        self._publish(ended=ended)

    def _encode(self, chunk: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(chunk), format="fltp", layout=self._encoder.layout.name
        )
        frame.sample_rate, frame.pts = self.sample_rate, self._encoded
        frame.time_base = Fraction(1, self.sample_rate)
        self._encoded += SAMPLES_PER_FRAME
        for packet in self._encoder.encode(frame):
            self._take(packet)

    def _take(self, packet: av.Packet) -> None:
        if self._first_packet:
            self._first_packet = False
            if packet.pts is not None and packet.pts < 0:
                self._priming = -packet.pts
        self._frames.append(bytes(packet))
        if len(self._frames) == self.timing.frames_per_part:
            self._publish_part()
            self._publish()

    def _publish_part(self, last: bool = False) -> None:
        frames, self._frames = self._frames, []
        data = fmp4.fragment(self._sequence, self._decode_time, frames)
        self._sequence += 1
        self._decode_time += len(frames) * SAMPLES_PER_FRAME
        uri = part_uri(self._msn, self._part)
        write_atomic(self.directory / uri, data)
        self._fragments.append(data)
        part = Part(uri, len(frames) * SAMPLES_PER_FRAME / self.sample_rate)
        if self._part == 0:
            start = self._date(self._segment_start)
            self._segments.append(Segment(self._msn, segment_uri(self._msn), 0.0, start, complete=False))
        current = self._segments[-1]
        self._segments[-1] = Segment(
            current.msn, current.uri, current.duration + part.duration, current.program_date,
            (*current.parts, part), complete=False,
        )
        self._state = HlsState(self._msn, self._part, False, False, self._discontinuity,
                               self._first)
        self._part += 1
        if last or self._part == self.timing.parts_per_segment:
            self._complete_segment()

    def _complete_segment(self) -> None:
        msn, current = self._msn, self._segments[-1]
        write_atomic(self.directory / current.uri, b"".join(self._fragments))
        self._fragments = []
        self._segments[-1] = Segment(msn, current.uri, current.duration, current.program_date, current.parts)
        if self._captions_from is not None:
            self._write_captions(self._segments[-1])
        self._segment_start = self._decode_time
        self._state = HlsState(msn, self._part - 1, True, False, self._discontinuity, self._first)
        self._msn, self._part = msn + 1, 0
        del self._segments[: max(0, len(self._segments) - self.window)]
        del self._vtt[: max(0, len(self._vtt) - self.window)]
        for old in range(self._deleted, self._msn - 2 * self.window):
            self._delete(old)
            self._deleted = old + 1

    def _write_captions(self, segment: Segment) -> None:
        start = self._segment_start / self.sample_rate
        end = self._decode_time / self.sample_rate
        cues = [cue for cue in self._cues if cue.start < end and cue.end > start]
        uri = captions_uri(segment.msn)
        write_atomic(self.directory / uri, webvtt_segment(cues).encode())
        self._cues = [cue for cue in self._cues if cue.end > end]
        self._vtt.append(Segment(segment.msn, uri, segment.duration, segment.program_date))

    def _delete(self, msn: int) -> None:
        names = [segment_uri(msn), captions_uri(msn)]
        names += [part_uri(msn, index) for index in range(self.timing.parts_per_segment)]
        for name in names:
            (self.directory / name).unlink(missing_ok=True)

    def _publish(self, multivariant: bool = False, ended: bool = False) -> None:
        """Rewrite the playlists, then the state that points readers at them."""
        captions = self._captions_from is not None
        if multivariant:
            text = multivariant_playlist(
                bandwidth=self.bandwidth, codecs=CODECS, audio_uri=AUDIO_PLAYLIST,
                captions_uri=CAPTIONS_PLAYLIST if captions else None,
            )
            write_atomic(self.directory / MULTIVARIANT_PLAYLIST, text.encode())
        audio_report = RenditionReport(AUDIO_PLAYLIST, self._state.msn, max(self._state.part, 0))
        captions_reports = [RenditionReport(CAPTIONS_PLAYLIST, self._vtt[-1].msn)] if self._vtt else []
        if captions:
            text = captions_playlist(
                self._vtt, self.timing, media_sequence=self._captions_from or 0, ended=ended,
                reports=[audio_report] if self._state.part >= 0 else [],
                discontinuity=self._discontinuity,
            )
            write_atomic(self.directory / CAPTIONS_PLAYLIST, text.encode())
        self._playlist = audio_playlist(
            self._segments, self.timing, media_sequence=self._msn, init_uri=INIT,
            preload_hint=None if self._closed else part_uri(self._msn, self._part),
            ended=ended, reports=captions_reports, discontinuity=self._discontinuity,
        )
        write_atomic(self.directory / AUDIO_PLAYLIST, self._playlist.encode())
        self._state = HlsState(self._state.msn, self._state.part, self._state.complete, ended,
                               self._discontinuity, self._first)
        write_state(self.directory, self._state)

    def _date(self, media_samples: int) -> float:
        """EXT-X-PROGRAM-DATE-TIME: the wall clock when the first PCM came, plus media time
        (the mix runs on its own 20 ms clock, so no drift correction is made)."""
        assert self._started_at is not None  # a part exists, so write() has been called
        return self._started_at + media_samples / self.sample_rate


def _planar(samples: np.ndarray, channels: int) -> np.ndarray:
    """PCM as float32 ``(channels, n)``, the encoder's planar layout."""
    data = np.asarray(samples)
    if data.ndim == 1:
        data = data.reshape(-1, 1)
    if data.ndim != 2 or data.shape[1] != channels:
        raise ValueError(f"expected PCM of shape (n,) or (n, {channels}), got {np.shape(samples)}")
    if data.dtype == np.int16:
        pcm = data.astype(np.float32) / 32768.0
    else:
        pcm = np.clip(data.astype(np.float32), -1.0, 1.0)
    return np.ascontiguousarray(pcm.T)
