"""Audio through a lossy network: aiortc peers reach `spaces serve` through a LossyRelay.

Loss is measured at the RTP level, by the relay's counters and by the peers' own RTP
statistics (sequence gaps, RTCP receiver reports), not by gaps in the decoded audio: aiortc's
audio jitter buffer holds everything back behind a lost packet until 16 later ones have come
and then discards to make room, so the audio exaggerates loss (at 10 % RTP loss a listener
here decoded 1.8 s of audio in 3.2 s). RTP statistics count from the first packet received, so a loss
before it is never seen; the seeds used here lose none of the first few packets (and 10 % of
their first 300: the rate is the same, checked on thousands of packets in tests/unit).
Each test ends the loss (`impair(loss=0)`) before it reads the statistics, so that none of
what was dropped is still to be noticed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from aiortc import RTCPeerConnection

from tests.peers import Player, ToneTrack, connect
from tests.relay import LossyRelay
from tests.support import Person, register

LOW = 440.0


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=60))


async def rtp_stats(pc: RTCPeerConnection, kind: str) -> dict[str, Any]:
    """One peer's inbound-rtp, outbound-rtp or remote-inbound-rtp statistics."""
    return next(s for s in (await pc.getStats()).values() if s.type == kind).__dict__


def end_loss(relay: LossyRelay, direction: str) -> float:
    """Stops the relay's loss; returns the share of RTP it dropped until then."""
    relay.impair(loss=0.0)
    return relay.counters[direction].loss("rtp")  # type: ignore[index]


def live_space(server) -> tuple[httpx.Client, Person, str]:
    """A launched Space whose host is on stage, unmuted."""
    http = server.start()
    host = register(http, "host")
    space = http.post("/v1/spaces", json={"title": "Lossy"}, headers=host.auth).json()["id"]
    base = f"/v1/spaces/{space}"
    http.post(f"{base}/launch", headers=host.auth)
    http.post(f"{base}/speakers/{host.id}/unmute", headers=host.auth)
    return http, host, base


def test_a_listener_behind_ten_percent_loss_hears_the_tone_and_misses_just_what_was_dropped(server):
    http, host, base = live_space(server)
    clean_fan, lossy_fan = register(http, "clean"), register(http, "lossy")
    clean = LossyRelay()
    lossy = LossyRelay(loss=0.1, direction="to_client", impaired="rtp", seed=19)

    async def scenario() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            host_pc, _, _ = await connect(web, f"{base}/audio/publish", host.token, ToneTrack(LOW))
            clean_pc, clean_ears, ok = await connect(web, f"{base}/audio/listen", clean_fan.token, relay=clean)
            lossy_pc, lossy_ears, also = await connect(web, f"{base}/audio/listen", lossy_fan.token, relay=lossy)
            assert ok.status_code == also.status_code == 201
            await asyncio.sleep(1.0)
            start = time.monotonic()
            await asyncio.sleep(3.0)
            metrics = (await web.get("/metrics")).text  # what the node makes of their reports
            loss = end_loss(lossy, "to_client")
            await asyncio.sleep(0.2)
            seen = {"loss": loss, "metrics": metrics, "clean": await rtp_stats(clean_pc, "inbound-rtp"),
                    "lossy": await rtp_stats(lossy_pc, "inbound-rtp"),
                    "clean_tone": clean_ears.dominant(start), "lossy_tone": lossy_ears.dominant(start),
                    "lossy_level": lossy_ears.level_at(LOW, start)}
            for pc in (host_pc, clean_pc, lossy_pc):
                await pc.close()
            return seen

    seen = run(scenario())
    assert abs(seen["clean_tone"] - LOW) < 10 and abs(seen["lossy_tone"] - LOW) < 10
    assert seen["lossy_level"] > 0.05
    for relay, stats in ((clean, seen["clean"]), (lossy, seen["lossy"])):
        down = relay.counters["to_client"]
        assert down.kinds["rtp"] > 150  # ~50 a second: all the media went through the relay
        assert down.kinds["stun"] and down.kinds["dtls"] and relay.counters["to_server"].kinds["stun"]
        assert abs(stats["packetsReceived"] - (down.kinds["rtp"] - down.dropped)) <= 3
        assert stats["packetsLost"] == down.dropped  # each gap the listener saw, the relay made
        assert relay.counters["to_server"].dropped == 0
    assert clean.counters["to_client"].dropped == 0
    assert 0.06 < seen["loss"] < 0.14
    # the node reads each listener's loss from their reports, and sizes the mix's FEC for it
    losses = sorted(float(line.rsplit(" ", 1)[1]) for line in seen["metrics"].splitlines()
                    if line.startswith("spaces_media_listener_loss_ratio{"))
    assert len(losses) == 2 and losses[0] < 0.03 and losses[1] > 0.03, losses
    fec = [line for line in seen["metrics"].splitlines() if line.startswith("spaces_media_fec_percent{")]
    assert len(fec) == 1 and float(fec[0].rsplit(" ", 1)[1]) > 3, fec
    assert 'outcome="received"' in seen["metrics"]  # the speaker's packets, counted


def test_a_speaker_behind_loss_is_heard_and_the_media_node_asks_for_what_was_lost(server):
    http, host, base = live_space(server)
    fan = register(http, "fan")
    # 5 % as the issue asks: at 10 % one resend in ten is lost again, and the mix's 1 % of
    # concealed frames is what chance gives (seed 29 loses none of the first packets either)
    relay = LossyRelay(loss=0.05, direction="to_server", impaired="rtp", seed=29)

    async def scenario() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            host_pc, _, published = await connect(web, f"{base}/audio/publish", host.token, ToneTrack(LOW),
                                                  relay=relay)
            assert published.status_code == 201
            fan_pc, ears, _ = await connect(web, f"{base}/audio/listen", fan.token)
            await asyncio.sleep(1.0)
            start = time.monotonic()
            await asyncio.sleep(3.0)
            loss = end_loss(relay, "to_server")
            await asyncio.sleep(2.0)  # aiortc sends a receiver report every 0.5–1.5 s
            mix = {line.split('outcome="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
                   for line in (await web.get("/metrics")).text.splitlines()
                   if line.startswith("spaces_media_speaker_packets{")}
            seen = {"loss": loss, "mix": mix, "report": await rtp_stats(host_pc, "remote-inbound-rtp"),
                    "sent": await rtp_stats(host_pc, "outbound-rtp"), "tone": ears.dominant(start)}
            for pc in (host_pc, fan_pc):
                await pc.close()
            return seen

    seen = run(scenario())
    up = relay.counters["to_server"]
    assert abs(seen["tone"] - LOW) < 10
    # the speaker's RTP all went via the relay, and the packets the node asked for again (NACK)
    resent = up.kinds["rtp"] - seen["sent"]["packetsSent"]
    assert 0.6 * up.dropped <= resent <= up.dropped + 3
    assert 0.02 < seen["loss"] < 0.09
    # the media node saw each gap and asked for it: what stays lost is the resends lost again
    assert seen["report"]["packetsLost"] <= 0.3 * up.dropped
    # and the mix concealed almost nothing of the speaker (FEC and resends made good the rest)
    assert seen["mix"]["concealed"] <= 0.01 * seen["mix"]["received"], seen["mix"]
    assert relay.counters["to_client"].kinds["rtcp"] > 0 and relay.counters["to_client"].dropped == 0


def test_at_ten_percent_loss_a_listener_conceals_almost_nothing_with_recovery(server):
    """Two listeners behind 10 % random loss in the same run: one makes good its losses
    (the mix's in-band FEC, NACKs the node answers from its history), the other does not."""
    http, host, base = live_space(server)
    fans = [register(http, name) for name in ("mended", "bare")]
    relays = [LossyRelay(loss=0.1, direction="to_client", impaired="rtp", seed=seed) for seed in (19, 23)]
    players = [Player(fec=True, nack=True), Player(fec=False, nack=False)]

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            host_pc, _, _ = await connect(web, f"{base}/audio/publish", host.token, ToneTrack(LOW))
            pcs = [host_pc]
            for fan, relay, player in zip(fans, relays, players):
                pc, _, answered = await connect(web, f"{base}/audio/listen", fan.token, relay=relay,
                                                player=player)
                assert answered.status_code == 201
                pcs.append(pc)
            await asyncio.sleep(6.0)  # the node reads their reports every 2 s and sizes the FEC
            for player in players:
                player.stop()
            for pc in pcs:
                await pc.close()

    run(scenario())
    mended, bare = players
    dropped = [relay.counters["to_client"].loss("rtp") for relay in relays]
    assert all(0.04 < d < 0.16 for d in dropped), dropped
    assert mended.played > 200 and bare.played > 200
    assert bare.concealed > 0.03, bare.playout.stats
    assert mended.concealed <= 0.005, (mended.playout.stats, mended.played)
    print(f"\nconcealed at 10 % loss: {mended.concealed:.2%} with recovery, "
          f"{bare.concealed:.2%} without")


def test_a_listener_that_offers_red_gets_each_packet_with_the_two_before_it(server):
    """A listener offering RED (as Chromium does) behind 10 % loss, with neither FEC nor
    NACK: the RED blocks alone fill its gaps."""
    http, host, base = live_space(server)
    fan = register(http, "red")
    relay = LossyRelay(loss=0.1, direction="to_client", impaired="rtp", seed=19)
    player = Player(fec=False, nack=False, red=True)

    async def scenario() -> str:
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
            host_pc, _, _ = await connect(web, f"{base}/audio/publish", host.token, ToneTrack(LOW))
            pc, _, answered = await connect(web, f"{base}/audio/listen", fan.token, relay=relay,
                                            player=player, red=True)
            assert answered.status_code == 201
            await asyncio.sleep(5.0)
            player.stop()
            for peer in (host_pc, pc):
                await peer.close()
            return answered.text

    answer = run(scenario())
    assert "red/48000/2" in answer  # the node kept the offer's RED
    assert 0.05 < relay.counters["to_client"].loss("rtp") < 0.16
    stats = player.playout.stats
    assert stats.redundant > 10 and player.played > 200, stats
    assert player.concealed <= 0.005, (stats, player.played)
