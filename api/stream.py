"""The live stream of each Space: what every viewer's page needs to stay current.

One hub per API process follows the stored events (the store feed) and the short-lived ones
(LiveEvents: reactions, presence). For each Space event it loads the Space once and hands
every viewer of that Space a message; messages meant for some people only (a speak request
for the host and co-hosts, an invitation for the invitee, "you were removed") go to them.
Reactions are counted and sent once a second per Space, so a storm of them stays cheap. Captions,
who is talking (from the media node) and "reconnect" (a media node that carried the
Space's audio died or left: listeners on it, or everyone if it was the origin, make a new
offer) pass straight through. Each viewer has
a small bounded queue: a viewer that stops reading loses old messages, never slows others.
Message ids are the Space's version, so a reconnecting client resumes with Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import collections
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.people import Block
from domain.space import Space
from infrastructure.log_follower import LogFollower

if TYPE_CHECKING:
    from application.spaces import SpacesApplication

STAGE = (Space.SpeakerGranted, Space.SpeakerRevoked, Space.SpeakerMuted, Space.SpeakerUnmuted,
         Space.SpeakerLeftStage, Space.InvitationAccepted, Space.UserRemoved, Space.UserBlocked,
         Space.CohostAdded, Space.CohostRemoved, Space.HostHandedOver)
TAKEN_OUT = (Space.UserRemoved, Space.UserBlocked)
SWITCHES = (Space.TranscriptsSwitched, Space.RecordingStarted, Space.RecordingStopped)
PIN = (Space.LinkPinned, Space.LinkUnpinned)


@dataclass
class Message:
    kind: str
    data: dict[str, Any]
    id: int | None = None  # the Space's version; none for reactions and presence
    to: frozenset[str] | None = None  # these viewers only (account ids), or everyone

    def reaches(self, user_id: str | None) -> bool:
        return self.to is None or user_id in self.to

    def encode(self) -> str:
        head = f"id: {self.id}\n" if self.id is not None else ""
        return f"{head}event: {self.kind}\ndata: {json.dumps(self.data)}\n\n"


@dataclass(eq=False)
class Viewer:
    space_id: str
    user_id: str | None
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(256))

    def offer(self, message: Message) -> None:
        if not message.reaches(self.user_id):
            return
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)


class StreamHub:
    def __init__(self, app: SpacesApplication, live: Any, store_feed: LogFollower):
        self.app = app
        self.viewers: dict[str, set[Viewer]] = collections.defaultdict(set)
        self.reactions: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self._store_feed = store_feed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.Task | None = None
        self.ready = True
        live.subscribe(self._on_live)

    # -- lifecycle ---------------------------------------------------------------------------

    def start_on(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._store_feed.subscribe(self._on_events)
        self._ticker = loop.create_task(self._send_reactions())

    def stop(self) -> None:
        self._store_feed.unsubscribe(self._on_events)
        if self._ticker:
            self._ticker.cancel()

    def join(self, space_id: str, user_id: str | None) -> Viewer:
        viewer = Viewer(space_id, user_id)
        self.viewers[space_id].add(viewer)
        return viewer

    def leave(self, viewer: Viewer) -> None:
        watching = self.viewers.get(viewer.space_id)
        if watching is not None:
            watching.discard(viewer)
            if not watching:
                del self.viewers[viewer.space_id]

    # -- what a viewer sees ------------------------------------------------------------------

    def snapshot(self, space: Any, viewer: Viewer) -> Message:
        data = {**_stage(space), "pin": _pin(space)}
        if viewer.user_id in _moderators(space):
            data["speak_requests"] = sorted(str(u) for u in space.speak_requests)
        if viewer.user_id and UUID(viewer.user_id) in space.invited:
            data["invited"] = True
        return Message("snapshot", data, id=space.version)

    def missed(self, space_id: UUID, after_version: int) -> list[Message]:
        """The messages of the events a viewer missed since `after_version`."""
        space = self.app.space(space_id)
        return [m for e in self.app.repository.event_store.get(space_id, gt=after_version)
                for m in self._messages(e, space)]

    def _messages(self, event: Any, space: Any) -> list[Message]:
        version = event.originator_version
        if isinstance(event, STAGE):
            messages = [Message("stage", _stage(space), version)]
            if isinstance(event, TAKEN_OUT):
                messages.append(Message("removed", {"reason": event.reason}, version,
                                        to=frozenset({str(event.user_id)})))
            return messages
        if isinstance(event, SWITCHES):
            return [Message("switches", {"transcripts": space.transcripts,
                                         "recording": space.recording}, version)]
        if isinstance(event, PIN):
            return [Message("pin", {"pin": _pin(space)}, version)]
        if isinstance(event, Space.SpeakRequested):
            return [Message("speak_request", {"user_id": str(event.user_id)}, version,
                            to=_moderators(space))]
        if isinstance(event, Space.SpeakRequestWithdrawn):  # the asker hears of a dismissal
            return [Message("speak_request", {"user_id": str(event.user_id), "withdrawn": True},
                            version, to=_moderators(space) | {str(event.user_id)})]
        if isinstance(event, Space.SpeakerInvited):
            return [Message("invitation", {"space_id": str(space.id)}, version,
                            to=frozenset({str(event.user_id)}))]
        if isinstance(event, Space.SpaceLaunched):
            return [Message("state", {"state": "live"}, version)]
        if isinstance(event, Space.SpaceEnded):
            return [Message("ended", {}, version)]
        return []

    # -- sources ------------------------------------------------------------------------------

    def _on_events(self, notifications: list[Any]) -> None:
        """In the follower's thread: load each watched Space once, deliver on the loop."""
        assert self._loop is not None
        spaces: dict[str, Any] = {}
        for notification in notifications:
            if notification.topic == Block.Blocked.TOPIC:
                self._close_blocked(self.app.event_of(notification), notification.id)
                continue
            space_id = str(notification.originator_id)
            if space_id not in self.viewers:
                continue
            if space_id not in spaces:
                spaces[space_id] = self.app.space(notification.originator_id)
            event = self.app.event_of(notification)
            for message in self._messages(event, spaces[space_id]):
                message.data["position"] = notification.id  # the page reads views ?after= it
                self._loop.call_soon_threadsafe(self._deliver, space_id, message)

    def _close_blocked(self, event: Any, position: int) -> None:
        """A host blocked someone account-wide: their streams of the Spaces that person hosts,
        or has hosted, close."""
        assert self._loop is not None
        for space_id, watching in list(self.viewers.items()):
            if not any(v.user_id == str(event.blocked_id) for v in list(watching)):
                continue
            space = self.app.space(UUID(space_id))
            if event.blocker_id in space.hosts:
                message = Message("removed", {"reason": event.reason, "position": position},
                                  space.version, to=frozenset({str(event.blocked_id)}))
                self._loop.call_soon_threadsafe(self._deliver, space_id, message)

    def _on_live(self, space_id: str, kind: str, payload: dict[str, Any]) -> None:
        if self._loop is None:
            return
        if kind == "reaction":
            self._loop.call_soon_threadsafe(self._count_reaction, space_id, payload["emoji"])
        elif kind in ("caption", "talking", "reconnect"):
            self._loop.call_soon_threadsafe(self._deliver, space_id, Message(kind, payload))
        elif kind == "presence":
            message = Message("listeners", {"count": payload["listeners"]})
            self._loop.call_soon_threadsafe(self._deliver, space_id, message)

    def _count_reaction(self, space_id: str, emoji: str) -> None:
        if space_id in self.viewers:
            self.reactions[space_id][emoji] += 1

    async def _send_reactions(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            counted, self.reactions = self.reactions, collections.defaultdict(collections.Counter)
            for space_id, counts in counted.items():
                self._deliver(space_id, Message("reactions", dict(counts)))

    def _deliver(self, space_id: str, message: Message) -> None:
        for viewer in list(self.viewers.get(space_id, ())):
            viewer.offer(message)


def _moderators(space: Any) -> frozenset[str]:
    """Who answers speak requests: the host and the co-hosts."""
    return frozenset(str(u) for u in (space.host_id, *space.cohosts))


def _pin(space: Any) -> dict[str, str] | None:
    return None if space.pinned is None else {"url": space.pinned.url, "title": space.pinned.title}


def _stage(space: Any) -> dict[str, Any]:
    return {
        "state": space.state,
        "host_id": str(space.host_id),
        "cohosts": [str(u) for u in space.cohosts],
        "speakers": [{"id": str(u), "muted": u in space.muted} for u in space.stage],
        "transcripts": space.transcripts,
        "recording": space.recording,
    }
