"""The media nodes as a fleet, in PostgreSQL: each `spaces media` process registers itself
and beats every second; a node that missed three beats is dead. A live Space has one
origin node (its speakers, mix, recording and captions), placed once however many API
workers race to place it; listeners beyond the origin's room go to edge nodes, which pull
the origin's mix once and share it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from application.background import BackgroundThread
from application.ports import MediaFull

if TYPE_CHECKING:
    from application.ports import Views

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS media_nodes (node_id TEXT PRIMARY KEY, url TEXT NOT NULL, "
    "capacity INTEGER NOT NULL, load INTEGER NOT NULL DEFAULT 0, "
    "heartbeat_at TIMESTAMPTZ NOT NULL, draining BOOLEAN NOT NULL DEFAULT FALSE)",
    "CREATE TABLE IF NOT EXISTS space_placements (space_id TEXT PRIMARY KEY, "
    "origin TEXT NOT NULL, placed_at TIMESTAMPTZ NOT NULL)",
    # every node that has carried listeners of a Space (the origin and its edges)
    "CREATE TABLE IF NOT EXISTS space_nodes (space_id TEXT NOT NULL, node_id TEXT NOT NULL, "
    "PRIMARY KEY (space_id, node_id))",
)
WATCH_SECONDS = 0.5
log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 1.0
DEAD_AFTER_SECONDS = 3 * HEARTBEAT_SECONDS
NEAR_CAPACITY = 0.9  # the origin takes listeners until it is this full
LIVE = f"heartbeat_at > now() - make_interval(secs => {DEAD_AFTER_SECONDS})"


class NoMediaNode(MediaFull):
    """No live media node has room."""


@dataclass(frozen=True)
class Node:
    node_id: str
    url: str
    capacity: int
    load: int


def create_tables(views: Views) -> None:
    with views.transaction() as cursor:
        for statement in SCHEMA:
            cursor.execute(statement)


class MediaFleet:
    def __init__(self, views: Views,
                 on_moved: Callable[[str, str, str], None] | None = None):
        self.views = views
        self.on_moved = on_moved  # (space_id, from node, to node): once per move

    # -- a node's own record -----------------------------------------------------------------

    def beat(self, node_id: str, url: str, capacity: int, load: int) -> None:
        with self.views.transaction() as cursor:
            cursor.execute(
                "INSERT INTO media_nodes (node_id, url, capacity, load, heartbeat_at) "
                "VALUES (?, ?, ?, ?, now()) ON CONFLICT (node_id) DO UPDATE SET "
                "url = excluded.url, capacity = excluded.capacity, load = excluded.load, "
                "heartbeat_at = now(), draining = FALSE", (node_id, url, capacity, load))

    def leave(self, node_id: str) -> None:
        with self.views.transaction() as cursor:
            cursor.execute("DELETE FROM media_nodes WHERE node_id = ?", (node_id,))

    # -- placement ---------------------------------------------------------------------------

    def nodes(self) -> list[Node]:
        return [Node(r["node_id"], r["url"], r["capacity"], r["load"]) for r in self.views.rows(
            f"SELECT node_id, url, capacity, load FROM media_nodes WHERE {LIVE} "
            "ORDER BY load * 1.0 / NULLIF(capacity, 0) NULLS LAST, node_id")]

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes() if n.node_id == node_id), None)

    def origin_of(self, space_id: str) -> Node:
        """The Space's origin: placed on the least loaded live node the first time, and again
        if that node has died. Racing callers agree: the first placement stored wins."""
        nodes = self.nodes()
        if not nodes:
            raise NoMediaNode("No media node is running.")
        placed = self.views.row("SELECT origin FROM space_placements WHERE space_id = ?",
                                (space_id,))
        live = {n.node_id: n for n in nodes}
        if placed is not None and placed["origin"] in live:
            return live[placed["origin"]]
        with self.views.transaction() as cursor:
            if placed is None:
                cursor.execute("INSERT INTO space_placements (space_id, origin, placed_at) "
                               "VALUES (?, ?, now()) ON CONFLICT (space_id) DO NOTHING",
                               (space_id, nodes[0].node_id))
            else:  # its origin died: move it, unless another caller has moved it already
                cursor.execute("UPDATE space_placements SET origin = ?, placed_at = now() "
                               "WHERE space_id = ? AND origin = ? RETURNING space_id",
                               (nodes[0].node_id, space_id, placed["origin"]))
                if cursor.fetchone() is not None and self.on_moved is not None:
                    self.on_moved(space_id, placed["origin"], nodes[0].node_id)
        chosen = self.views.row("SELECT origin FROM space_placements WHERE space_id = ?",
                                (space_id,))
        assert chosen is not None
        return live.get(chosen["origin"]) or self.origin_of(space_id)

    def edge_for(self, space_id: str) -> tuple[Node, Node]:
        """Where a new listener of the Space goes, and the Space's origin: the origin until
        it is nearly full, then the least loaded node with room. Counts the listener in
        at once, so that listeners arriving between two beats spread too."""
        origin = self.origin_of(space_id)
        edge = origin
        if origin.load >= origin.capacity * NEAR_CAPACITY:
            roomy = [n for n in self.nodes() if n.load < n.capacity]
            if not roomy:
                raise NoMediaNode("Every media node is full.")
            edge = roomy[0]
        with self.views.transaction() as cursor:
            cursor.execute("UPDATE media_nodes SET load = load + 1 WHERE node_id = ?",
                           (edge.node_id,))
            cursor.execute("INSERT INTO space_nodes (space_id, node_id) VALUES (?, ?) "
                           "ON CONFLICT DO NOTHING", (space_id, edge.node_id))
        return edge, origin

    def full(self, node_id: str) -> None:
        """The node refused a listener: no more go there until its next beat."""
        with self.views.transaction() as cursor:
            cursor.execute("UPDATE media_nodes SET load = capacity WHERE node_id = ?", (node_id,))

    def spaces_on(self, node_id: str) -> dict[str, bool]:
        """The Spaces whose audio the node carried: Space -> whether it was their origin."""
        carried = {r["space_id"]: False for r in self.views.rows(
            "SELECT space_id FROM space_nodes WHERE node_id = ?", (node_id,))}
        carried.update({r["space_id"]: True for r in self.views.rows(
            "SELECT space_id FROM space_placements WHERE origin = ?", (node_id,))})
        return carried

    def overview(self) -> list[dict[str, object]]:
        """Every live node with its load and the Spaces it is the origin of."""
        origins: dict[str, list[str]] = {}
        for row in self.views.rows("SELECT space_id, origin FROM space_placements ORDER BY space_id"):
            origins.setdefault(row["origin"], []).append(row["space_id"])
        return [{"node_id": n.node_id, "url": n.url, "capacity": n.capacity, "listeners": n.load,
                 "origin_of": origins.get(n.node_id, [])} for n in self.nodes()]

    def forget(self, space_id: str) -> None:
        """The Space has ended: it is placed nowhere."""
        with self.views.transaction() as cursor:
            cursor.execute("DELETE FROM space_placements WHERE space_id = ?", (space_id,))
            cursor.execute("DELETE FROM space_nodes WHERE space_id = ?", (space_id,))


class Heartbeat(BackgroundThread):
    """A media node's beat: its address, capacity and load (listeners) every second."""

    def __init__(self, fleet: MediaFleet, node_id: str, url: str, capacity: int,
                 load: Callable[[], int]):
        super().__init__("media-heartbeat")
        self.fleet, self.node_id, self.url, self.capacity, self.load = (
            fleet, node_id, url, capacity, load)
        self.ready = False

    def run(self) -> None:
        while True:
            try:
                self.fleet.beat(self.node_id, self.url, self.capacity, self.load())
                self.ready = True
            except Exception:  # the database may be away a moment; beat again
                log.exception("media node %s could not beat", self.node_id)
            if self._stopped.wait(HEARTBEAT_SECONDS):
                break
        try:
            self.fleet.leave(self.node_id)
        except Exception:
            log.exception("media node %s could not leave the fleet", self.node_id)


class FleetWatch(BackgroundThread):
    """Notices media nodes that die or leave; for each Space whose audio one carried, says
    so (`on_lost(space_id, node_id, was_origin)`), so that its people reconnect."""

    def __init__(self, fleet: MediaFleet, on_lost: Callable[[str, str, bool], None]):
        super().__init__("media-fleet-watch")
        self.fleet, self.on_lost = fleet, on_lost

    def run(self) -> None:
        known: set[str] | None = None
        while not self._stopped.wait(0 if known is None else WATCH_SECONDS):
            try:
                live = {n.node_id for n in self.fleet.nodes()}
                for node_id in (known or set()) - live:
                    log.warning("media node %s is gone", node_id)
                    for space_id, was_origin in self.fleet.spaces_on(node_id).items():
                        self.on_lost(space_id, node_id, was_origin)
                known = live
            except Exception:
                log.exception("the media fleet watch missed a round")
