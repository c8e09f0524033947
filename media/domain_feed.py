"""Tells the media node about every change to a Space it carries audio for.

It tails the event store's notification log from where it was started (woken after
each save in this process, and polling for others), and on any event of a Space with
a room on this node loads the Space and hands its state to the node. A host's
account-wide block disconnects the blocked user from that host's rooms.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class DomainFeed:
    def __init__(self, app: Any, node: Any, loop: asyncio.AbstractEventLoop,
                 poll_interval: float = 0.2):
        self.app = app
        self.node = node
        self.loop = loop
        self.poll_interval = poll_interval
        self.position = app.position()
        self.ready = True
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.app.saved_listeners.append(lambda _position: self._wake.set())
        self._thread = threading.Thread(target=self._run, name="media-domain-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._follow()
            except Exception:
                log.exception("media domain feed failed; retrying")
                self._stopped.wait(1.0)
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def _follow(self) -> None:
        while notifications := self.app.recorder.select_notifications(
                start=self.position, limit=500, inclusive_of_start=False):
            changed: dict[str, set[str]] = {}
            for notification in notifications:
                self.position = notification.id
                space_id = str(notification.originator_id)
                if space_id in self.node.rooms:
                    changed.setdefault(space_id, set())
                if notification.topic == "spaces:Blocked":
                    event = self.app.mapper.to_domain_event(notification)
                    for room in list(self.node.rooms.values()):
                        if room.host_id == str(event.blocker_id):
                            changed.setdefault(room.space_id, set()).add(str(event.blocked_id))
                elif notification.topic == "spaces:UserBlocked" and space_id in changed:
                    changed[space_id].add(str(self.app.mapper.to_domain_event(notification).user_id))
            for space_id, blocked in changed.items():
                self._tell(space_id, blocked)

    def _tell(self, space_id: str, blocked: set[str]) -> None:
        from uuid import UUID

        space = self.app.space(UUID(space_id))
        stage = {str(user): muted for user, muted in space.stage.items()}
        kept_out = {str(user) for user in space.removed} | blocked
        asyncio.run_coroutine_threadsafe(
            self.node.space_changed(space_id, space.state, stage, kept_out, space.recording),
            self.loop
        ).result(timeout=10)
