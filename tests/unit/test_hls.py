"""The LL-HLS packager (#16): what it writes decodes to the mix, its playlists follow
draft-pantos-hls-rfc8216bis, and its state answers blocking playlist reloads."""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path

import av
import numpy as np
import pytest

from media import fmp4
from media.hls import HlsWriter
from media.hls_playlists import (
    Cue,
    Part,
    RenditionReport,
    Segment,
    audio_playlist,
    vtt_time,
    webvtt_segment,
)
from media.hls_state import (
    HlsState,
    Timing,
    read_state,
    ready,
    too_far_ahead,
    wait_ready,
    write_state,
)

RATE = 48_000
PRIMING = 1024 / RATE  # the AAC encoder's delay: media time = stream time + this
PART = 23 * 1024 / RATE
SEGMENT = 4 * PART
T0 = 1_700_000_000.0


def two_tones(seconds: float, split: float = 2.0) -> np.ndarray:
    """440 Hz, then 1000 Hz from ``split`` seconds: int16 mono, as the brief's mix."""
    t = np.arange(int(seconds * RATE)) / RATE
    wave = np.where(t < split, np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 1000 * t))
    return (0.4 * wave * 32767).astype(np.int16)


def feed(writer: HlsWriter, pcm: np.ndarray, chunk: int = 960) -> None:
    for start in range(0, len(pcm), chunk):  # 20 ms at a time, as the mix ticks
        writer.write(pcm[start : start + chunk])


def decode(data: bytes) -> tuple[np.ndarray, list[int]]:
    container = av.open(io.BytesIO(data))
    frames = list(container.decode(audio=0))
    return np.concatenate([f.to_ndarray()[0] for f in frames]), [f.pts for f in frames]


def dominant(pcm: np.ndarray, start: float, seconds: float = 0.25) -> float:
    window = pcm[int(start * RATE) : int((start + seconds) * RATE)]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    return float(np.fft.rfftfreq(len(window), 1 / RATE)[np.argmax(spectrum)])


def files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def test_timing_follows_from_the_frame_part_and_segment_sizes():
    timing = Timing()
    assert timing.part_duration == pytest.approx(0.49067, abs=1e-5)
    assert timing.segment_duration == pytest.approx(1.96267, abs=1e-5)
    assert timing.part_target == 0.491 and timing.target_duration == 2
    # PART-HOLD-BACK SHOULD be at least three Part Target Durations
    assert timing.part_hold_back == 1.5 >= 3 * timing.part_target


def test_segments_and_parts_decode_to_the_mix_at_its_tones_and_length(tmp_path):
    writer = HlsWriter(tmp_path, clock=lambda: T0)
    feed(writer, two_tones(5.0))
    writer.close(ended=True)

    init = (tmp_path / "init.mp4").read_bytes()
    assert init[4:12] == b"ftypiso6"
    segments = sorted(tmp_path.glob("seg-*.m4s"), key=lambda p: int(p.stem.split("-")[1]))
    assert [p.name for p in segments] == ["seg-0.m4s", "seg-1.m4s", "seg-2.m4s"]
    pcm, pts = decode(init + b"".join(p.read_bytes() for p in segments))
    assert pts[0] == 0 and np.all(np.diff(pts) == 1024)
    # all the input, plus the priming frame and the zero-padded tail frame
    assert 5.0 + PRIMING <= len(pcm) / RATE <= 5.0 + PRIMING + 2 * 1024 / RATE
    assert dominant(pcm, 1.0 + PRIMING) == pytest.approx(440, abs=8)
    assert dominant(pcm, 3.5 + PRIMING) == pytest.approx(1000, abs=8)
    assert np.sqrt(np.mean(pcm[RATE : 2 * RATE] ** 2)) == pytest.approx(0.4 / np.sqrt(2), rel=0.1)

    # A segment is its parts' fragments end to end
    for msn, segment in enumerate(segments):
        parts = sorted(tmp_path.glob(f"part-{msn}.*.m4s"), key=lambda p: int(p.name.split(".")[1]))
        assert b"".join(p.read_bytes() for p in parts) == segment.read_bytes()
    # and any one part decodes alone, at its own place on the timeline (tfdt)
    pcm, pts = decode(init + (tmp_path / "part-1.2.m4s").read_bytes())
    assert pts[0] == (4 + 2) * 23 * 1024 and len(pcm) == 23 * 1024
    assert dominant(pcm, 0.1) == pytest.approx(1000, abs=8)


def test_the_priming_delay_is_the_only_shift_between_input_and_media_time(tmp_path):
    writer = HlsWriter(tmp_path)
    pcm = np.zeros(3 * RATE, dtype=np.float32)  # float input, as media.mix makes it
    pcm[RATE // 2 :] = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(len(pcm) - RATE // 2) / RATE)
    writer.write(pcm)
    writer.close()
    decoded, _ = decode((tmp_path / "init.mp4").read_bytes() + (tmp_path / "seg-0.m4s").read_bytes())
    onset = int(np.argmax(np.abs(decoded) > 0.1))
    assert abs(onset - (RATE // 2 + 1024)) <= 8


def test_the_init_segment_carries_the_audio_specific_config():
    config = fmp4.audio_specific_config(48_000, 1)
    assert config == bytes([0x11, 0x88])  # AAC-LC, 48 kHz, mono
    init = fmp4.init_segment(config, 48_000, 1)
    for kind in (b"moov", b"mvhd", b"trak", b"tkhd", b"mdhd", b"hdlr", b"smhd", b"stsd", b"mp4a", b"esds",
                 b"stts", b"stsc", b"stsz", b"stco", b"mvex", b"trex"):
        assert kind in init
    assert b"\x05\x02\x11\x88" in init  # DecoderSpecificInfo tag, length, config


def test_the_live_playlist_lists_parts_before_their_segment_and_hints_the_next(tmp_path):
    writer = HlsWriter(tmp_path, clock=lambda: T0)
    feed(writer, two_tones(2 * SEGMENT + 2.2 * PART))  # two segments, two parts of the third
    text = (tmp_path / "audio.m3u8").read_text()
    assert text == writer.media_playlist()
    lines = text.splitlines()
    assert lines[:8] == [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5",
        "#EXT-X-PART-INF:PART-TARGET=0.491",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-MAP:URI="init.mp4"',
    ]
    parts = [line for line in lines if line.startswith("#EXT-X-PART:")]
    assert parts[0] == '#EXT-X-PART:DURATION=0.49067,URI="part-0.0.m4s",INDEPENDENT=YES'
    assert [re.search(r'URI="([^"]+)"', p)[1] for p in parts] == [
        *(f"part-0.{i}.m4s" for i in range(4)), *(f"part-1.{i}.m4s" for i in range(4)),
        "part-2.0.m4s", "part-2.1.m4s",
    ]
    # RFC 8216bis 3.2, 4.4.4.9: a segment's parts come after its date and before its EXTINF;
    # the parts of the segment in progress come after the last EXTINF; the hint comes last
    assert lines.index("seg-0.m4s") < lines.index('#EXT-X-PART:DURATION=0.49067,URI="part-1.0.m4s",INDEPENDENT=YES')
    assert lines.index("#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:21.941Z") == lines.index("seg-0.m4s") + 1
    assert lines[-5:] == [
        "seg-1.m4s",
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:23.904Z",
        '#EXT-X-PART:DURATION=0.49067,URI="part-2.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.49067,URI="part-2.1.m4s",INDEPENDENT=YES',
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-2.2.m4s"',
    ]
    assert [line for line in lines if line.startswith("#EXTINF")] == ["#EXTINF:1.96267,"] * 2
    assert "#EXT-X-ENDLIST" not in lines
    assert read_state(tmp_path) == writer.state == HlsState(msn=2, part=1, complete=False, ended=False)
    assert json.loads((tmp_path / "state.json").read_text()) == {
        "msn": 2, "part": 1, "complete": False, "ended": False, "discontinuity": 0, "first": 0,
    }

    index = (tmp_path / "index.m3u8").read_text().splitlines()
    assert index[-2] == f'#EXT-X-STREAM-INF:BANDWIDTH={writer.bandwidth},CODECS="mp4a.40.2"'
    assert index[-1] == "audio.m3u8" and not any(line.startswith("#EXT-X-MEDIA:") for line in index)


def test_before_any_audio_the_playlist_hints_the_first_part(tmp_path):
    writer = HlsWriter(tmp_path)
    assert writer.media_playlist().splitlines()[-1] == '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-0.0.m4s"'
    assert read_state(tmp_path) == HlsState(msn=0, part=-1, complete=False, ended=False)
    assert not ready(read_state(tmp_path), 0, 0)
    assert (tmp_path / "init.mp4").exists() and (tmp_path / "index.m3u8").exists()


def test_the_window_slides_old_parts_leave_the_playlist_and_old_files_go(tmp_path):
    writer = HlsWriter(tmp_path, window=4)
    feed(writer, two_tones(11 * SEGMENT + 1.2 * PART), chunk=4800)  # 11 segments, part 0 of the 12th
    lines = writer.media_playlist().splitlines()
    assert "#EXT-X-MEDIA-SEQUENCE:7" in lines
    assert [line for line in lines if not line.startswith("#")] == [f"seg-{n}.m4s" for n in range(7, 11)]
    # parts only for segments starting within three target durations (6 s) of the end:
    # 11 has one part (0.49 s), so 9 starts 4.4 s from the end and 8 is 6.4 s away
    listed = {re.search(r'URI="part-(\d+)\.', line)[1] for line in lines if line.startswith("#EXT-X-PART:")}
    assert listed == {"9", "10", "11"}
    # files stay twice the window: segment 2 (and older) gone, 3 still there for late readers
    names = files(tmp_path)
    assert not {"seg-0.m4s", "seg-2.m4s", "part-2.3.m4s"} & names
    assert {"seg-3.m4s", "part-3.0.m4s", "seg-10.m4s", "part-11.0.m4s"} <= names
    assert not [name for name in names if name.endswith(".tmp")]


def test_a_window_shorter_than_three_target_durations_is_refused(tmp_path):
    with pytest.raises(ValueError):
        HlsWriter(tmp_path, window=3)


@pytest.mark.parametrize("ended", [True, False])
def test_close_publishes_the_tail_and_ends_the_playlist_only_when_the_space_ended(tmp_path, ended):
    writer = HlsWriter(tmp_path)
    feed(writer, two_tones(SEGMENT + 1.5 * PART))
    writer.close(ended=ended)
    lines = (tmp_path / "audio.m3u8").read_text().splitlines()
    assert ("#EXT-X-ENDLIST" in lines) is ended
    assert not any(line.startswith("#EXT-X-PRELOAD-HINT") for line in lines)
    assert lines[-2 if ended else -1] == "seg-1.m4s"
    # the tail: 1.5 parts of input (34.5 frames, the last one padded) and the priming frame
    assert [line for line in lines if line.startswith("#EXTINF")][-1] == "#EXTINF:0.76800,"
    assert writer.state == read_state(tmp_path) == HlsState(msn=1, part=1, complete=True, ended=ended)
    assert not [name for name in files(tmp_path) if name.endswith(".tmp")]
    writer.close(ended=not ended)  # a second close changes nothing
    assert writer.state.ended is ended
    with pytest.raises(RuntimeError):
        writer.write(np.zeros(960, dtype=np.int16))


def test_captions_are_webvtt_segments_aligned_with_the_audio(tmp_path):
    writer = HlsWriter(tmp_path, captions=True, clock=lambda: T0)
    writer.caption(0.5, 1.25, "hello <world> & all")
    writer.caption(1.5, 2.5, "across two segments")  # 1.96 s is the first segment boundary
    feed(writer, two_tones(2 * SEGMENT + 0.2))
    writer.caption(writer.position - 3.0, writer.position - 2.5, "late")  # its time is published
    feed(writer, two_tones(2 * SEGMENT))
    writer.close(ended=True)

    first = (tmp_path / "captions-0.vtt").read_text()
    assert first.startswith("WEBVTT\nX-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:0\n\n")
    assert "00:00:00.521 --> 00:00:01.271\nhello &lt;world&gt; &amp; all\n" in first
    across = "00:00:01.521 --> 00:00:02.521\nacross two segments\n"
    assert across in first and across in (tmp_path / "captions-1.vtt").read_text()
    # the late cue keeps its half second, from the start of the first unpublished segment
    late = f"{vtt_time(2 * SEGMENT)} --> {vtt_time(2 * SEGMENT + 0.5)}\nlate\n"
    assert late in (tmp_path / "captions-2.vtt").read_text()
    assert "late" not in (tmp_path / "captions-1.vtt").read_text()

    captions = (tmp_path / "captions.m3u8").read_text().splitlines()
    audio = (tmp_path / "audio.m3u8").read_text().splitlines()
    assert captions[:5] == [
        "#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5", "#EXT-X-MEDIA-SEQUENCE:0",
    ]
    vtts = [line for line in captions if not line.startswith("#")]
    assert vtts == [f"captions-{n}.vtt" for n in range(5)] and captions[-1] == "#EXT-X-ENDLIST"
    # same durations and program dates as the audio segments
    def dated(lines: list[str]) -> list[str]:
        return [line for line in lines if line.startswith(("#EXTINF", "#EXT-X-PROGRAM-DATE-TIME"))]
    assert dated(captions) == dated(audio)

    index = (tmp_path / "index.m3u8").read_text()
    assert '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="captions",NAME="Captions",DEFAULT=YES,AUTOSELECT=YES,' in index
    assert 'URI="captions.m3u8"' in index and 'CODECS="mp4a.40.2",SUBTITLES="captions"' in index


def test_the_first_caption_turns_captions_on_from_the_segment_in_progress(tmp_path):
    writer = HlsWriter(tmp_path)
    feed(writer, two_tones(SEGMENT + 1.2 * PART))
    assert "SUBTITLES" not in (tmp_path / "index.m3u8").read_text()
    writer.caption(writer.position, writer.position + 1, "now")
    assert 'SUBTITLES="captions"' in (tmp_path / "index.m3u8").read_text()
    assert "#EXT-X-MEDIA-SEQUENCE:1" in (tmp_path / "captions.m3u8").read_text()
    feed(writer, two_tones(SEGMENT))
    lines = writer.media_playlist().splitlines()
    assert '#EXT-X-RENDITION-REPORT:URI="captions.m3u8",LAST-MSN=1' in lines
    assert '#EXT-X-RENDITION-REPORT:URI="audio.m3u8",LAST-MSN=2,LAST-PART=0' in (
        (tmp_path / "captions.m3u8").read_text().splitlines()
    )
    assert "now" in (tmp_path / "captions-1.vtt").read_text() and not (tmp_path / "captions-0.vtt").exists()


def test_the_bandwidth_covers_the_peak_segment_bit_rate(tmp_path):
    writer = HlsWriter(tmp_path)
    noise = np.random.default_rng(7).uniform(-0.9, 0.9, int((3 * SEGMENT + 0.2) * RATE)).astype(np.float32)
    writer.write(noise)
    peak = max((tmp_path / f"seg-{n}.m4s").stat().st_size * 8 / SEGMENT for n in range(3))
    assert peak <= writer.bandwidth <= 1.3 * peak


def test_pcm_of_the_wrong_shape_is_refused(tmp_path):
    writer = HlsWriter(tmp_path)
    with pytest.raises(ValueError):
        writer.write(np.zeros((960, 2), dtype=np.int16))


def test_a_stereo_writer_takes_interleaved_frames(tmp_path):
    writer = HlsWriter(tmp_path, channels=2)
    writer.write(np.stack([two_tones(SEGMENT + 0.1), two_tones(SEGMENT + 0.1, split=0)], axis=1))
    container = av.open(io.BytesIO((tmp_path / "init.mp4").read_bytes() + (tmp_path / "seg-0.m4s").read_bytes()))
    frames = list(container.decode(audio=0))
    pcm = np.concatenate([f.to_ndarray() for f in frames], axis=1)
    assert container.streams.audio[0].channels == 2
    assert dominant(pcm[0], 1.0) == pytest.approx(440, abs=8)
    assert dominant(pcm[1], 1.0) == pytest.approx(1000, abs=8)


def test_playlist_parts_are_dropped_a_whole_segment_at_a_time():
    timing = Timing()
    segments = [
        Segment(n, f"seg-{n}.m4s", SEGMENT, T0 + n * SEGMENT, tuple(Part(f"part-{n}.{i}.m4s", PART) for i in range(4)))
        for n in range(5, 9)
    ]
    text = audio_playlist(segments, timing, media_sequence=9, preload_hint="part-9.0.m4s")
    listed = re.findall(r'#EXT-X-PART:.*URI="part-(\d+)\.\d\.m4s"', text)
    assert sorted(set(listed)) == ["6", "7", "8"] and len(listed) == 12  # 6 is 5.9 s from the end
    assert "#EXT-X-MEDIA-SEQUENCE:5" in text
    ended = audio_playlist(segments, timing, media_sequence=9, preload_hint="part-9.0.m4s", ended=True,
                           reports=[RenditionReport("captions.m3u8", 8)])
    assert ended.endswith("seg-8.m4s\n#EXT-X-ENDLIST\n") and "PRELOAD-HINT" not in ended


def test_webvtt_times_and_text():
    assert vtt_time(0) == "00:00:00.000" and vtt_time(3723.4567) == "01:02:03.457"
    text = webvtt_segment([Cue(1.0, 2.0, "a --> b\n\nsecond line")])
    assert "00:00:01.000 --> 00:00:02.000\na --&gt; b\nsecond line\n" in text


def test_ready_follows_blocking_playlist_reload():
    assert not ready(None, 0, 0)
    partway = HlsState(msn=5, part=1)
    assert ready(partway, 5, 1) and ready(partway, 5, 0) and ready(partway, 4) and ready(partway, 2, 3)
    assert not ready(partway, 5, 2) and not ready(partway, 5) and not ready(partway, 6, 0)
    whole = HlsState(msn=5, part=3, complete=True)
    assert ready(whole, 5) and ready(whole, 5, 3)
    assert not ready(whole, 5, 4)  # past the last part: part 0 of segment 6 (RFC 8216bis 6.2.5.2)
    assert ready(HlsState(msn=6, part=0), 5, 4)
    assert ready(HlsState(msn=1, part=0, ended=True), 40, 2)  # directives are ignored once ended


def test_requests_too_far_ahead_are_refused():
    state = HlsState(msn=5, part=1)  # segments up to 4 complete
    assert not too_far_ahead(state, 6) and too_far_ahead(state, 7)
    assert not too_far_ahead(state, 5, 2) and not too_far_ahead(state, 6, 3)
    # Advance Part Limit: 3 / 0.491 = 6.1 parts past the last one
    assert not too_far_ahead(state, 6, 3) and too_far_ahead(state, 6, 4)  # (6, 4) is part 0 of 7
    assert too_far_ahead(HlsState(msn=5, part=3, complete=True), 8)
    assert not too_far_ahead(HlsState(msn=5, part=3, complete=True), 7, 0)
    assert not too_far_ahead(None, 100) and not too_far_ahead(HlsState(msn=1, part=0, ended=True), 100)


def test_wait_ready_returns_once_the_state_says_so_or_times_out(tmp_path):
    write_state(tmp_path, HlsState(msn=3, part=2))

    async def scenario() -> tuple[bool, bool, bool]:
        waiting = asyncio.ensure_future(wait_ready(tmp_path, 3, 3, timeout=2.0))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        write_state(tmp_path, HlsState(msn=3, part=3, complete=True))
        got = await asyncio.wait_for(waiting, 0.5)
        timed_out = await wait_ready(tmp_path, 4, 0, timeout=0.05)
        return got, timed_out, await wait_ready(tmp_path, 3, timeout=0.05)

    assert asyncio.run(scenario()) == (True, False, True)
    assert read_state(tmp_path / "nowhere") is None
    (tmp_path / "state.json").write_text("{half")
    assert read_state(tmp_path) is None
    assert not [name for name in files(tmp_path) if name.endswith(".tmp")]


def test_a_new_writer_clears_an_earlier_stream_from_its_directory(tmp_path):
    first = HlsWriter(tmp_path, captions=True)
    feed(first, two_tones(SEGMENT + 1.2 * PART))
    first.close(ended=False)
    (tmp_path / ".audio.m3u8.tmp").write_text("left by a crash")
    HlsWriter(tmp_path)
    assert files(tmp_path) == {"init.mp4", "index.m3u8", "audio.m3u8", "state.json"}


def test_a_writer_after_another_numbers_on_in_a_new_discontinuity(tmp_path):
    first = HlsWriter(tmp_path)
    feed(first, two_tones(2 * SEGMENT + 1.2 * PART))  # segments 0 and 1, and a part of 2
    before = read_state(tmp_path)
    assert before is not None and (before.msn, before.part) == (2, 0)
    # the node died without closing its writer; another origin goes on in the same directory
    second = HlsWriter(tmp_path)
    assert second.state == HlsState(3, -1, discontinuity=1, first=3)
    assert not ready(second.state, 3, 0) and not too_far_ahead(second.state, 3, 0)
    feed(second, two_tones(SEGMENT + 1.2 * PART))
    playlist = second.media_playlist()
    assert "#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n" in playlist
    assert "seg-3.m4s" in playlist and 'URI="part-4.0.m4s"' in playlist
    assert "seg-0.m4s" not in playlist and not (tmp_path / "seg-0.m4s").exists()
    assert read_state(tmp_path) == HlsState(4, 0, discontinuity=1, first=3)
    third = HlsWriter(tmp_path)
    assert third.state.discontinuity == 2 and third.state.msn == 5
