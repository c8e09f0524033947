"""Taking a speaker's Opus packets as they arrive, before aiortc's jitter buffer and decoder.

aiortc has no public way to get undecoded audio. Its receiver hands each SRTP-decrypted
RTP packet to `RTCRtpReceiver._handle_rtp_packet`; wrapping that on the receiver instance
gives the Opus payload with its RTP timestamp. The original still runs (RTCP reports and
NACKs keep working), but its decoder gets a queue that drops everything, so nothing is
decoded twice. Private names of aiortc 1.16.0: tests/unit/test_rtp_tap.py fails if they change.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver

from media.codecs import RED
from media.libopus import FRAME
from media.red import BadRed, unwrap

PacketHandler = Callable[[bytes, int, int], None]  # (opus payload, rtp timestamp, sequence)
MAX_NACKED = 16  # a longer gap is a pause or a restart, not loss worth asking for again


class _Discard(queue.Queue):
    """A real queue (aiortc's decoder thread blocks on get) into which nothing is kept."""

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:  # aiortc's "stop" signal for the decoder thread must get through
            super().put(item, block, timeout)


def tap(receiver: RTCRtpReceiver, on_packet: PacketHandler, nack: bool = False,
        on_redundant: PacketHandler | None = None) -> None:
    """Call on the connection's "track" event, before the receiver starts. With `nack`, a
    gap in the sequence numbers is reported to the sender at once (RTCP NACK, RFC 4585),
    which aiortc's receiver does only for video; a sender that keeps a history (aiortc's,
    Chromium's when `nack` is negotiated) sends the packets again. A RED packet (RFC 2198)
    gives its primary block to `on_packet` and its earlier ones to `on_redundant`, with
    the sequence numbers they had (20 ms frames)."""
    original = receiver._handle_rtp_packet
    highest: dict[int, int] = {}  # ssrc -> highest sequence number seen
    codecs = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        payload, blocks = packet.payload, []
        codec = codecs.get(packet.payload_type)
        if payload and codec is not None and codec.mimeType.lower() == RED:
            try:
                blocks = unwrap(payload)
            except BadRed:
                pass
            payload = blocks[-1][2] if blocks else b""
        if payload:
            on_packet(payload, packet.timestamp, packet.sequence_number)
        if on_redundant is not None:
            for offset, _, data in blocks[:-1]:
                on_redundant(data, (packet.timestamp - offset) & 0xFFFFFFFF,
                             (packet.sequence_number - offset // FRAME) & 0xFFFF)
        if nack:
            last = highest.get(packet.ssrc)
            gap = (packet.sequence_number - last) & 0xFFFF if last is not None else 1
            if gap < 0x8000:
                highest[packet.ssrc] = packet.sequence_number
                if 1 < gap <= MAX_NACKED + 1:
                    lost = [(last + i) & 0xFFFF for i in range(1, gap)]  # type: ignore[operator]
                    await receiver._send_rtcp_nack(packet.ssrc, lost)
        await original(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
    receiver._RTCRtpReceiver__decoder_queue = _Discard()  # type: ignore[attr-defined]
