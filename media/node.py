"""The media node: WebRTC sessions of speakers and listeners, one room (and mix) per Space,
and the domain's word on who is heard.

Publishing and listening are authorised by the API against the event store; afterwards
the node follows the Space's events (`space_changed`): a muted or revoked speaker stops
being mixed, a removed or blocked user is disconnected, an ended Space closes.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

import media.codecs  # noqa: F401  (FEC and NACK for Opus in every answer)
from application.ports import MediaFull
from media import quality
from media.listeners import FanoutMode
from media.room import Caption, Captioning, Presence, Room, Talking
from media.rtp_tap import tap
from media.sdp import BadOffer, check_offer
from media.session import Session
from media.speech import SpeechEngine, engine_factory
from media.upstream import Upstream

ANSWERS_AT_ONCE = 4  # offers answered at once; the others wait their turn


class MediaNode:
    def __init__(self, ice_servers: list[str] | None = None,
                 on_presence: Presence | None = None,
                 recordings: Path = Path("var/recordings"), segment_seconds: float = 10.0,
                 stalled_after: float = 5.0,
                 speech: Callable[[], SpeechEngine] | None = None, transcription_slots: int = 4,
                 on_caption: Caption | None = None,
                 on_talking: Talking | None = None,
                 max_rooms: int = 1_000, max_sessions: int = 5_000,
                 max_listeners: int | None = None,
                 internal_token: str | None = None,
                 hls: Path | None = None, hls_always: bool = False, hls_linger: float = 10.0,
                 fanout: FanoutMode = "batched"):
        """`fanout`: how the mix reaches listeners, "batched" (one loop per packet for a
        Space's listeners, media/fanout.py) or "tasks" (a sender task per listener)."""
        self.ice_servers = [RTCIceServer(urls=u) for u in ice_servers or []]
        self.fanout = fanout
        self.recordings = recordings
        self.segment_seconds = segment_seconds
        # (space_id, listener_count, "joined"/"left", user_id, session_id)
        self.on_presence = on_presence
        self.stalled_after = stalled_after
        self.speech = speech or engine_factory(None, None)
        self.transcription_slots = threading.Semaphore(transcription_slots)
        self.on_caption = on_caption  # (space_id, caption line)
        self.on_talking = on_talking  # (space_id, speakers heard now)
        self.transcribed_frames = 0  # audio frames handed to speech engines, ever
        self.max_rooms, self.max_sessions = max_rooms, max_sessions
        self.max_listeners = max_listeners  # WebRTC listeners; beyond them, HLS
        # HLS: written under hls/<space>, for every live Space or on demand; an ended Space's
        # files stay `hls_linger` seconds, so that players read the end of the playlist.
        self.hls, self.hls_always, self.hls_linger = hls, hls_always, hls_linger
        self.internal_token = internal_token  # for pulling a mix from another node (an edge)
        # A room exists while it has sessions: the first one opens it, the last one to
        # leave (or a refused offer, or the end) closes it with its mix, recorder and captions.
        self.rooms: dict[str, Room] = {}
        self.sessions: dict[str, Session] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._answering = asyncio.Semaphore(ANSWERS_AT_ONCE)
        self._watch: asyncio.Task[None] | None = None

    # -- sessions ----------------------------------------------------------------------------

    async def publish(self, space_id: str, host_id: str, user_id: str, offer: str,
                      audible: bool, recording: bool = False,
                      transcripts: bool = False) -> tuple[str, str]:
        await self._drop_stale_room(space_id, None)
        room = self._room(space_id, host_id, recording, transcripts)
        with room.held_open():  # the old session leaving must not close the room
            for old in [s for s in room.sessions.values()
                        if s.user_id == user_id and s.role == "speaker"]:
                await self.leave(old.id)  # a speaker publishes once; a new offer replaces the old
        session = Session(uuid.uuid4().hex, space_id, user_id, "speaker", self._peer())
        speaker_input = room.input_for(user_id)

        @session.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                receiver = next(t.receiver for t in session.pc.getTransceivers() if t.receiver.track is track)
                tap(receiver, speaker_input.push, nack=True)

        answer = await self._answer(room, session, offer, prepare=Session.open_receive_slots)
        self.sessions[session.id] = session
        room.add_speaker(session, audible)
        return session.id, answer

    async def listen(self, space_id: str, host_id: str, user_id: str | None,
                     offer: str, recording: bool = False,
                     transcripts: bool = False, origin: str | None = None,
                     edge: bool = False) -> tuple[str, str]:
        """`origin`: the base URL of the Space's origin node, when this node is an edge.
        `edge`: the listener is an edge node pulling the mix, not a person (not in the
        Space's presence, nor in this node's load)."""
        if not edge and self.max_listeners is not None and self.listeners() >= self.max_listeners:
            raise MediaFull(f"This media node takes {self.max_listeners} listeners.")
        await self._drop_stale_room(space_id, origin)
        room = self._room(space_id, host_id, recording, transcripts, origin)
        with room.held_open():
            try:
                await room.pulling()
            except Exception as error:
                if room.empty():
                    await self.close_room(space_id)
                raise MediaFull(f"The Space's origin node could not be reached: {error}") from None
        role = "edge" if edge else "listener"
        pc = self._peer()
        session = Session(uuid.uuid4().hex, space_id, user_id, role, pc, room.listener_track(pc))
        answer = await self._answer(room, session, offer)
        self.sessions[session.id] = session
        room.add_listener(session)
        return session.id, answer

    async def package(self, space_id: str, host_id: str, recording: bool = False,
                      transcripts: bool = False) -> None:
        """The Space's mix as LL-HLS from now until the Space ends (this node is its origin)."""
        if self.hls is None:
            raise MediaFull("This media node does not package HLS.")
        await self._drop_stale_room(space_id, None)
        self._room(space_id, host_id, recording, transcripts).package(True)

    async def resume(self, space_id: str, session_id: str, user_id: str | None,
                     offer: str) -> tuple[str, str | None]:
        """A listener's new offer for the session it has (its network changed): a new
        connection, the same session, its place in the room and presence kept. Answers
        ("resumed", the SDP answer), or ("missing" | "forbidden", None)."""
        session = self.sessions.get(session_id)
        if session is None or session.space_id != space_id or session.role != "listener":
            return "missing", None
        if session.user_id is not None and session.user_id != user_id:
            return "forbidden", None
        room = self.rooms[space_id]
        pc = self._peer()
        fresh = Session(session.id, space_id, session.user_id, "listener", pc, room.listener_track(pc))
        answer = await self._answer(room, fresh, offer)
        if self.sessions.get(session_id) is not session:  # it ended meanwhile
            await fresh.pc.close()
            return "missing", None
        self.sessions[session_id] = fresh
        room.replace(session, fresh)
        await session.pc.close()
        return "resumed", answer

    async def leave(self, session_id: str) -> None:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        room = self.rooms.get(session.space_id)
        if room is not None:
            room.remove(session)
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
            await self.close_room(space_id, ended=True)
            return
        room.record(recording)
        room.transcribe(transcripts)
        room.set_audible({u for u, muted in stage.items() if not muted} if state == "live" else set())
        for session in list(room.sessions.values()):
            off_stage = session.role == "speaker" and session.user_id not in stage
            if off_stage or session.user_id in kept_out:
                await self.leave(session.id)

    async def close_room(self, space_id: str, ended: bool = False) -> None:
        room = self.rooms.pop(space_id, None)
        if room is None:
            return
        for session_id in list(room.sessions):
            await self.leave(session_id)
        await room.close(ended)
        if ended and room.hls_dir is not None and room.hls_dir.exists():
            asyncio.get_running_loop().call_later(
                self.hls_linger, shutil.rmtree, room.hls_dir, True)

    async def close(self) -> None:
        for task in (self._reaper, self._watch):
            if task:
                task.cancel()
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

    # -- helpers -----------------------------------------------------------------------------

    def _room(self, space_id: str, host_id: str, recording: bool, transcripts: bool,
              origin: str | None = None) -> Room:
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
            self._watch = asyncio.get_running_loop().create_task(quality.watch(self))
        if len(self.sessions) >= self.max_sessions:
            raise MediaFull(f"This media node carries {self.max_sessions} sessions already.")
        room = self.rooms.get(space_id)
        if room is None:
            if len(self.rooms) >= self.max_rooms:
                raise MediaFull(f"This media node carries {self.max_rooms} Spaces already.")
            room = self.rooms[space_id] = Room(
                space_id, host_id, recordings=self.recordings / space_id,
                segment_seconds=self.segment_seconds,
                captioning=Captioning(self.speech, self.transcription_slots, self.on_caption,
                                      self._count_transcribed_frame),
                on_presence=self.on_presence, on_talking=self.on_talking,
                upstream=self._upstream(space_id, host_id, origin),
                hls=self.hls / space_id if self.hls is not None else None, fanout=self.fanout)
            room.open(recording, transcripts)
            if self.hls_always:
                room.package(True)
        return room

    def _upstream(self, space_id: str, host_id: str, origin: str | None) -> Upstream | None:
        if origin is None:
            return None
        if self.internal_token is None:
            raise MediaFull("This media node cannot pull from another (no internal token).")

        def deliver(packet: av.Packet) -> None:
            room = self.rooms.get(space_id)
            if room is not None:
                room.deliver(packet)

        def lost() -> None:  # the origin ended the pull or died: its listeners here go too
            room = self.rooms.get(space_id)
            if room is not None and room.upstream is upstream:
                asyncio.ensure_future(self.close_room(space_id))

        upstream = Upstream(space_id, host_id, origin, self.internal_token, deliver, lost)
        return upstream

    async def _drop_stale_room(self, space_id: str, origin: str | None) -> None:
        """A room that pulls from another origin than the Space has now (it moved), or
        pulls although this node has become the origin, is closed before a new session."""
        room = self.rooms.get(space_id)
        if room is not None and (room.upstream.origin_url if room.upstream else None) != origin:
            await self.close_room(space_id)

    def listeners(self) -> int:
        return sum(1 for s in self.sessions.values() if s.role == "listener")

    def _count_transcribed_frame(self) -> None:
        self.transcribed_frames += 1

    def _peer(self) -> RTCPeerConnection:
        return RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))

    async def _answer(self, room: Room, session: Session, offer: str,
                      prepare: Callable[[Session], None] | None = None) -> str:
        answered = False
        try:
            with room.held_open():  # until the caller registers the session, before it next yields
                check_offer(offer)
                try:
                    async with self._answering:  # a storm of offers must not starve the mix clock
                        await session.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
                        if prepare:
                            prepare(session)
                        await session.pc.setLocalDescription(await session.pc.createAnswer())
                except Exception as error:  # aiortc raises many kinds on malformed SDP
                    raise BadOffer(f"The SDP offer could not be used: {error}") from None
            answered = True
        finally:
            if not answered:
                await session.pc.close()
                if room.empty():  # the offer that would have opened the room
                    await self.close_room(room.space_id)

        @session.pc.on("connectionstatechange")
        async def on_state() -> None:
            resumed = self.sessions.get(session.id) not in (session, None)
            if session.pc.connectionState in ("failed", "closed") and not resumed:
                await self.leave(session.id)

        return session.pc.localDescription.sdp
