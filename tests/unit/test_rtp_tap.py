"""The media layer takes Opus packets from aiortc's receiver through private names of
aiortc 1.16.0. This test fails if that hook stops working (after an upgrade, say)."""

from __future__ import annotations

import asyncio

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver

from media.libopus import Decoder
from media.rtp_tap import _Discard, tap
from tests.peers import ToneTrack


def test_the_private_receiver_hook_still_exists():
    assert callable(getattr(RTCRtpReceiver, "_handle_rtp_packet", None))


def test_tapped_receivers_hand_over_every_opus_packet_and_decode_nothing():
    async def scenario() -> tuple[list[bytes], object]:
        sender = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        receiver = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        sender.addTrack(ToneTrack(440))
        payloads: list[bytes] = []
        tapped: dict[str, object] = {}

        @receiver.on("track")
        def on_track(track):
            rtp_receiver = next(t.receiver for t in receiver.getTransceivers() if t.receiver.track is track)
            tap(rtp_receiver, lambda payload, _ts, _seq: payloads.append(payload))
            tapped["receiver"] = rtp_receiver

        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        await asyncio.sleep(1.5)
        await sender.close()
        await receiver.close()
        return payloads, tapped["receiver"]

    payloads, receiver = asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    assert len(payloads) > 40  # 50 packets a second
    assert isinstance(receiver._RTCRtpReceiver__decoder_queue, _Discard)
    assert receiver._RTCRtpReceiver__decoder_queue.qsize() <= 1  # only aiortc's stop signal
    decoded = Decoder().decode(payloads[-1])
    assert abs(decoded).max() > 0.05  # real audio, not empty payloads
