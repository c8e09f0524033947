"""The media node obeys a Space whose host handed it over: blocks by its new host, and by
the one before, disconnect people from its room."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

from application.spaces import SpacesApplication
from media.domain_feed import DomainFeed


class NodeThatListens:
    def __init__(self) -> None:
        self.rooms: dict[str, SimpleNamespace] = {}
        self.kept_out: list[set[str]] = []

    async def space_changed(self, space_id, state, stage, kept_out, recording=False,
                            transcripts=False) -> None:
        self.kept_out.append(kept_out)


def test_after_a_handover_every_host_s_block_disconnects_from_the_room():
    app = SpacesApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    try:
        host, cohost, troll, pest = (app.register_account(h).id
                                     for h in ("host", "cohost", "troll", "pest"))
        space = app.create_space(host, "Handed over").id
        app.launch(space, host)
        node = NodeThatListens()
        # the room opened while `host` hosted: its host_id stays theirs
        node.rooms[str(space)] = SimpleNamespace(space_id=str(space), host_id=str(host))
        app.add_cohost(space, host, cohost)
        app.hand_over(space, host, cohost)
        seen = app.position()
        feed = DomainFeed(app, node, loop, source=None)  # handed notifications directly
        for blocker, blocked in ((cohost, troll), (host, pest)):
            app.block(blocker, blocked)
            feed.handle(app.recorder.select_notifications(start=seen, limit=10,
                                                          inclusive_of_start=False))
            seen = app.position()
            assert str(blocked) in node.kept_out[-1]
        outsider = app.register_account("outsider").id
        app.block(outsider, troll)  # someone who never hosted this Space
        node.kept_out.clear()
        feed.handle(app.recorder.select_notifications(start=seen, limit=10,
                                                      inclusive_of_start=False))
        assert node.kept_out == []
    finally:
        loop.call_soon_threadsafe(loop.stop)
        app.close()
