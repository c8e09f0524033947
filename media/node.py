"""The media node: WebRTC sessions of speakers and listeners, one mix per Space, and the
domain's word on who is heard.

Publishing and listening are authorised by the API against the event store; afterwards
the node follows the Space's events (`space_changed`): a muted or revoked speaker stops
being mixed, a removed or blocked user is disconnected, an ended Space closes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from application.ports import BadOffer, MediaFull
from media.mix import SpaceMix
from media.recording import Recorder
from media.speech import SpeechEngine, engine_factory
from media.transcriber import SpeakerTranscriber
from media.rtp_tap import tap
from media.tracks import PacketTrack

log = logging.getLogger(__name__)


def offered_directions(sdp: str) -> list[str]:
    """The direction of each media section of an SDP, in order (sendrecv when unsaid)."""
    directions: list[str] = []
    for line in sdp.splitlines():
        if line.startswith("m="):
            directions.append("sendrecv")
        elif directions and line.strip() in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
            directions[-1] = line.strip()[2:]
    return directions


@dataclass
class Session:
    id: str
    space_id: str
    user_id: str | None
    role: str  # "speaker" or "listener"
    pc: RTCPeerConnection
    track: PacketTrack | None = None  # a listener's mix
    # a speaker's receive slots: the other speakers' streams, by the speaker each carries
    slots: list[PacketTrack] = field(default_factory=list)
    carrying: dict[PacketTrack, str] = field(default_factory=dict)


@dataclass
class Room:
    space_id: str
    host_id: str
    mix: SpaceMix
    sessions: dict[str, Session] = field(default_factory=dict)
    transcribers: dict[str, SpeakerTranscriber] = field(default_factory=dict)
    origin: float = field(default_factory=time.monotonic)
    joining: int = 0  # offers being answered: the room stays open for them

    def empty(self) -> bool:
        return not self.sessions and not self.joining

    def listeners(self) -> int:
        return sum(1 for s in self.sessions.values() if s.role == "listener")


class MediaNode:
    def __init__(self, ice_servers: list[str] | None = None,
                 on_presence: Callable[[str, int, str, str | None], None] | None = None,
                 recordings: Path = Path("var/recordings"), segment_seconds: float = 10.0,
                 stalled_after: float = 5.0,
                 speech: Callable[[], SpeechEngine] | None = None, transcription_slots: int = 4,
                 on_caption: Callable[[str, dict[str, Any]], None] | None = None,
                 on_talking: Callable[[str, list[str]], None] | None = None,
                 max_rooms: int = 1_000, max_sessions: int = 5_000):
        self.ice_servers = [RTCIceServer(urls=u) for u in ice_servers or []]
        self.recordings = recordings
        self.segment_seconds = segment_seconds
        self.on_presence = on_presence  # (space_id, listener_count, "joined"/"left", user_id)
        self.stalled_after = stalled_after
        self.speech = speech or engine_factory(None, None)
        self.transcription_slots = threading.Semaphore(transcription_slots)
        self.on_caption = on_caption  # (space_id, caption line)
        self.on_talking = on_talking  # (space_id, speakers heard now)
        self.transcribed_frames = 0  # audio frames handed to speech engines, ever
        self.max_rooms, self.max_sessions = max_rooms, max_sessions
        # A room exists while it has sessions: the first one opens it, the last one to
        # leave (or a refused offer, or the end) closes it with its mix, recorder and captions.
        self.rooms: dict[str, Room] = {}
        self.sessions: dict[str, Session] = {}
        self._reaper: asyncio.Task | None = None

    # -- sessions ----------------------------------------------------------------------------

    async def publish(self, space_id: str, host_id: str, user_id: str, offer: str,
                      audible: bool, recording: bool = False,
                      transcripts: bool = False) -> tuple[str, str]:
        room = self._room(space_id, host_id, recording, transcripts)
        room.joining += 1  # the old session leaving must not close the room
        try:
            for old in [s for s in room.sessions.values()
                        if s.user_id == user_id and s.role == "speaker"]:
                await self.leave(old.id)  # a speaker publishes once; a new offer replaces the old
        finally:
            room.joining -= 1
        session = Session(uuid.uuid4().hex, space_id, user_id, "speaker", self._peer())
        speaker_input = room.mix.input_for(user_id)

        @session.pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "audio":
                receiver = next(t.receiver for t in session.pc.getTransceivers() if t.receiver.track is track)
                tap(receiver, speaker_input.push)

        answer = await self._answer(room, session, offer, prepare=self._receive_slots)
        if audible:
            room.mix.audible.add(user_id)
        self._register(room, session)
        self._assign_slots(room)
        return session.id, answer

    async def listen(self, space_id: str, host_id: str, user_id: str | None,
                     offer: str, recording: bool = False,
                     transcripts: bool = False) -> tuple[str, str]:
        room = self._room(space_id, host_id, recording, transcripts)
        session = Session(uuid.uuid4().hex, space_id, user_id, "listener", self._peer(),
                          PacketTrack())
        session.pc.addTrack(session.track)
        answer = await self._answer(room, session, offer)
        room.mix.listeners.add(session.track)
        self._register(room, session)
        self._presence(room, "joined", user_id)
        return session.id, answer

    async def leave(self, session_id: str) -> None:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        room = self.rooms.get(session.space_id)
        if room is not None:
            room.sessions.pop(session_id, None)
            if session.track is not None:
                room.mix.listeners.discard(session.track)
                session.track.end()
                self._presence(room, "left", session.user_id)
            elif session.user_id and not any(
                    s.user_id == session.user_id and s.role == "speaker" for s in room.sessions.values()):
                room.mix.speakers.pop(session.user_id, None)
                room.mix.audible.discard(session.user_id)
            for slot in session.slots:
                slot.end()
            self._assign_slots(room)
            if room.empty():
                await self.close_room(room.space_id)
        await session.pc.close()

    async def end_session(self, space_id: str, session_id: str, user_id: str | None) -> str:
        """Ends a session for the person in it: "ended", "missing" or "forbidden"."""
        session = self.sessions.get(session_id)
        if session is None or session.space_id != space_id:
            return "missing"
        if session.user_id is not None and session.user_id != user_id:
            return "forbidden"
        await self.leave(session_id)
        return "ended"

    # -- obeying the domain ------------------------------------------------------------------

    async def space_changed(self, space_id: str, state: str, stage: dict[str, bool],
                            kept_out: set[str], recording: bool = False,
                            transcripts: bool = False) -> None:
        """The Space's state now: its lifecycle state, its stage (speaker -> muted), people
        to disconnect (removed, or blocked by the host) and whether it is being recorded."""
        room = self.rooms.get(space_id)
        if room is None:
            return
        if state == "ended":
            await self.close_room(space_id)
            return
        self._record(room, recording)
        self._transcribe(room, transcripts)
        room.mix.audible = {u for u, muted in stage.items() if not muted} if state == "live" else set()
        for session in list(room.sessions.values()):
            off_stage = session.role == "speaker" and session.user_id not in stage
            if off_stage or session.user_id in kept_out:
                await self.leave(session.id)

    async def close_room(self, space_id: str) -> None:
        room = self.rooms.pop(space_id, None)
        if room is None:
            return
        for session_id in list(room.sessions):
            await self.leave(session_id)
        room.mix.stop()
        self._transcribe(room, False)

    async def close(self) -> None:
        if self._reaper:
            self._reaper.cancel()
        for space_id in list(self.rooms):
            await self.close_room(space_id)

    async def disconnect_stalled(self, now: float) -> list[str]:
        """Listeners whose connection has taken nothing for `stalled_after` seconds (their
        packets were being dropped all that time) are disconnected."""
        stalled = [s.id for s in list(self.sessions.values())
                   if s.track is not None and now - s.track.last_taken > self.stalled_after]
        for session_id in stalled:
            await self.leave(session_id)
        return stalled

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            await self.disconnect_stalled(time.monotonic())

    # -- speakers hearing each other ---------------------------------------------------------

    @staticmethod
    def _receive_slots(session: Session) -> None:
        """Each extra audio section the speaker offered to receive only becomes a slot that
        will carry another speaker's stream."""
        directions = offered_directions(session.pc.remoteDescription.sdp)
        for transceiver, direction in zip(session.pc.getTransceivers(), directions):
            if transceiver.kind == "audio" and direction == "recvonly":
                slot = PacketTrack()
                transceiver.sender.replaceTrack(slot)
                transceiver.direction = "sendonly"
                session.slots.append(slot)

    @staticmethod
    def _assign_slots(room: Room) -> None:
        """Every speaker's free slots carry the speakers it does not hear yet."""
        speakers = [s for s in room.sessions.values() if s.role == "speaker"]
        present = {s.user_id for s in speakers}
        for session in speakers:
            for slot, source in list(session.carrying.items()):
                if source not in present:
                    del session.carrying[slot]
            missing = [u for u in present - {session.user_id} if u not in session.carrying.values()]
            free = [slot for slot in session.slots if slot not in session.carrying]
            for slot, source in zip(free, sorted(missing)):
                session.carrying[slot] = source
        for user, source_input in room.mix.speakers.items():
            source_input.forward_to = {slot for s in speakers
                                       for slot, source in s.carrying.items() if source == user}

    # -- helpers -----------------------------------------------------------------------------

    def _room(self, space_id: str, host_id: str, recording: bool, transcripts: bool) -> Room:
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
        if len(self.sessions) >= self.max_sessions:
            raise MediaFull(f"This media node carries {self.max_sessions} sessions already.")
        room = self.rooms.get(space_id)
        if room is None:
            if len(self.rooms) >= self.max_rooms:
                raise MediaFull(f"This media node carries {self.max_rooms} Spaces already.")
            room = self.rooms[space_id] = Room(space_id, host_id, SpaceMix())
            if self.on_talking:
                room.mix.on_talking = lambda talking: self.on_talking(space_id, talking)
            room.mix.start()
            self._record(room, recording)
            self._transcribe(room, transcripts)
        return room

    def _transcribe(self, room: Room, on: bool) -> None:
        """While transcripts are off, no audio of the Space reaches a speech engine."""
        if on and room.mix.on_speech is None:
            room.mix.on_speech = lambda speaker, samples: self._to_captions(room, speaker, samples)
        elif not on:
            room.mix.on_speech = None
            for transcriber in room.transcribers.values():
                transcriber.close()
            room.transcribers.clear()

    def _to_captions(self, room: Room, speaker: str, samples: Any) -> None:
        transcriber = room.transcribers.get(speaker)
        if transcriber is None:
            loop = asyncio.get_running_loop()

            def deliver(line: dict[str, Any]) -> None:  # from the transcriber's thread
                if self.on_caption:
                    loop.call_soon_threadsafe(self.on_caption, room.space_id, line)

            transcriber = room.transcribers[speaker] = SpeakerTranscriber(
                speaker, self.speech, deliver, self.transcription_slots, room.origin)
        self.transcribed_frames += 1
        transcriber.feed(samples)

    def _record(self, room: Room, recording: bool) -> None:
        if recording and room.mix.recorder is None:
            room.mix.record(Recorder(self.recordings / room.space_id, self.segment_seconds))
        elif not recording:
            room.mix.record(None)

    def _peer(self) -> RTCPeerConnection:
        return RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))

    async def _answer(self, room: Room, session: Session, offer: str,
                      prepare: Callable[[Session], None] | None = None) -> str:
        room.joining += 1  # until the caller registers the session, before it next yields
        answered = False
        try:
            if not offer.lstrip().startswith("v=0") or "m=audio" not in offer:
                raise BadOffer("The body must be an SDP offer (application/sdp) with an audio section.")
            try:
                await session.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
                if prepare:
                    prepare(session)
                await session.pc.setLocalDescription(await session.pc.createAnswer())
            except Exception as error:  # aiortc raises many kinds on malformed SDP
                raise BadOffer(f"The SDP offer could not be used: {error}") from None
            answered = True
        finally:
            room.joining -= 1
            if not answered:
                await session.pc.close()
                if room.empty():  # the offer that would have opened the room
                    await self.close_room(room.space_id)

        @session.pc.on("connectionstatechange")
        async def on_state() -> None:
            if session.pc.connectionState in ("failed", "closed"):
                await self.leave(session.id)

        return session.pc.localDescription.sdp

    def _register(self, room: Room, session: Session) -> str:
        room.sessions[session.id] = session
        self.sessions[session.id] = session
        return session.id

    def _presence(self, room: Room, change: str, user_id: str | None) -> None:
        if self.on_presence:
            self.on_presence(room.space_id, room.listeners(), change, user_id)
