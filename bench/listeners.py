"""Cheap listeners for bench/media.py: many per process, in processes of their own, so that
the load generator is not the bottleneck and its CPU is measured apart from the node's.

Each listener is a real aiortc `RTCPeerConnection` (recvonly): aiortc makes its offer, does
its ICE (consent checks both ways included) and its DTLS handshake, and takes the node's
RTCP as ever. Once DTLS has the SRTP keys, the RTP no longer goes through aiortc: the
listener's ICE socket is taken off the event loop and read by the process's `Poller` (one
`epoll` call every 5 ms for all of them), which unprotects each SRTP packet with the
transport's own pylibsrtp session and counts it, noting when the first came; STUN, DTLS and
SRTCP are handed on to aioice and aiortc as before. No jitter buffer, no decoder, no task
or wakeup per packet. Each listener sends an RTCP receiver report about once a second (as
browsers do), built from its own counts, so the node handles what it would with real ones.

`Receiver` and `arm` serve bench/harness.py's `join_at_input` too: the probe, a listener in
the benchmark's own process that times tone bursts as each datagram comes off its socket.

Run by bench/media.py (`Generators`): `listeners.py PORT`, PORT the node's signalling port
(bench/media_node.py); and by bench/nodes.py: `listeners.py URL`, URL a Space's
`…/audio/listen` on the API, which places each listener on a node of the fleet. Commands as
JSON lines on stdin, answers as JSON lines on stdout.
Private names of aiortc 1.16.0 and aioice 0.13 (`_setup_srtp`, `_rx_srtp`, `_nominated`,
the selector transport's `_sock`) are used, as media/rtp_send.py does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import select
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import pylibsrtp  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket  # noqa: E402

import media.ice  # noqa: E402,F401  (ICE candidates on 127.0.0.1 only, as the node's)

CONNECTIONS = 4  # signalling connections to the node per process (requests multiplexed)
REPORT_SECONDS = 1.0  # a receiver report per listener about this often
monotonic = time.monotonic


class Receiver(asyncio.DatagramProtocol):
    """In front of aioice's protocol on a listener's ICE socket, once DTLS is up: SRTP
    packets are unprotected and counted here; everything else goes on to aioice."""

    __slots__ = ("inner", "unprotect", "packets", "bad", "first", "extended", "base", "ssrc",
                 "on_rtp", "reported_expected", "reported_packets")

    def __init__(self, on_rtp: Callable[[bytes, float], None] | None = None) -> None:
        self.inner: Any = None
        self.unprotect: Callable[[bytes], bytes] | None = None
        self.packets = self.bad = 0
        self.first: float | None = None  # time.monotonic() of the first RTP packet
        self.extended: int | None = None  # highest sequence number, unwrapped
        self.base = 0
        self.ssrc = 0
        self.on_rtp = on_rtp  # (plain RTP, arrival) for each packet, if given
        self.reported_expected = self.reported_packets = 0

    def take(self, protocol: Any, srtp: Any) -> None:
        """From now on the socket's datagrams come here first (`arm(pc, receiver.take)`)."""
        self.inner, self.unprotect = protocol, srtp.unprotect
        protocol.transport.set_protocol(self)

    def datagram_received(self, data: bytes, addr: Any) -> None:  # type: ignore[override]
        if 127 < data[0] < 192 and not 191 < data[1] < 209:  # RTP (RFC 5761: not RTCP)
            try:
                plain = self.unprotect(data)  # type: ignore[misc]
            except pylibsrtp.Error:
                self.bad += 1
                return
            self.packets += 1
            sequence = (plain[2] << 8) | plain[3]
            highest = self.extended
            if highest is None:
                self.first = monotonic()
                self.extended = self.base = sequence
                self.ssrc = int.from_bytes(plain[8:12], "big")
            else:
                delta = (sequence - highest) & 0xFFFF
                if delta < 0x8000:
                    self.extended = highest + delta
            if self.on_rtp is not None:
                self.on_rtp(plain, monotonic())
        else:
            self.inner.datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        self.inner.error_received(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def report(self, own_ssrc: int) -> RtcpRrPacket | None:
        """A receiver report on what came since the last one (RFC 3550 6.4.2)."""
        if self.extended is None:
            return None
        expected = self.extended - self.base + 1
        interval_expected = expected - self.reported_expected
        interval_lost = interval_expected - (self.packets - self.reported_packets)
        fraction = 0 if interval_expected <= 0 or interval_lost <= 0 else \
            min(255, (interval_lost << 8) // interval_expected)
        self.reported_expected, self.reported_packets = expected, self.packets
        return RtcpRrPacket(ssrc=own_ssrc, reports=[RtcpReceiverInfo(
            ssrc=self.ssrc, fraction_lost=fraction, packets_lost=max(0, expected - self.packets),
            highest_sequence=self.extended & 0xFFFFFFFF, jitter=0, lsr=0, dlsr=0)])


def arm(pc: RTCPeerConnection, on_keys: Callable[[Any, Any], None]) -> Any:
    """Call before the answer is set: once the connection's DTLS transport has its SRTP
    keys (before it reports itself connected, so before the node can send),
    `on_keys(protocol, srtp)` is called with aioice's protocol on the ICE socket in use and
    the inbound pylibsrtp session. Returns the DTLS transport."""
    dtls = pc.getTransceivers()[0].receiver.transport
    setup = dtls._setup_srtp

    def setup_then_take() -> None:
        setup()
        if dtls._rx_srtp is not None:
            pair = dtls.transport._connection._nominated.get(1)
            if pair is not None:
                on_keys(pair.protocol, dtls._rx_srtp)

    dtls._setup_srtp = setup_then_take
    return dtls


def payload_of(plain: bytes) -> bytes:
    """The payload of an unprotected RTP packet (after CSRCs and header extension)."""
    offset = 12 + 4 * (plain[0] & 0x0F)
    if plain[0] & 0x10:
        offset += 4 + 4 * int.from_bytes(plain[offset + 2:offset + 4], "big")
    end = len(plain) - (plain[-1] if plain[0] & 0x20 else 0)
    return plain[offset:end]


# -- in a listener process ---------------------------------------------------------------------

class Signal:
    """Offers to the node over a few TCP connections, requests multiplexed by id."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.ids = itertools.count()
        self.waiting: dict[int, asyncio.Future[dict]] = {}
        self.writers: list[asyncio.StreamWriter] = []
        self.turn = itertools.cycle(range(CONNECTIONS))

    async def open(self) -> None:
        for _ in range(CONNECTIONS):
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writers.append(writer)
            asyncio.ensure_future(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while line := await reader.readline():
            reply = json.loads(line)
            future = self.waiting.pop(reply.pop("id"), None)
            if future is not None and not future.done():
                future.set_result(reply)

    async def ask(self, request: dict) -> dict:
        request["id"] = number = next(self.ids)
        future = self.waiting[number] = asyncio.get_running_loop().create_future()
        self.writers[next(self.turn)].write((json.dumps(request) + "\n").encode())
        return await future


class ApiSignal:
    """Offers to the API as a WHEP client makes them (`POST …/audio/listen`, SDP in and out);
    the node a listener is on comes from its session's `Location`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client: httpx.AsyncClient | None = None

    async def open(self) -> None:
        self.client = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=CONNECTIONS))

    async def ask(self, request: dict) -> dict:
        assert self.client is not None
        response = await self.client.post(self.url, content=request["sdp"],
                                          headers={"Content-Type": "application/sdp"})
        if response.is_error:
            return {"error": f"{response.status_code} {response.text}"}
        session = response.headers["location"].rsplit("/", 1)[-1]
        return {"sdp": response.text, "node": session.split(".")[0]}


class Counts:
    """What one cheap listener got: RTP packets after SRTP, the first one's arrival, the
    highest sequence number (for its receiver reports)."""

    __slots__ = ("unprotect", "inner", "packets", "bad", "first", "extended", "base", "ssrc",
                 "reported_expected", "reported_packets")

    def __init__(self) -> None:
        self.unprotect: Callable[[bytes], bytes] | None = None
        self.inner: Any = None  # aioice's protocol: STUN, DTLS and SRTCP go on to it
        self.packets = self.bad = 0
        self.first: float | None = None
        self.extended: int | None = None
        self.base = self.ssrc = 0
        self.reported_expected = self.reported_packets = 0

    report = Receiver.report


class Poller:
    """Every cheap listener's ICE socket of this process, once its DTLS is up, read here
    rather than by the event loop: every few milliseconds one `epoll` call says which
    sockets hold a datagram, and each gives one (a packet every 20 ms each; a socket with
    more stays ready for the next round). Per packet: one `recvfrom`, one SRTP unprotect, a
    few counts, and no wakeup of its own (woken per datagram, the event loop costs several
    times as much as the work)."""

    PERIOD = 0.005

    def __init__(self) -> None:
        self.epoll = select.epoll()
        self.sockets: dict[int, tuple[Any, Counts]] = {}
        self.task: asyncio.Task[None] | None = None
        self.busy = 0.0  # CPU seconds spent reading the sockets

    def add(self, protocol: Any, srtp: Any, counts: Counts) -> None:
        transport = protocol.transport
        sock = transport._sock  # asyncio's selector transport (no uvloop here)
        fd = sock.fileno()
        asyncio.get_running_loop()._remove_reader(fd)  # type: ignore[attr-defined]
        counts.inner, counts.unprotect = protocol, srtp.unprotect
        self.sockets[fd] = (sock, counts)
        self.epoll.register(fd, select.EPOLLIN)
        if self.task is None:
            self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        poll, sockets = self.epoll.poll, self.sockets
        while True:
            await asyncio.sleep(self.PERIOD)
            began = time.thread_time()
            now = monotonic()
            for fd, _ in poll(0):
                sock, counts = sockets[fd]
                try:
                    data, addr = sock.recvfrom(2048)
                except BlockingIOError:
                    continue
                except OSError:  # closed under us (the connection ended)
                    with contextlib.suppress(OSError):
                        self.epoll.unregister(fd)
                    del sockets[fd]
                    continue
                if 127 < data[0] < 192 and not 191 < data[1] < 209:  # RTP, not RTCP
                    try:
                        plain = counts.unprotect(data)  # type: ignore[misc]
                    except pylibsrtp.Error:
                        counts.bad += 1
                        continue
                    counts.packets += 1
                    sequence = (plain[2] << 8) | plain[3]
                    highest = counts.extended
                    if highest is None:
                        counts.first = now
                        counts.extended = counts.base = sequence
                        counts.ssrc = int.from_bytes(plain[8:12], "big")
                    else:
                        delta = (sequence - highest) & 0xFFFF
                        if delta < 0x8000:
                            counts.extended = highest + delta
                else:
                    counts.inner.datagram_received(data, (addr[0], addr[1]))
            self.busy += time.thread_time() - began


class Listener:
    __slots__ = ("pc", "receiver", "dtls", "ssrc", "cohort", "offered", "answered", "failed", "node")

    def __init__(self, cohort: str) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTransceiver("audio", direction="recvonly")
        self.receiver = Counts()
        self.dtls: Any = None
        self.ssrc = 0
        self.cohort = cohort
        self.offered: float | None = None
        self.answered: float | None = None
        self.failed = False
        self.node: str | None = None  # through the API: the node the listener was placed on

    async def prepare(self, poller: Poller) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.dtls = arm(self.pc, lambda protocol, srtp: poller.add(protocol, srtp, self.receiver))
        self.ssrc = self.pc.getTransceivers()[0].sender._ssrc

    async def offer(self, signal: Signal | ApiSignal) -> None:
        self.offered = monotonic()
        try:
            answer = await signal.ask({"op": "listener", "sdp": self.pc.localDescription.sdp})
            if "sdp" not in answer:
                raise RuntimeError(answer.get("error"))
            await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
            self.node = answer.get("node")
            self.answered = monotonic()
        except Exception as error:  # a refused offer is counted, not fatal
            print(f"listener offer failed: {error!r}", file=sys.stderr)
            self.failed = True


class Process:
    def __init__(self, target: str) -> None:
        self.signal = Signal(int(target)) if target.isdigit() else ApiSignal(target)
        self.listeners: list[Listener] = []
        self.prepared: list[Listener] = []
        self.poller = Poller()
        self.storm: asyncio.Future[Any] | None = None

    async def run(self) -> None:
        await self.signal.open()
        asyncio.ensure_future(self._report())
        loop = asyncio.get_running_loop()
        stdin = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
        while line := await stdin.readline():
            request = json.loads(line)
            reply = await getattr(self, "op_" + request.pop("op"))(**request)
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()

    async def op_join(self, count: int, group: int, cohort: str = "steady") -> dict:
        """`count` new listeners, `group` at a time (each prepares, offers, connects)."""
        started = monotonic()
        for start in range(0, count, group):
            batch = [Listener(cohort) for _ in range(min(group, count - start))]
            for listener in batch:
                await listener.prepare(self.poller)
            await asyncio.gather(*(listener.offer(self.signal) for listener in batch))
            self.listeners += batch
        return {"listeners": len(self.listeners), "seconds": monotonic() - started}

    async def op_prepare(self, count: int, cohort: str = "storm") -> dict:
        """`count` listeners with their offers made, not yet sent."""
        for _ in range(count):
            listener = Listener(cohort)
            await listener.prepare(self.poller)
            self.prepared.append(listener)
        return {"prepared": len(self.prepared)}

    async def op_go(self) -> dict:
        """Every prepared listener sends its offer now, all at once."""
        batch, self.prepared = self.prepared, []
        self.listeners += batch
        sent = monotonic()
        self.storm = asyncio.gather(*(listener.offer(self.signal) for listener in batch))
        return {"sent": sent}

    async def op_snapshot(self) -> dict:
        times = os.times()
        return {
            "time": monotonic(), "cpu": times.user + times.system,
            "poller": self.poller.busy,
            "packets": [lst.receiver.packets for lst in self.listeners],
            "first": [lst.receiver.first for lst in self.listeners],
            "answered": [lst.answered for lst in self.listeners],
            "cohort": [lst.cohort for lst in self.listeners],
            "node": [lst.node for lst in self.listeners],
            "failed": sum(lst.failed for lst in self.listeners),
            "bad": sum(lst.receiver.bad for lst in self.listeners),
        }

    async def _report(self) -> None:
        """Each listener's receiver report about once a second, spread over the second."""
        slices = 20
        turn = 0
        while True:
            await asyncio.sleep(REPORT_SECONDS / slices)
            turn = (turn + 1) % slices
            for listener in self.listeners[turn::slices]:
                report = listener.receiver.report(listener.ssrc)
                if report is not None and listener.dtls is not None:
                    try:
                        await listener.dtls._send_rtp(bytes(report))
                    except ConnectionError:
                        pass


# -- in bench/media.py -----------------------------------------------------------------------

class Generators:
    """Listener processes (listeners.py) driven from bench/media.py and bench/nodes.py;
    listeners spread evenly. `target`: a node's signalling port or a listen URL on the API."""

    def __init__(self, target: int | str, processes: int = 2) -> None:
        self.target, self.count = str(target), processes
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self) -> None:
        for _ in range(self.count):
            self.processes.append(await asyncio.create_subprocess_exec(
                sys.executable, str(Path(__file__).resolve()), self.target,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                limit=2**24))

    async def _call(self, process: asyncio.subprocess.Process, request: dict) -> dict:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write((json.dumps(request) + "\n").encode())
        await process.stdin.drain()
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError("a listener process ended")
        return json.loads(line)

    def _shares(self, total: int) -> list[int]:
        return [total // self.count + (i < total % self.count) for i in range(self.count)]

    async def join(self, total: int, group: int = 20) -> float:
        """Joins `total` listeners (spread over the processes); returns the seconds taken."""
        started = monotonic()
        await asyncio.gather(*(self._call(p, {"op": "join", "count": n, "group": group})
                               for p, n in zip(self.processes, self._shares(total)) if n))
        return monotonic() - started

    async def prepare(self, total: int) -> None:
        await asyncio.gather(*(self._call(p, {"op": "prepare", "count": n})
                               for p, n in zip(self.processes, self._shares(total)) if n))

    async def go(self) -> float:
        """Every prepared listener offers at once; returns when the first offer left."""
        replies = await asyncio.gather(*(self._call(p, {"op": "go"}) for p in self.processes))
        return min(r["sent"] for r in replies)

    async def snapshot(self) -> dict:
        """Every listener's counts (one process after the other), and each process's CPU."""
        parts = await asyncio.gather(*(self._call(p, {"op": "snapshot"}) for p in self.processes))
        merged: dict[str, Any] = {key: [x for part in parts for x in part[key]]
                                  for key in ("packets", "first", "answered", "cohort", "node")}
        merged["shares_time"] = [part["time"] for part in parts for _ in part["packets"]]
        merged["cpu"] = [part["cpu"] for part in parts]
        merged["poller"] = [part["poller"] for part in parts]

        merged["failed"] = sum(part["failed"] for part in parts)
        merged["bad"] = sum(part["bad"] for part in parts)
        merged["time"] = max(part["time"] for part in parts)
        return merged

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    async def close(self) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.kill()
            await process.wait()


if __name__ == "__main__":
    asyncio.run(Process(sys.argv[1]).run())
