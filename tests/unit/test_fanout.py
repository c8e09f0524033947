"""The batched fan-out, against real aiortc listeners in this process: every packet arrives,
in order, through SRTP, and decodes to the tone sent; a listener that is backed up or
closed costs the others nothing; and the aiortc 1.16.0 internals it relies on are still
there (this file fails after an aiortc upgrade that moves them)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import aioice
import aiortc
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, is_rtcp

import media.ice  # noqa: F401  (loopback candidates only)
from media import rtp_send
from media.fanout import Fanout, FanoutTrack
from media.libopus import Decoder
from media.opus import FRAME, RATE, OpusEncoder
from media.room import Captioning, Room
from media.rtp_tap import tap
from media.session import Session
from tests.peers import Ears
from tests.tone_speech import ToneWords

Heard = list[tuple[bytes, int, int]]  # (payload, timestamp, sequence) as the listener got them


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(scenario(), timeout=20))


class Tone:
    """The mix's side: a 440 Hz tone encoded once, 20 ms a packet."""

    def __init__(self) -> None:
        self.encoder = OpusEncoder()
        self.frames = 0

    def packets(self) -> list[av.Packet]:
        t = (np.arange(FRAME) + self.frames * FRAME) / RATE
        self.frames += 1
        return self.encoder.encode((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))


class Listener:
    """A listener's two ends: the node's connection (with its fan-out track) and the
    listener's own aiortc connection, which either taps packets or decodes them."""

    def __init__(self, fanout: Fanout | None, decode: bool = False) -> None:
        self.node_pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        if fanout is not None:
            self.track = fanout.open_track(self.node_pc)
            fanout.add(self.track)
        self.heard: Heard = []
        self.ears = Ears()
        self.receiving = asyncio.Event()
        self.decode = decode

    async def connect(self, codec: str | None = None) -> None:
        transceiver = self.pc.addTransceiver("audio", direction="recvonly")
        if codec is not None:
            transceiver.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("audio").codecs
                                             if c.mimeType == codec])

        @self.pc.on("track")
        def on_track(remote: Any) -> None:
            if self.decode:
                asyncio.ensure_future(self.ears.consume(remote))
                return
            receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is remote)

            def heard(payload: bytes, timestamp: int, sequence: int) -> None:
                self.heard.append((payload, timestamp, sequence))
                self.receiving.set()

            tap(receiver, heard)

        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.node_pc.setRemoteDescription(self.pc.localDescription)
        await self.node_pc.setLocalDescription(await self.node_pc.createAnswer())
        await self.pc.setRemoteDescription(RTCSessionDescription(self.node_pc.localDescription.sdp, "answer"))

    @property
    def sender(self) -> RTCRtpSender:
        return self.node_pc.getSenders()[0]

    async def close(self) -> None:
        await self.pc.close()
        await self.node_pc.close()


async def pump(fanout: Fanout, tone: Tone, until: Callable[[], bool], most: int = 250) -> list[bytes]:
    """Sends the tone at the mix's pace until `until()` holds; returns the payloads sent."""
    sent: list[bytes] = []
    for _ in range(most):
        if until():
            return sent
        for packet in tone.packets():
            fanout.send(packet)
            sent.append(bytes(packet))
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never held")


async def pump_n(fanout: Fanout, tone: Tone, frames: int) -> list[bytes]:
    """Sends `frames` packets of the tone at the mix's pace; returns their payloads."""
    sent: list[bytes] = []
    for _ in range(frames):
        for packet in tone.packets():
            fanout.send(packet)
            sent.append(bytes(packet))
        await asyncio.sleep(0.02)
    return sent


def in_order(heard: Heard) -> None:
    """Consecutive sequence numbers, 20 ms of RTP clock apart."""
    for (_, ts, seq), (_, next_ts, next_seq) in zip(heard, heard[1:]):
        assert next_seq == (seq + 1) & 0xFFFF
        assert next_ts == (ts + FRAME) & 0xFFFFFFFF


def test_a_real_listener_gets_every_packet_in_order_through_srtp_and_hears_the_tone():
    async def scenario() -> None:
        fanout, tone = Fanout(), Tone()
        tapped, decoding = Listener(fanout), Listener(fanout, decode=True)
        for listener in (tapped, decoding):
            await listener.connect()
        await pump(fanout, tone, lambda: tapped.receiving.is_set() and bool(decoding.ears.chunks))
        before = len(tapped.heard)
        sent = await pump_n(fanout, tone, 60)  # 1.2 s, all of which must arrive
        await asyncio.sleep(0.2)
        heard = tapped.heard[before:]
        assert [payload for payload, _, _ in heard] == sent  # every one, once, in order
        in_order(tapped.heard)
        assert tapped.track.dropped == 0 and tapped.track.sent >= len(tapped.heard)
        frequency = decoding.ears.dominant(since=decoding.ears.chunks[0][0])
        assert abs(frequency - 440) < 10, frequency  # through aiortc's jitter buffer and decoder
        assert abs(Decoder().decode(heard[-1][0])).max() > 0.1

        # RTCP still works both ways: the listener's receiver reports reach the sender (no
        # loss), and the sender reports the listener gets count what the fan-out sent.
        for _ in range(100):
            inbound = [s for s in (await tapped.sender.getStats()).values()
                       if s.type == "remote-inbound-rtp"]
            outbound = [s for s in (await tapped.pc.getReceivers()[0].getStats()).values()
                        if s.type == "remote-outbound-rtp"]
            if inbound and outbound:
                break
            await pump_n(fanout, tone, 2)
        assert inbound and inbound[0].packetsLost == 0
        assert outbound and 0 < outbound[0].packetsSent <= tapped.track.sent
        assert outbound[0].ssrc == tapped.sender._ssrc
        for listener in (tapped, decoding):
            await listener.close()

    run(scenario)


class Backlogged:
    """A datagram transport whose socket would block: asyncio has data queued for it."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.rtp_sent = 0

    def get_write_buffer_size(self) -> int:
        return 65_536

    def is_closing(self) -> bool:
        return False

    def sendto(self, data: bytes, addr: Any = None) -> None:
        if not is_rtcp(data) and data[0] >= 128:
            self.rtp_sent += 1
        self.real.sendto(data, addr)  # STUN and RTCP still go (asyncio would queue them)


def test_a_backed_up_or_closed_listener_loses_its_packets_and_delays_nobody():
    async def scenario() -> None:
        fanout, tone = Fanout(), Tone()
        listeners = [Listener(fanout) for _ in range(4)]
        for listener in listeners:
            await listener.connect()
        await pump(fanout, tone, lambda: all(listener.receiving.is_set() for listener in listeners))
        first, blocked, closed, last = listeners
        assert blocked.track.path is not None
        pair = blocked.track.path.endpoint()
        pair.protocol.transport = backlog = Backlogged(pair.protocol.transport)
        await closed.node_pc.close()  # the node's side is gone; the fan-out still holds it
        sent_before = {id(listener): listener.track.sent for listener in listeners}
        heard_before = {id(listener): len(listener.heard) for listener in listeners}

        assert not asyncio.iscoroutinefunction(fanout.send)  # nothing in it can wait
        sent = await pump_n(fanout, tone, 40)
        await asyncio.sleep(0.2)
        for listener in (first, last):  # before and after the others in the loop's order
            assert [p for p, _, _ in listener.heard[heard_before[id(listener)]:]] == sent
            in_order(listener.heard)
        assert backlog.rtp_sent == 0 and blocked.track.sent == sent_before[id(blocked)]
        assert blocked.track.dropped == len(sent)
        assert closed.track.sent == sent_before[id(closed)] and closed.track.skipped >= len(sent)
        assert len(blocked.heard) == heard_before[id(blocked)]

        # the backlog clears: the listener hears again, with a gap in its sequence numbers
        # (the packets it lost), not a delay
        pair.protocol.transport = backlog.real
        more = await pump_n(fanout, tone, 10)
        await asyncio.sleep(0.2)
        resumed = blocked.heard[heard_before[id(blocked)]:]
        assert [p for p, _, _ in resumed] == more
        assert resumed[0][2] == (blocked.heard[heard_before[id(blocked)] - 1][2] + len(sent) + 1) & 0xFFFF
        for listener in listeners:
            await listener.close()

    run(scenario)


def test_the_mid_extension_is_the_one_aiortc_parses():
    mid = RTCRtpHeaderExtensionParameters(id=1, uri=rtp_send.MID_URI)
    parameters = RTCRtpSendParameters(headerExtensions=[mid], muxId="0")
    extensions = HeaderExtensionsMap()
    extensions.configure(parameters)
    header = bytes([0x90, 111]) + (7).to_bytes(2, "big") + (960).to_bytes(4, "big") + (5).to_bytes(4, "big")
    packet = RtpPacket.parse(header + rtp_send.mid_extension(parameters) + b"opus", extensions)
    assert (packet.extensions.mid, packet.payload, packet.sequence_number) == ("0", b"opus", 7)
    assert rtp_send.mid_extension(RTCRtpSendParameters(muxId="0")) == b""  # not negotiated


def test_the_aiortc_internals_the_fan_out_uses_are_still_there():
    """Pinned to aiortc 1.16.0: after an upgrade, read media/rtp_send.py against the new
    RTCRtpSender._run_rtp / _run_rtcp and RTCDtlsTransport._send_rtp, then change the pin."""
    assert aiortc.__version__ == rtp_send.AIORTC_VERSION
    assert hasattr(aioice.Connection, "sendto")
    # NACKs reach the sender's _retransmit, which the fan-out answers from its history
    assert "_retransmit" in aiortc.RTCRtpSender._handle_rtcp_packet.__code__.co_names

    async def scenario() -> None:
        fanout, tone = Fanout(), Tone()
        listener = Listener(fanout)
        await listener.connect()
        sender, dtls = listener.sender, listener.sender.transport
        assert isinstance(dtls, RTCDtlsTransport) and isinstance(dtls.transport, RTCIceTransport)
        for name in (rtp_send.PACKETS, rtp_send.OCTETS, rtp_send.RTP_TIME, rtp_send.NTP_TIME):
            assert name in vars(sender), name
        for name in (rtp_send.TX_PACKETS, rtp_send.TX_BYTES):
            assert name in vars(dtls), name
        assert isinstance(sender._ssrc, int) and dtls._state is State.NEW
        await pump(fanout, tone, listener.receiving.is_set)
        assert isinstance(listener.track, FanoutTrack) and listener.track.path is not None
        path = listener.track.path
        assert path.srtp is dtls._tx_srtp and path.nominated is dtls.transport._connection._nominated
        pair = path.endpoint()
        assert isinstance(pair.protocol, aioice.ice.StunProtocol) and len(pair.remote_addr) == 2
        await pump_n(fanout, tone, 20)
        # aiortc's own RTP task stayed parked on the track: every packet counted is ours
        assert vars(sender)[rtp_send.PACKETS] == listener.track.sent
        assert vars(dtls)[rtp_send.TX_PACKETS] >= listener.track.sent
        await listener.node_pc.close()  # the parked task ends with the sender
        assert listener.track.readyState == "ended"
        await listener.pc.close()

    run(scenario)


def test_an_edge_room_hands_the_origins_packets_to_the_fan_out(tmp_path):
    """On an edge, Room.deliver (each packet pulled from the origin) goes the same way."""

    async def scenario() -> None:
        captioning = Captioning(ToneWords, threading.Semaphore(1), None, lambda: None)
        room = Room("space", "host", recordings=tmp_path, segment_seconds=1.0, captioning=captioning,
                    fanout="batched")
        assert isinstance(room.mix.listeners, Fanout)
        listener = Listener(None)
        listener.track = room.listener_track(listener.node_pc)
        room.add_listener(Session("s", "space", None, "listener", listener.node_pc, listener.track))
        await listener.connect()
        tone, pts = Tone(), 123_456
        for _ in range(250):
            if listener.receiving.is_set():
                break
            for packet in tone.packets():
                packet.pts, pts = pts, pts + FRAME  # the origin's RTP clock, as the tap gives it
                room.deliver(packet)
            await asyncio.sleep(0.02)
        assert listener.receiving.is_set() and isinstance(listener.track, FanoutTrack)
        in_order(listener.heard)
        room.remove(room.sessions["s"])
        await asyncio.sleep(0.05)  # aiortc's parked sender task wakes, and ends
        assert len(room.mix.listeners) == 0 and listener.track.readyState == "ended"
        await room.close()
        await listener.close()

    run(scenario)


def test_a_listener_that_negotiated_no_opus_is_sent_nothing():
    async def scenario() -> None:
        fanout, tone = Fanout(), Tone()
        pcmu, opus = Listener(fanout), Listener(fanout)
        await pcmu.connect(codec="audio/PCMU")
        await opus.connect()
        await pump(fanout, tone, lambda: opus.receiving.is_set() and pcmu.track.refused)
        await pump_n(fanout, tone, 5)
        assert pcmu.track.sent == 0 and pcmu.heard == [] and opus.track.sent > 0
        for listener in (pcmu, opus):
            await listener.close()

    run(scenario)
