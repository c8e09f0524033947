"""Where a Space's mix goes on this node: its listeners, by one of two ways.

"batched" (media/fanout.py): one loop sends each packet to every listener; aiortc's
senders stay parked. "tasks" (media/tracks.py): each listener's aiortc sender takes the
shared packets from its own queue in its own task, as aiortc is meant to be used. Both stay,
side by side, so that the benchmark compares them and an operator can fall back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, Literal, Protocol, TypeVar

import av
from aiortc import RTCPeerConnection

FanoutMode = Literal["batched", "tasks"]


class ListenerTrack(Protocol):
    """A listener's end of the mix."""

    dropped: int  # packets lost because this listener fell behind
    last_taken: float  # time.monotonic() when a packet last went to this listener

    def end(self) -> None: ...


class Listeners(Protocol):
    def open_track(self, pc: RTCPeerConnection) -> ListenerTrack:
        """A new listener's track, added to its connection (before the offer is answered)."""
        ...

    def add(self, track: ListenerTrack) -> None: ...

    def discard(self, track: ListenerTrack) -> None: ...

    def send(self, packet: av.Packet) -> None:
        """One packet of the mix to every listener; never waits for any of them."""
        ...

    def __iter__(self) -> Iterator[ListenerTrack]: ...

    def __len__(self) -> int: ...


T = TypeVar("T", bound=ListenerTrack)


class TrackSet(Generic[T]):
    """The listeners' tracks, kept alike by both ways."""

    def __init__(self) -> None:
        self.tracks: set[T] = set()

    def discard(self, track: ListenerTrack) -> None:
        self.tracks.discard(track)

    def __iter__(self) -> Iterator[ListenerTrack]:
        return iter(list(self.tracks))

    def __len__(self) -> int:
        return len(self.tracks)


def listeners(mode: FanoutMode) -> Listeners:
    from media.fanout import Fanout
    from media.tracks import QueuedListeners

    if mode == "batched":
        return Fanout()
    if mode == "tasks":
        return QueuedListeners()
    raise ValueError(f"no such fan-out: {mode!r}")
