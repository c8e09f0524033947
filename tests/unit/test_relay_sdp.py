"""Routing a peer connection through the relay: the SDP rewrites, then two aiortc peers whose
every packet, both ways, is counted by the relay."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from tests.peers import ToneTrack
from tests.relay import LossyRelay
from tests.relay_sdp import hidden_offer, relay_answer, server_address

SECTION = [
    "m=audio 50000 UDP/TLS/RTP/SAVPF 96",
    "c=IN IP4 127.0.0.1",
    "a=mid:0",
    "a=candidate:aaa 1 udp 2130706431 127.0.0.1 50000 typ host",
    "a=candidate:bbb 1 udp 2130706431 10.0.0.5 50002 typ host",
    "a=end-of-candidates",
    "a=ice-ufrag:abcd",
]
SDP = "\r\n".join(["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", *SECTION, *SECTION]) + "\r\n"


def test_a_hidden_offer_keeps_everything_but_the_offerers_addresses():
    hidden = hidden_offer(SDP)
    assert "a=candidate" not in hidden and "end-of-candidates" not in hidden
    assert hidden.count("m=audio 9 UDP/TLS/RTP/SAVPF 96") == 2 and hidden.count("c=IN IP4 0.0.0.0") == 2
    assert "50000" not in hidden and "127.0.0.1" not in hidden.split("o=")[1].split("\n", 1)[1]
    assert hidden.count("a=ice-ufrag:abcd") == 2 and hidden.endswith("\r\n")


def test_an_answer_through_the_relay_names_only_the_relay():
    async def scenario() -> tuple[str, LossyRelay]:
        relay = LossyRelay()
        answer = await relay_answer(SDP, relay)
        relay.close()
        return answer, relay

    assert server_address(SDP) == ("127.0.0.1", 50000)
    answer, relay = run(scenario())
    host, port = relay.address
    assert relay.server == ("127.0.0.1", 50000)
    assert answer.count(f"a=candidate:aaa 1 udp 2130706431 {host} {port} typ host") == 2
    assert "10.0.0.5" not in answer and "50000" not in answer  # no way round the relay
    assert answer.count(f"m=audio {port} ") == 2 and answer.count("a=end-of-candidates") == 2
    with pytest.raises(ValueError, match="no UDP candidate"):
        server_address(hidden_offer(SDP))


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=30))


async def stats(pc: RTCPeerConnection, kind: str) -> dict:
    report = await pc.getStats()
    return next(s for s in report.values() if s.type == kind).__dict__


def test_two_aiortc_peers_through_the_relay_send_every_packet_through_it():
    """The offerer hides its candidates, the answerer's answer is rewritten: ICE, DTLS, RTP and
    RTCP all go through the relay, and what the relay drops is what the receiver misses."""

    async def scenario() -> tuple[LossyRelay, dict, dict, list]:
        speaker = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        listener = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        listener.addTransceiver("audio", direction="recvonly")
        speaker.on("track", lambda track: None)
        relay = LossyRelay(loss=0.1, direction="to_client", impaired="rtp", seed=3)

        # the listener offers (the client), the speaker answers (the server)
        await listener.setLocalDescription(await listener.createOffer())
        await speaker.setRemoteDescription(RTCSessionDescription(hidden_offer(listener.localDescription.sdp), "offer"))
        speaker.addTrack(ToneTrack(440))
        await speaker.setLocalDescription(await speaker.createAnswer())
        answer = await relay_answer(speaker.localDescription.sdp, relay)
        await listener.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        await asyncio.sleep(2.5)
        sent, received = await stats(speaker, "outbound-rtp"), await stats(listener, "inbound-rtp")
        ice = speaker.getTransceivers()[0].receiver.transport.transport
        remote = [(c.type, c.ip, c.port) for c in ice.getRemoteCandidates()]
        await speaker.close()
        await listener.close()
        relay.close()
        return relay, sent, received, remote

    relay, sent, received, remote = run(scenario())
    down, up = relay.counters["to_client"], relay.counters["to_server"]
    assert down.kinds["stun"] and down.kinds["dtls"] and up.kinds["stun"] and up.kinds["dtls"] and up.kinds["rtcp"]
    assert abs(down.kinds["rtp"] - sent["packetsSent"]) <= 3  # every RTP packet sent went through
    assert 0.04 < down.loss("rtp") < 0.2
    assert abs(received["packetsLost"] - down.dropped) <= 2
    assert abs(received["packetsReceived"] - (down.kinds["rtp"] - down.dropped)) <= 3
    assert remote == [("prflx", *relay.server_side)]  # the answerer only ever knew the relay
