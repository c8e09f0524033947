"""A lossy network between a test peer and the media node, made in user space.

This machine's kernel has no `netem`, so loss, delay, jitter and reordering come from a small
asyncio UDP relay on 127.0.0.1: the client sends to the relay's `address`, the relay sends on
to the `server` from a socket of its own (`server_side`), and the server's datagrams go back
to the client (the last address the client sent from). What it does to each datagram is an
`Impairment` (tests/impairment.py); what is not impaired is sent on at once.
tests/relay_sdp.py points a peer connection's ICE at the relay so that every packet takes
this path.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Callable

from tests.impairment import DIRECTIONS, Address, Counters, Direction, Fate, Impairment, kind_of


class _Side(asyncio.DatagramProtocol):
    def __init__(self, received: Callable[[bytes, Address], None]) -> None:
        self.received = received

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.received(data, addr)


class LossyRelay:
    """A UDP relay between one client and one server on 127.0.0.1, impairing as it is told.

    `await relay.start(server)` binds it; the client then sends to `relay.address`.
    `relay.counters["to_server" | "to_client"]` say what happened; `relay.impair(loss=…)`
    changes the settings at once (packets already held keep their fate)."""

    def __init__(self, impairment: Impairment | None = None, *, seed: int | None = 0,
                 host: str = "127.0.0.1", **settings: object) -> None:
        self.settings = dataclasses.replace(impairment or Impairment(), **settings)
        self.host = host
        self.counters = {d: Counters() for d in DIRECTIONS}
        self._fates = {d: Fate(seed, d) for d in DIRECTIONS}
        self._held: dict[int, asyncio.TimerHandle] = {}
        self._keys = itertools.count()
        self._client_side: asyncio.DatagramTransport | None = None
        self._server_side: asyncio.DatagramTransport | None = None
        self.server: Address | None = None
        self.client: Address | None = None

    async def start(self, server: Address) -> Address:
        """Binds both sockets; returns the address the client is to send to."""
        loop = asyncio.get_running_loop()
        self.server = server
        self._client_side, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self._from_client), local_addr=(self.host, 0))
        self._server_side, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self._from_server), local_addr=(self.host, 0))
        return self.address

    @property
    def address(self) -> Address:
        """Where the client sends."""
        return self._sockname(self._client_side)

    @property
    def server_side(self) -> Address:
        """Where the server sees the relay's datagrams come from (and sends its own)."""
        return self._sockname(self._server_side)

    @staticmethod
    def _sockname(side: asyncio.DatagramTransport | None) -> Address:
        if side is None:
            raise RuntimeError("The relay has not been started")
        return side.get_extra_info("sockname")[:2]

    @property
    def held(self) -> int:
        """How many datagrams are being held back (delay, jitter, reorder) right now."""
        return len(self._held)

    def impair(self, **settings: object) -> None:
        """Changes some settings (names of `Impairment`) from the next datagram on."""
        self.settings = dataclasses.replace(self.settings, **settings)

    def close(self) -> None:
        for handle in self._held.values():
            handle.cancel()
        self._held.clear()
        for side in (self._client_side, self._server_side):
            if side is not None:
                side.close()

    def _from_client(self, data: bytes, addr: Address) -> None:
        self.client = addr
        self._pass("to_server", data)

    def _from_server(self, data: bytes, addr: Address) -> None:
        if addr == self.server and self.client is not None:
            self._pass("to_client", data)

    def _pass(self, direction: Direction, data: bytes) -> None:
        counters, settings, kind = self.counters[direction], self.settings, kind_of(data)
        counters.seen += 1
        counters.kinds[kind] += 1
        if settings.affects(direction, kind):
            counters.impaired += 1
            fate = self._fates[direction]
            if fate.lost(settings):
                counters.dropped += 1
                counters.dropped_kinds[kind] += 1
                return
            hold, reordered = fate.hold(settings)
            if hold > 0:
                counters.delayed += 1
                counters.reordered += reordered
                key = next(self._keys)
                self._held[key] = asyncio.get_running_loop().call_later(hold, self._release, key, direction, data)
                return
        self._send(direction, data)

    def _release(self, key: int, direction: Direction, data: bytes) -> None:
        del self._held[key]
        self._send(direction, data)

    def _send(self, direction: Direction, data: bytes) -> None:
        out, to = ((self._server_side, self.server) if direction == "to_server"
                   else (self._client_side, self.client))
        if out is not None and to is not None and not out.is_closing():
            out.sendto(data, to)
            self.counters[direction].sent += 1
