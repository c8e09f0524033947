"""A room on its own, without peers: emptiness, and its recording and transcription switches."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np

from media.opus import FRAME
from media.room import Captioning, Room
from tests.tone_speech import ToneWords


def room_in(directory: Path, frames: list[int] | None = None) -> Room:
    counted = frames if frames is not None else []
    captioning = Captioning(ToneWords, threading.Semaphore(1), None, lambda: counted.append(1))
    return Room("space", "host", recordings=directory, segment_seconds=1.0, captioning=captioning)


def test_a_room_held_open_for_an_offer_is_not_empty(tmp_path):
    room = room_in(tmp_path)
    assert room.empty() and room.listeners() == 0
    with room.held_open():
        with room.held_open():
            assert not room.empty()
        assert not room.empty()
    assert room.empty()


def test_the_recording_switch_starts_one_recorder_and_stops_it(tmp_path):
    room = room_in(tmp_path / "space")
    room.record(True)
    recorder = room.mix.recorder
    assert recorder is not None and (tmp_path / "space").is_dir()
    room.record(True)
    assert room.mix.recorder is recorder  # already recording: the same segments go on
    room.record(False)
    assert room.mix.recorder is None


def test_the_transcription_switch_feeds_one_transcriber_per_speaker_while_on(tmp_path):
    frames: list[int] = []
    room = room_in(tmp_path, frames)
    silence = np.zeros(FRAME, dtype=np.float32)

    async def scenario() -> None:
        assert room.mix.on_speech is None and room.transcribers == {}  # off: no audio taken
        room.transcribe(True)
        for speaker in ("a", "b", "a"):
            room.mix.on_speech(speaker, silence)
        assert len(frames) == 3 and sorted(room.transcribers) == ["a", "b"]
        room.transcribe(False)
        assert room.mix.on_speech is None and room.transcribers == {}
        room.transcribe(True)  # on again: new transcribers, as speakers are heard
        room.mix.on_speech("a", silence)
        assert len(frames) == 4 and list(room.transcribers) == ["a"]
        await room.close()
        assert room.transcribers == {}

    asyncio.run(scenario())
