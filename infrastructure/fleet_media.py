"""The API's handle on a fleet of media nodes (`SPACES_MEDIA_FLEET`): a Space's speakers go
to its origin node, each listener to an edge (the origin until it is nearly full), and the
edge is told where to pull the mix from. A session's id names its node, so that any API
worker can end it."""

from __future__ import annotations

import asyncio

from application.ports import MediaFull
from infrastructure.media_fleet import MediaFleet, Node
from infrastructure.remote_media import RemoteMedia

LISTEN_ATTEMPTS = 3


class FleetMedia:
    def __init__(self, fleet: MediaFleet, token: str):
        self.fleet, self.token = fleet, token
        self._nodes: dict[str, RemoteMedia] = {}  # by base URL

    async def publish(self, space_id: str, host_id: str, user_id: str, offer: str,
                      audible: bool, recording: bool = False,
                      transcripts: bool = False) -> tuple[str, str]:
        origin = await asyncio.to_thread(self.fleet.origin_of, space_id)
        session_id, answer = await self._node(origin).publish(
            space_id, host_id, user_id, offer, audible, recording, transcripts)
        return f"{origin.node_id}.{session_id}", answer

    async def listen(self, space_id: str, host_id: str, user_id: str | None, offer: str,
                     recording: bool = False, transcripts: bool = False,
                     origin: str | None = None) -> tuple[str, str]:
        for attempt in range(LISTEN_ATTEMPTS):
            edge, placed = await asyncio.to_thread(self.fleet.edge_for, space_id)
            pull_from = None if edge.node_id == placed.node_id else placed.url
            try:
                session_id, answer = await self._node(edge).listen(
                    space_id, host_id, user_id, offer, recording, transcripts, pull_from)
            except MediaFull:
                # its load in the fleet lagged behind (a beat counted fewer listeners than
                # were joining): it is full until its next beat, and another node may have room
                if attempt == LISTEN_ATTEMPTS - 1:
                    raise
                await asyncio.to_thread(self.fleet.full, edge.node_id)
                continue
            return f"{edge.node_id}.{session_id}", answer
        raise AssertionError("unreachable")

    async def resume(self, space_id: str, session_id: str, user_id: str | None,
                     offer: str) -> tuple[str, str | None]:
        node_id, _, session = session_id.partition(".")
        node = await asyncio.to_thread(self.fleet.node, node_id)
        if node is None or not session:
            return "missing", None
        return await self._node(node).resume(space_id, session, user_id, offer)

    async def end_session(self, space_id: str, session_id: str, user_id: str | None) -> str:
        node_id, _, session = session_id.partition(".")
        node = await asyncio.to_thread(self.fleet.node, node_id)
        if node is None or not session:
            return "missing"
        return await self._node(node).end_session(space_id, session, user_id)

    async def package(self, space_id: str, host_id: str, recording: bool = False,
                      transcripts: bool = False) -> None:
        origin = await asyncio.to_thread(self.fleet.origin_of, space_id)
        await self._node(origin).package(space_id, host_id, recording, transcripts)

    async def close(self) -> None:
        for client in self._nodes.values():
            await client.close()
        self._nodes.clear()

    def _node(self, node: Node) -> RemoteMedia:
        if node.url not in self._nodes:
            self._nodes[node.url] = RemoteMedia(node.url, self.token)
        return self._nodes[node.url]
