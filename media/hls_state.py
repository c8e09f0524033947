"""What an HLS writer has published, as the HTTP side needs it for LL-HLS blocking requests.

The writer (media.hls) rewrites ``state.json`` atomically after every partial segment,
once the part, any completed segment and the playlists are all on disk. So a reader that
sees a part in the state can serve any playlist or file that part implies. This module
imports no PyAV: the API process can read a media node's directory with it alone.

Blocking Playlist Reload (RFC 8216bis 6.2.5.2): a request with ``_HLS_msn=M`` (and maybe
``_HLS_part=N``) is held until :func:`ready` says so (:func:`wait_ready` polls for it),
refused with 400 when :func:`too_far_ahead`, and answered 503 when it times out; a request
for the part in ``EXT-X-PRELOAD-HINT`` can be held the same way. ``captions.m3u8`` has no
parts and is published together with each completed audio segment, so for it only
``_HLS_msn`` counts.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "state.json"
SAMPLE_RATE = 48_000
SAMPLES_PER_FRAME = 1024  # one AAC-LC frame
FRAMES_PER_PART = 23  # 0.4907 s at 48 kHz
PARTS_PER_SEGMENT = 4  # 1.963 s at 48 kHz


@dataclass(frozen=True)
class Timing:
    """Durations that follow from the frame, part and segment sizes (all in AAC frames)."""

    sample_rate: int = SAMPLE_RATE
    frames_per_part: int = FRAMES_PER_PART
    parts_per_segment: int = PARTS_PER_SEGMENT

    @property
    def part_duration(self) -> float:
        return self.frames_per_part * SAMPLES_PER_FRAME / self.sample_rate

    @property
    def segment_duration(self) -> float:
        return self.parts_per_segment * self.part_duration

    @property
    def part_target(self) -> float:
        """PART-TARGET: every part lasts at most this (4.4.4.9); ms above the part length."""
        return math.ceil(round(self.part_duration * 1000, 6)) / 1000

    @property
    def target_duration(self) -> int:
        """EXT-X-TARGETDURATION: since version 6, the longest segment rounded to the nearest
        whole second."""
        return max(1, round(self.segment_duration))

    @property
    def part_hold_back(self) -> float:
        """PART-HOLD-BACK: at least three Part Target Durations (4.4.3.8 SHOULD), rounded up
        to a tenth of a second."""
        return math.ceil(round(3 * self.part_target * 10, 6)) / 10


DEFAULT_TIMING = Timing()


@dataclass(frozen=True)
class HlsState:
    """The last published partial segment.

    ``msn``/``part`` are its Media Sequence Number and Part Index (``part`` is -1 before
    anything is published); ``complete`` says segment ``msn`` is whole (its ``seg-`` file and
    EXTINF are out; the last segment of a stream may have fewer parts than the others);
    ``ended`` says the playlist carries EXT-X-ENDLIST; ``discontinuity`` counts the
    writers that went before this one in the directory (an origin that died, a new one
    that goes on: EXT-X-DISCONTINUITY-SEQUENCE), and ``first`` is the first segment of
    this writer's."""

    msn: int = 0
    part: int = -1
    complete: bool = False
    ended: bool = False
    discontinuity: int = 0
    first: int = 0


def read_state(directory: Path) -> HlsState | None:
    """The state in ``directory``, or None if there is no (readable) stream there."""
    try:
        data = json.loads((directory / STATE_FILE).read_text())
        return HlsState(int(data["msn"]), int(data["part"]), bool(data["complete"]),
                        bool(data["ended"]), int(data.get("discontinuity", 0)),
                        int(data.get("first", 0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(directory: Path, state: HlsState) -> None:
    write_atomic(directory / STATE_FILE, json.dumps(asdict(state)).encode())


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a hidden temporary name, then rename: a reader sees the old file or the
    new one, never a half-written one (rename is atomic within a file system)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def ready(state: HlsState | None, msn: int, part: int | None = None) -> bool:
    """Whether a playlist answering ``_HLS_msn=msn`` (``&_HLS_part=part``) can be served.

    Without a part, segment ``msn`` (or a later one) must be complete. With one, that part
    of ``msn`` or anything later must be out; a Part Index past the segment's last part
    means part 0 of the next segment (6.2.5.2), which this gives without knowing how many
    parts the segment has. An ended stream answers at once (directives are then ignored)."""
    if state is None:
        return False
    if state.ended or state.msn > msn:
        return True
    if state.msn < msn:
        return False
    if part is None:
        return state.complete
    return state.part >= part


def too_far_ahead(
    state: HlsState | None, msn: int, part: int | None = None, timing: Timing = DEFAULT_TIMING
) -> bool:
    """Whether the server SHOULD answer 400 at once (6.2.5.2): ``msn`` more than two past
    the last complete segment, or ``part`` more than the Advance Part Limit (three seconds'
    worth of parts when parts are shorter than a second) past the last published part.
    ``timing`` must be the writer's (``HlsWriter.timing``) if it was not made with the defaults."""
    if state is None or state.ended:
        return False
    last_complete = state.msn if state.complete else state.msn - 1
    if msn > last_complete + 2:
        return True
    if part is None:
        return False
    per_segment = timing.parts_per_segment
    if part >= per_segment:
        msn, part = msn + 1, 0
    limit = 3 / timing.part_target if timing.part_target < 1 else 3
    return (msn * per_segment + part) - (state.msn * per_segment + state.part) > limit


async def wait_ready(
    directory: Path, msn: int, part: int | None = None, timeout: float = 6.0, poll: float = 0.02
) -> bool:
    """Poll ``state.json`` until :func:`ready` (True) or ``timeout`` seconds pass (False;
    RFC 8216bis suggests 503 after blocking three Target Durations, the default here)."""
    deadline = time.monotonic() + timeout
    while True:
        if ready(read_state(directory), msn, part):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(poll, remaining))
