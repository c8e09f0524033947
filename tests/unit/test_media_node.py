"""The media node's own rules, without a network: stalled listeners, slots, bad offers."""

from __future__ import annotations

import asyncio
import time

import pytest

from media.node import MediaFull, MediaNode
from media.sdp import BadOffer, offered_directions
from tests.peers import ToneTrack


def offer(*, listener: bool, receive: int = 0) -> str:
    from aiortc import RTCConfiguration, RTCPeerConnection

    async def make() -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        if listener:
            pc.addTransceiver("audio", direction="recvonly")
        else:
            pc.addTrack(ToneTrack(440))
            for _ in range(receive):
                pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    return asyncio.run(make())


@pytest.mark.parametrize("fanout", ["batched", "tasks"])
def test_a_listener_that_takes_nothing_for_a_while_is_disconnected(fanout):
    listener_offer = offer(listener=True)

    async def scenario() -> None:
        node = MediaNode(stalled_after=5.0, fanout=fanout)
        session_id, _ = await node.listen("space", "host", "fan", listener_offer)
        room = node.rooms["space"]
        for _ in range(20):  # the mix keeps sending; nothing reaches the unconnected listener
            room.mix.tick()
        track = node.sessions[session_id].track
        if fanout == "tasks":
            assert track.dropped > 0  # its queue filled: the oldest were dropped
        else:
            assert track.skipped > 0 and track.sent == 0  # no DTLS yet: skipped (silence: DTX sends few)
        assert await node.disconnect_stalled(time.monotonic()) == []
        assert await node.disconnect_stalled(time.monotonic() + 6) == [session_id]
        assert room.listeners() == 0
        await node.close()

    asyncio.run(scenario())


def test_each_receive_only_section_of_a_speaker_becomes_a_slot_for_another_speaker():
    first, second = offer(listener=False, receive=2), offer(listener=False, receive=2)
    assert offered_directions(first)[1:] == ["recvonly", "recvonly"]

    async def scenario() -> None:
        node = MediaNode()
        one, _ = await node.publish("space", "host", "a", first, audible=True)
        two, _ = await node.publish("space", "host", "b", second, audible=True)
        a, b = node.sessions[one], node.sessions[two]
        assert len(a.slots) == len(b.slots) == 2
        assert list(a.carrying.values()) == ["b"] and list(b.carrying.values()) == ["a"]
        await node.leave(two)
        assert a.carrying == {}
        await node.close()

    asyncio.run(scenario())


def test_an_offer_that_is_not_sdp_is_refused():
    async def scenario() -> None:
        node = MediaNode()
        with pytest.raises(BadOffer):
            await node.listen("space", "host", None, "hello")
        await node.close()

    asyncio.run(scenario())


def test_the_mix_says_who_is_talking_when_that_changes():
    import numpy as np

    from media.mix import SpaceMix
    from media.opus import FRAME, OpusEncoder

    tone = OpusEncoder()
    loud = [bytes(p) for i in range(30) for p in tone.encode(
        0.3 * np.sin(2 * np.pi * 440 * (np.arange(FRAME) + i * FRAME) / 48_000).astype(np.float32))]
    heard: list[list[str]] = []
    mix = SpaceMix()
    mix.on_talking = heard.append
    mix.audible = {"a"}
    for sequence, payload in enumerate(loud[:20]):
        mix.input_for("a").push(payload, 0, sequence)
        mix.input_for("b").push(payload, 0, sequence)  # b is not audible (muted): never talking
        mix.tick()
    assert heard[0] == ["a"]
    for _ in range(30):  # nothing more arrives: quiet
        mix.tick()
    assert heard[-1] == [] and len(heard) == 2


def test_rooms_live_only_while_they_have_sessions_and_are_bounded():
    listener_offer = offer(listener=True)

    async def scenario() -> None:
        node = MediaNode(max_rooms=2, max_sessions=3)
        mixes = []
        for i in range(20):  # refused offers open no room for good
            with pytest.raises(BadOffer):
                await node.listen(f"space-{i}", "host", None, "not sdp")
        assert node.rooms == {}
        one, _ = await node.listen("space", "host", "fan", listener_offer)
        two, _ = await node.listen("space", "host", "pal", listener_offer)
        mixes.append(node.rooms["space"].mix)
        await node.listen("other", "host", None, listener_offer)
        with pytest.raises(MediaFull):
            await node.listen("third", "host", None, listener_offer)
        await node.leave(one)
        assert "space" in node.rooms  # one listener is still there
        await node.leave(two)
        assert "space" not in node.rooms
        await asyncio.sleep(0)
        assert all(mix._task.done() for mix in mixes)  # its 50 Hz mix stopped
        await node.close()
        assert node.rooms == {} and node.sessions == {}

    asyncio.run(scenario())
