"""The node's answers negotiate in-band FEC and NACK for Opus (media/codecs.py patches
aiortc 1.16.0's codec list), and its receivers NACK the packets a speaker lost."""

from __future__ import annotations

import asyncio

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

import media.codecs  # noqa: F401
from media.rtp_tap import tap
from tests.peers import ToneTrack, with_red
from tests.relay import LossyRelay
from tests.relay_sdp import hidden_offer, relay_answer


def test_an_answer_to_an_offer_with_nack_and_fec_keeps_both():
    async def scenario() -> str:
        speaker = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        node = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        speaker.addTrack(ToneTrack(440))
        await speaker.setLocalDescription(await speaker.createOffer())
        await node.setRemoteDescription(speaker.localDescription)
        await node.setLocalDescription(await node.createAnswer())
        answer = node.localDescription.sdp
        await speaker.close()
        await node.close()
        return answer

    answer = asyncio.run(scenario())
    opus = next(line.split()[0].split(":")[1] for line in answer.splitlines()
                if line.startswith("a=rtpmap:") and "opus/48000" in line)
    assert f"a=rtcp-fb:{opus} nack" in answer.splitlines()
    assert any(line.startswith(f"a=fmtp:{opus}") and "useinbandfec=1" in line
               for line in answer.splitlines())


def test_what_the_network_loses_of_a_speaker_is_nacked_and_resent():
    """A speaker (aiortc, which keeps a history) offers through a relay that loses 10 % of
    its RTP; the node's tapped receiver NACKs each gap and the resent packets fill it."""

    async def scenario() -> tuple[list[int], list[list[int]], LossyRelay]:
        speaker = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        node = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        speaker.addTrack(ToneTrack(440))
        relay = LossyRelay(loss=0.1, direction="to_server", impaired="rtp", seed=5)
        heard: list[int] = []
        nacked: list[list[int]] = []

        @node.on("track")
        def on_track(track):
            receiver = next(t.receiver for t in node.getTransceivers() if t.receiver.track is track)
            send_nack = receiver._send_rtcp_nack

            async def counted(ssrc: int, missing: list[int]) -> None:
                nacked.append(missing)
                await send_nack(ssrc, missing)

            receiver._send_rtcp_nack = counted
            tap(receiver, lambda _payload, _ts, sequence: heard.append(sequence), nack=True)

        await speaker.setLocalDescription(await speaker.createOffer())
        await node.setRemoteDescription(RTCSessionDescription(hidden_offer(speaker.localDescription.sdp), "offer"))
        await node.setLocalDescription(await node.createAnswer())
        answer = await relay_answer(node.localDescription.sdp, relay)
        await speaker.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.sleep(2.5)
        await speaker.close()
        await node.close()
        relay.close()
        return heard, nacked, relay

    heard, nacked, relay = asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    dropped = relay.counters["to_server"].dropped
    assert dropped >= 5 and len(nacked) >= dropped - 2  # every gap asked for (a resend may be lost too)
    first, last = heard[0], heard[-1]
    holes = ((last - first) & 0xFFFF) + 1 - len(set(heard))
    assert holes <= 2, (holes, dropped)  # the network lost `dropped`; resends filled nearly all


def test_red_is_answered_only_when_offered_and_names_the_offers_opus():
    async def answer_to(red: bool) -> str:
        listener = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        node = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        listener.addTransceiver("audio", direction="recvonly")
        await listener.setLocalDescription(await listener.createOffer())
        offer = listener.localDescription.sdp
        await node.setRemoteDescription(RTCSessionDescription(with_red(offer) if red else offer, "offer"))
        node.addTrack(ToneTrack(440))
        await node.setLocalDescription(await node.createAnswer())
        for pc in (listener, node):
            await pc.close()
        return node.localDescription.sdp

    with_it, without = asyncio.run(answer_to(True)), asyncio.run(answer_to(False))
    assert "a=rtpmap:63 red/48000/2" in with_it and "a=fmtp:63 96/96" in with_it
    assert with_it.index("opus/48000") < with_it.index("red/48000")  # Opus stays the first choice
    assert "red/" not in without
