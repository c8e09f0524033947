"""The text of an LL-HLS presentation: media, captions and multivariant playlists, and
WebVTT segments. Pure functions of what has been published (draft-pantos-hls-rfc8216bis).

Layout of a media playlist, as the spec and hls.js need it:

- header: version, target duration, server control, part info, media sequence, map;
- per segment, its EXT-X-PROGRAM-DATE-TIME first (it also applies to the segment's first
  part, so it MUST come before that part, 4.4.4.9), then its EXT-X-PART tags (a Partial
  Segment belongs to the Parent Segment that follows it, 3.2), then EXTINF and URI;
- the segment in progress: its parts after the last EXTINF, without EXTINF;
- EXT-X-PRELOAD-HINT for the next part, rendition reports, and EXT-X-ENDLIST when over
  (a playlist with ENDLIST MUST NOT carry a preload hint, 4.4.5.3).

Parts are listed only for segments that start within three Target Durations of the end
of the playlist (6.2.2 SHOULD remove them after that), and always a whole segment's parts
at a time: a client counts Part Indexes from the first EXT-X-PART of a segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from media.hls_state import Timing

# The protocol version the tags require and no more (6.2.1): EXT-X-MAP outside an
# I-frame playlist needs 6; nothing here needs more (EXT-X-SKIP would need 9).
AUDIO_VERSION = 6
CAPTIONS_VERSION = 3  # decimal EXTINF durations
CAPTIONS_GROUP = "captions"
CAPTIONS_CHARACTERISTICS = "public.accessibility.transcribes-spoken-dialog,public.machine-generated"


@dataclass(frozen=True)
class Part:
    uri: str
    duration: float


@dataclass(frozen=True)
class Segment:
    """A (Parent) Media Segment: complete once its URI may be listed with an EXTINF."""

    msn: int
    uri: str
    duration: float  # seconds so far (the sum of its parts)
    program_date: float  # POSIX time of its first sample
    parts: tuple[Part, ...] = ()
    complete: bool = True


@dataclass(frozen=True)
class RenditionReport:
    uri: str
    last_msn: int
    last_part: int | None = None


@dataclass(frozen=True)
class Cue:
    start: float  # seconds of media time (the audio's tfdt timeline)
    end: float
    text: str


def audio_playlist(
    segments: Sequence[Segment],
    timing: Timing,
    *,
    media_sequence: int,
    init_uri: str = "init.mp4",
    preload_hint: str | None = None,
    ended: bool = False,
    reports: Sequence[RenditionReport] = (),
    discontinuity: int = 0,
) -> str:
    """The LL-HLS media playlist of the audio: ``segments`` in order, all complete but
    perhaps the last; ``preload_hint`` is the URI of the next part (dropped once ended).
    ``discontinuity``: the writers before this one (their segments are gone)."""
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{AUDIO_VERSION}",
        f"#EXT-X-TARGETDURATION:{timing.target_duration}",
        _server_control(timing),
        f"#EXT-X-PART-INF:PART-TARGET={timing.part_target:.3f}",
        f"#EXT-X-MEDIA-SEQUENCE:{segments[0].msn if segments else media_sequence}",
        *_discontinuity(discontinuity),
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{init_uri}"',
    ]
    with_parts = _segments_with_parts(segments, 3 * timing.target_duration)
    for segment in segments:
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{program_date_time(segment.program_date)}")
        if segment.msn in with_parts:
            # Every AAC frame decodes on its own, so every part is independent.
            lines += [
                f'#EXT-X-PART:DURATION={part.duration:.5f},URI="{part.uri}",INDEPENDENT=YES'
                for part in segment.parts
            ]
        if segment.complete:
            lines += [f"#EXTINF:{segment.duration:.5f},", segment.uri]
    if preload_hint is not None and not ended:
        lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{preload_hint}"')
    return _end(lines, reports, ended)


def captions_playlist(
    segments: Sequence[Segment],
    timing: Timing,
    *,
    media_sequence: int,
    ended: bool = False,
    reports: Sequence[RenditionReport] = (),
    discontinuity: int = 0,
) -> str:
    """The media playlist of the WebVTT segments: no parts, but the same target duration,
    program dates and EXT-X-SERVER-CONTROL as the audio (6.2.4 requires both the same)."""
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{CAPTIONS_VERSION}",
        f"#EXT-X-TARGETDURATION:{timing.target_duration}",
        _server_control(timing),
        f"#EXT-X-MEDIA-SEQUENCE:{segments[0].msn if segments else media_sequence}",
        *_discontinuity(discontinuity),
    ]
    for segment in segments:
        lines += [
            f"#EXT-X-PROGRAM-DATE-TIME:{program_date_time(segment.program_date)}",
            f"#EXTINF:{segment.duration:.5f},",
            segment.uri,
        ]
    return _end(lines, reports, ended)


def multivariant_playlist(
    *,
    bandwidth: int,
    codecs: str,
    audio_uri: str,
    captions_uri: str | None = None,
    captions_name: str = "Captions",
) -> str:
    """One audio-only variant, with a subtitles rendition group when there are captions.
    CODECS lists the audio only: WebVTT is not an ISOBMFF sample format (only IMSC
    subtitles are to be listed, 4.4.6.2)."""
    lines = ["#EXTM3U", "#EXT-X-INDEPENDENT-SEGMENTS"]
    stream = f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},CODECS="{codecs}"'
    if captions_uri is not None:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{CAPTIONS_GROUP}",NAME="{captions_name}",'
            f'DEFAULT=YES,AUTOSELECT=YES,CHARACTERISTICS="{CAPTIONS_CHARACTERISTICS}",URI="{captions_uri}"'
        )
        stream += f',SUBTITLES="{CAPTIONS_GROUP}"'
    lines += [stream, audio_uri]
    return "\n".join(lines) + "\n"


def webvtt_segment(cues: Sequence[Cue]) -> str:
    """A WebVTT segment whose cue times are media times: X-TIMESTAMP-MAP maps cue time 0 to
    media time 0 (3.1.4). Cue times are absolute rather than relative to the segment, so a
    cue spanning segments is written identically in each (players drop the repeat, as
    hls.js does by start, end and text) and never needs a negative time."""
    lines = ["WEBVTT", "X-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:0", ""]
    for cue in cues:
        lines += [f"{vtt_time(cue.start)} --> {vtt_time(cue.end)}", *_cue_text(cue.text), ""]
    return "\n".join(lines) + "\n"


def program_date_time(posix: float) -> str:
    when = datetime.fromtimestamp(posix, timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def vtt_time(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def _discontinuity(sequence: int) -> list[str]:
    """EXT-X-DISCONTINUITY-SEQUENCE, once a writer has gone before: the segments now listed
    start a new timeline, which players see by the changed number (4.4.3.3)."""
    return [f"#EXT-X-DISCONTINUITY-SEQUENCE:{sequence}"] if sequence else []


def _server_control(timing: Timing) -> str:
    return f"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={timing.part_hold_back:.1f}"


def _end(lines: list[str], reports: Sequence[RenditionReport], ended: bool) -> str:
    if ended:
        lines.append("#EXT-X-ENDLIST")
    else:
        for report in reports:
            tag = f'#EXT-X-RENDITION-REPORT:URI="{report.uri}",LAST-MSN={report.last_msn}'
            lines.append(tag if report.last_part is None else f"{tag},LAST-PART={report.last_part}")
    return "\n".join(lines) + "\n"


def _segments_with_parts(segments: Sequence[Segment], horizon: float) -> set[int]:
    """Segments starting no more than ``horizon`` seconds before the end of the playlist."""
    keep: set[int] = set()
    from_end = 0.0
    for segment in reversed(segments):
        from_end += segment.duration
        if from_end > horizon + 1e-9:
            break
        keep.add(segment.msn)
    return keep


def _cue_text(text: str) -> list[str]:
    """Cue payload lines: escaped (so no tag and no "-->" can appear) and without blank
    lines, which would end the cue."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    lines = [line.strip() for line in escaped.splitlines() if line.strip()]
    return lines or ["\u00a0"]
