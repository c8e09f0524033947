"""The batched fan-out: every listener of a Space sent each mix packet in one loop.

Per 20 ms packet the Opus payload is taken once; then, for each listener, only what is
theirs: a 12-byte RTP header (their SSRC, sequence number, timestamp origin and payload
type, as negotiated), their header extension (the mid), their SRTP context, their socket.
No task, queue or coroutine per listener: `send` is a plain call that never waits, so a
listener whose socket would block loses that packet (counted in `dropped`) and nobody else
waits for it. A listener whose connection is not up yet (ICE, DTLS) is skipped until it is
(counted in `skipped`).

aiortc still does ICE, DTLS, signalling and RTCP for each listener (media/rtp_send.py says
how the sender is kept parked and its report counters kept true).
"""

from __future__ import annotations

import logging
import random
import struct
import time
from typing import Any

import av
from aiortc import RTCPeerConnection, clock

from media import red
from media.listeners import ListenerTrack, TrackSet
from media.opus import TIME_BASE
from media.rtp_send import Claim, NotOpus, ParkedTrack, SendPath, claim, send_path

log = logging.getLogger(__name__)
HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC
MARKER = 0x80
HISTORY = 64  # packets (1.3 s) a listener may ask for again
REDUNDANCY = 2  # earlier packets a RED packet carries again (a loss of two in a row is covered)


class FanoutTrack(ParkedTrack):
    """A listener's place in the fan-out: the track that keeps aiortc's sender parked, and
    this listener's RTP state (its own sequence numbers and timestamp origin, chosen as
    aiortc chooses them)."""

    def __init__(self) -> None:
        super().__init__()
        self.claim: Claim | None = None
        self.path: SendPath | None = None
        self.refused = False  # negotiated no Opus: never sent to
        # the lower half of the range, as aiortc does: no wraparound early on (some SRTP
        # receivers mishandle one before their rollover counter is established)
        self.sequence = random.getrandbits(15)
        self.timestamp_origin = random.getrandbits(32)
        self.first = True  # the first packet carries the marker (start of a talkspurt)
        self.pair: Any = None  # the ICE pair last sent on (aioice), and its remote address
        self.address: tuple[str, int] | None = None
        self.sent = self.dropped = self.skipped = self.failures = self.resent = 0
        self.last_taken = time.monotonic()  # when a packet last left for this listener
        # the last HISTORY packets sent (sequence, unprotected RTP), for NACKs to be answered
        self.history: list[tuple[int, bytes] | None] = [None] * HISTORY

    def attach(self, pc: RTCPeerConnection) -> None:
        """Adds this track to the listener's connection (before its offer is answered); the
        NACKs that reach its sender are answered from this track's history."""
        sender = pc.addTrack(self)
        self.claim = claim(sender)
        sender._retransmit = self.resend  # type: ignore[method-assign, assignment]

    async def resend(self, sequence: int) -> None:
        """A listener's NACK (routed by aiortc to the sender): the packet again, as it was
        (aiortc's SRTP policy allows protecting an index twice)."""
        kept = self.history[sequence % HISTORY]
        if kept is None or kept[0] != sequence or self.path is None or self.address is None \
                or self.pair is None:
            return
        try:
            self.pair.protocol.transport.sendto(self.path.srtp.protect(kept[1]), self.address)
            self.resent += 1
        except Exception:
            log.debug("resending to a listener failed", exc_info=True)

    def ready(self) -> SendPath | None:
        """The listener's send path, once its connection is up."""
        if self.path is None and self.claim is not None and not self.refused:
            try:
                self.path = send_path(self.claim)
            except NotOpus as codec:
                log.warning("a listener negotiated %s, not Opus: it hears nothing", codec)
                self.refused = True
        return self.path


class Fanout(TrackSet[FanoutTrack]):
    """One Space's listeners (on this node), sent to in one loop per packet. Listeners who
    offered RED get each packet with the REDUNDANCY before it again (media/red.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.packets = 0
        self.earlier: list[tuple[int, bytes]] = []  # (pts, payload) of the last packets

    def open_track(self, pc: RTCPeerConnection) -> FanoutTrack:
        track = FanoutTrack()
        track.attach(pc)
        return track

    def add(self, track: ListenerTrack) -> None:
        assert isinstance(track, FanoutTrack), "the batched fan-out sends to its own tracks"
        self.tracks.add(track)

    def send(self, packet: av.Packet) -> None:
        """One Opus packet (pts in the 48 kHz RTP clock) to every listener that can take it."""
        payload = bytes(packet)
        pts = packet.pts or 0
        if packet.time_base is not None and packet.time_base != TIME_BASE:
            pts = int(pts * packet.time_base / TIME_BASE)
        self.packets += 1
        now, ntp = time.monotonic(), clock.current_ntp_time()
        earlier = [(pts - at, data) for at, data in self.earlier]
        self.earlier = (self.earlier + [(pts, payload)])[-REDUNDANCY:]
        redundant: dict[int, bytes] = {}  # RED payloads, by the Opus payload type they carry
        pack = HEADER.pack
        for track in self.tracks:
            path = track.path or track.ready()
            if path is None or not path.connected():
                track.skipped += 1
                continue
            pair = path.endpoint()
            if pair is None:
                track.skipped += 1
                continue
            if pair is not track.pair:  # aioice builds the address anew on each look
                track.pair, track.address = pair, pair.remote_addr
            transport = pair.protocol.transport
            sequence = track.sequence = (track.sequence + 1) & 0xFFFF
            if transport.get_write_buffer_size() or transport.is_closing():
                track.dropped += 1  # its socket is backed up: this packet is lost to it
                continue
            timestamp = (track.timestamp_origin + pts) & 0xFFFFFFFF
            extension = path.extension
            first = 0x90 if extension else 0x80  # version 2, with or without the extension
            marker = MARKER if track.first else 0
            body, payload_type = payload, path.payload_type
            if path.red_type is not None:
                if payload_type not in redundant:
                    redundant[payload_type] = red.wrap(payload_type, payload, earlier)
                body, payload_type = redundant[payload_type], path.red_type
            try:
                plain = pack(first, marker | payload_type, sequence, timestamp, path.ssrc) \
                    + extension + body
                track.history[sequence % HISTORY] = (sequence, plain)
                data = path.srtp.protect(plain)
                transport.sendto(data, track.address)
            except Exception:  # one listener's failure is theirs alone
                if not track.failures:  # said once, not 50 times a second
                    log.exception("sending to a listener failed")
                track.failures += 1
                track.dropped += 1
                continue
            track.first = False
            track.sent += 1
            track.last_taken = now
            path.count(ntp, timestamp, len(body), len(data))
