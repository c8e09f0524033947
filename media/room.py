"""One Space's audio on this node: its sessions, its mix, the receive slots through which
speakers hear each other, and the recording and transcription switches.

A room reports what changes in it (listeners joining and leaving, who is talking, caption
lines) through the node's callbacks, each called with the Space's id first.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import RTCPeerConnection

from media.hls import HlsWriter
from media.listeners import FanoutMode, ListenerTrack, listeners
from media.mix import SpaceMix, SpeakerInput
from media.recording import Recorder
from media.session import Session
from media.speech import SpeechEngine
from media.transcriber import SpeakerTranscriber
from media.upstream import Upstream

# (space_id, listeners, "joined"/"left", user, session)
Presence = Callable[[str, int, str, str | None, str], None]
Talking = Callable[[str, list[str]], None]  # (space_id, speakers heard now)
Caption = Callable[[str, dict[str, Any]], None]  # (space_id, caption line), on the event loop


@dataclass(frozen=True)
class Captioning:
    """What the captions of every room on a node share."""
    speech: Callable[[], SpeechEngine]
    slots: threading.Semaphore  # utterances transcribed at once, node-wide
    on_caption: Caption | None
    on_frame: Callable[[], None]  # a frame was handed to a speech engine


class Room:
    def __init__(self, space_id: str, host_id: str, *, recordings: Path, segment_seconds: float,
                 captioning: Captioning, on_presence: Presence | None = None,
                 on_talking: Talking | None = None, upstream: Upstream | None = None,
                 hls: Path | None = None, fanout: FanoutMode = "batched") -> None:
        self.space_id = space_id
        # On an edge node: the origin's mix, pulled once; this room mixes, records and
        # transcribes nothing itself.
        self.upstream = upstream
        self._pulling: asyncio.Task[None] | None = None
        self.host_id = host_id
        self.mix = SpaceMix(listeners(fanout))
        self.sessions: dict[str, Session] = {}
        self.transcribers: dict[str, SpeakerTranscriber] = {}
        self.origin = time.monotonic()  # captions are timed from it
        self.joining = 0  # offers being answered: the room stays open for them
        self.recordings = recordings  # this Space's directory
        self.segment_seconds = segment_seconds
        self.hls_dir = hls  # this Space's HLS directory, where the node packages HLS at all
        self.hls_started = 0.0  # when the packaging began: its timeline starts there
        self.captioning = captioning
        self.on_presence = on_presence
        if on_talking:
            self.mix.on_talking = lambda talking: on_talking(space_id, talking)

    def open(self, recording: bool, transcripts: bool) -> None:
        """Starts the mix (on the running event loop) and the switches as the Space says, or
        on an edge, the pull of the origin's mix."""
        if self.upstream is not None:
            self._pulling = asyncio.get_running_loop().create_task(self.upstream.start())
            return
        self.mix.start()
        self.record(recording)
        self.transcribe(transcripts)

    async def pulling(self) -> None:
        """Once the origin's mix is on its way (at once on an origin)."""
        if self._pulling is not None:
            await asyncio.shield(self._pulling)

    def deliver(self, packet: av.Packet) -> None:
        """A packet of the origin's mix, for every listener here."""
        self.mix.listeners.send(packet)

    async def close(self, ended: bool = False) -> None:
        """Stops the mix (and with it the recording and the listeners' tracks), the HLS
        packaging (its playlists end if the Space has) and the captions, or the pull of the
        origin's mix."""
        self.package(False, ended=ended)
        self.mix.stop()
        self.transcribe(False)
        if self.upstream is not None:
            if self._pulling is not None:
                self._pulling.cancel()
            await self.upstream.close()

    # -- who is in it ------------------------------------------------------------------------

    def empty(self) -> bool:
        """No session, none on its way, and no HLS audience (the room packages until the end)."""
        return not self.sessions and not self.joining and self.mix.hls is None

    def listeners(self) -> int:
        return sum(1 for s in self.sessions.values() if s.role == "listener")

    @contextmanager
    def held_open(self) -> Iterator[None]:
        """Meanwhile the room is not empty, though it may have no session yet."""
        self.joining += 1
        try:
            yield
        finally:
            self.joining -= 1

    def input_for(self, speaker: str) -> SpeakerInput:
        """Where this speaker's incoming packets go: to the mix and to the others' slots."""
        return self.mix.input_for(speaker)

    def add_speaker(self, session: Session, audible: bool) -> None:
        assert session.user_id is not None, "every speaker has an account"
        if audible:
            self.mix.audible.add(session.user_id)
        self.sessions[session.id] = session
        self._assign_slots()

    def listener_track(self, pc: RTCPeerConnection) -> ListenerTrack:
        """A new listener's end of the mix, added to its connection (before the answer)."""
        return self.mix.listeners.open_track(pc)

    def add_listener(self, session: Session) -> None:
        assert session.track is not None, "every listener hears the mix"
        self.mix.listeners.add(session.track)
        self.sessions[session.id] = session
        if session.role == "listener":
            self._presence("joined", session)

    def replace(self, old: Session, new: Session) -> None:
        """A listener's session on a new connection: the mix goes to its new track; presence
        does not change."""
        assert old.track is not None and new.track is not None
        self.mix.listeners.discard(old.track)
        old.track.end()
        self.mix.listeners.add(new.track)
        self.sessions[new.id] = new

    def remove(self, session: Session) -> None:
        """A listener stops hearing the mix; a speaker's last session takes their voice out
        of it. The others' slots are assigned again."""
        self.sessions.pop(session.id, None)
        if session.track is not None:
            self.mix.listeners.discard(session.track)
            session.track.end()
            if session.role == "listener":
                self._presence("left", session)
        elif session.user_id and not any(
                s.user_id == session.user_id and s.role == "speaker" for s in self.sessions.values()):
            self.mix.speakers.pop(session.user_id, None)
            self.mix.audible.discard(session.user_id)
        for slot in session.slots:
            slot.end()
        self._assign_slots()

    def set_audible(self, speakers: set[str]) -> None:
        """Only these speakers are mixed and forwarded to the others."""
        self.mix.audible = speakers

    # -- switches ----------------------------------------------------------------------------

    def record(self, on: bool) -> None:
        if self.upstream is not None:
            return  # the origin records
        if on and self.mix.recorder is None:
            self.mix.record(Recorder(self.recordings, self.segment_seconds))
        elif not on:
            self.mix.record(None)

    def package(self, on: bool, ended: bool = False) -> None:
        """The mix as LL-HLS, on the origin only (edges pull WebRTC, not HLS)."""
        if on and self.mix.hls is None and self.upstream is None and self.hls_dir is not None:
            self.hls_started = time.monotonic()
            self.mix.hls = HlsWriter(self.hls_dir)
        elif not on and self.mix.hls is not None:
            self.mix.hls.close(ended=ended)
            self.mix.hls = None

    def transcribe(self, on: bool) -> None:
        """While transcripts are off, no audio of the Space reaches a speech engine."""
        if on and self.mix.on_speech is None and self.upstream is None:
            self.mix.on_speech = self._to_captions
        elif not on:
            self.mix.on_speech = None
            for transcriber in self.transcribers.values():
                transcriber.close()
            self.transcribers.clear()

    # -- internals ---------------------------------------------------------------------------

    def _assign_slots(self) -> None:
        """Every speaker's free slots carry the speakers it does not hear yet."""
        speakers = [s for s in self.sessions.values() if s.role == "speaker"]
        present = {s.user_id for s in speakers if s.user_id is not None}
        for session in speakers:
            for slot, source in list(session.carrying.items()):
                if source not in present:
                    del session.carrying[slot]
            missing = [u for u in present - {session.user_id} if u not in session.carrying.values()]
            free = [slot for slot in session.slots if slot not in session.carrying]
            for slot, source in zip(free, sorted(missing)):
                session.carrying[slot] = source
        for user, source_input in self.mix.speakers.items():
            source_input.forward_to = {slot for s in speakers
                                       for slot, source in s.carrying.items() if source == user}

    def _to_captions(self, speaker: str, samples: np.ndarray) -> None:
        transcriber = self.transcribers.get(speaker)
        if transcriber is None:
            loop = asyncio.get_running_loop()
            on_caption = self.captioning.on_caption

            def deliver(line: dict[str, Any]) -> None:  # from the transcriber's thread
                if on_caption:
                    loop.call_soon_threadsafe(on_caption, self.space_id, line)
                if line["final"]:
                    loop.call_soon_threadsafe(self._caption_hls, line)

            transcriber = self.transcribers[speaker] = SpeakerTranscriber(
                speaker, self.captioning.speech, deliver, self.captioning.slots, self.origin)
        self.captioning.on_frame()
        transcriber.feed(samples)

    def _caption_hls(self, line: dict[str, Any]) -> None:
        """A final caption line as a cue of the HLS subtitles, on the HLS timeline."""
        if self.mix.hls is not None and line["text"]:
            shift = self.hls_started - self.origin
            self.mix.hls.caption(max(line["start"] - shift, 0.0), max(line["end"] - shift, 0.0),
                                 line["text"])

    def _presence(self, change: str, session: Session) -> None:
        if self.on_presence:
            self.on_presence(self.space_id, self.listeners(), change, session.user_id, session.id)
