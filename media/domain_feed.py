"""Tells the media node about every change to a Space it carries audio for.

On any event of a Space with a room on this node it loads the Space and hands its state
to the node; a host's account-wide block disconnects the blocked user from the rooms of
the Spaces that person hosts or has hosted (a handover moves the Space, not the blocks;
the room's own `host_id` is who hosted it when it opened). The events come from an event
source: the process's store feed (`System.store_feed`) or, with Kafka, the events topic
(`infrastructure/kafka_events_tail.py`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from uuid import UUID

from application.ports import EventSource
from domain.people import Block
from domain.space import Space

if TYPE_CHECKING:
    from application.spaces import SpacesApplication
    from media.node import MediaNode


class DomainFeed:
    def __init__(self, app: SpacesApplication, node: MediaNode, loop: asyncio.AbstractEventLoop,
                 source: EventSource):
        self.app = app
        self.node = node
        self.loop = loop
        self._source = source
        self.ready = True

    def start(self) -> None:
        self._source.subscribe(self.handle)

    def stop(self) -> None:
        self._source.unsubscribe(self.handle)

    def handle(self, notifications: list[Any]) -> None:
        changed: dict[str, set[str]] = {}  # Space -> users to disconnect for a block
        for notification in notifications:
            space_id = str(notification.originator_id)
            if space_id in self.node.rooms:
                changed.setdefault(space_id, set())
            if notification.topic == Block.Blocked.TOPIC:
                event = self.app.event_of(notification)
                for room in list(self.node.rooms.values()):
                    if event.blocker_id in self.app.space(UUID(room.space_id)).hosts:
                        changed.setdefault(room.space_id, set()).add(str(event.blocked_id))
            elif notification.topic == Space.UserBlocked.TOPIC and space_id in changed:
                changed[space_id].add(str(self.app.event_of(notification).user_id))
        for space_id, blocked in changed.items():
            self._tell(space_id, blocked)

    def _tell(self, space_id: str, blocked: set[str]) -> None:
        space = self.app.space(UUID(space_id))
        stage = {str(user): user in space.muted for user in space.stage}  # speaker -> muted
        kept_out = {str(user) for user in space.removed} | blocked
        asyncio.run_coroutine_threadsafe(
            self.node.space_changed(space_id, space.state, stage, kept_out, space.recording,
                                    space.transcripts),
            self.loop
        ).result(timeout=10)
