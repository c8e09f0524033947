"""The lossy relay on plain UDP: a fake client and a fake server on 127.0.0.1 send numbered
datagrams through it, and what arrives is compared with the settings and the counters."""

from __future__ import annotations

import asyncio
import statistics
import struct
import time

import pytest

from tests.impairment import Fate, Impairment, kind_of
from tests.relay import LossyRelay

STUN = b"\x00\x01\x00\x00" + b"\x21\x12\xa4\x42" + bytes(12)
DTLS = b"\x16\xfe\xfd" + bytes(10)


def rtp(seq: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 111, seq & 0xFFFF, seq * 960, 1234) + bytes(80)


def rtcp(seq: int) -> bytes:
    return struct.pack("!BBHII", 0x81, 201, 7, 1234, seq)


def number(datagram: bytes) -> int:
    return struct.unpack("!H", datagram[2:4])[0] if kind_of(datagram) == "rtp" else -1


class Peer(asyncio.DatagramProtocol):
    """One end: what it received, with arrival times, and where from."""

    def __init__(self) -> None:
        self.got: list[tuple[float, bytes]] = []
        self.source: tuple[str, int] | None = None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.got.append((time.monotonic(), data))
        self.source = addr

    def numbers(self) -> list[int]:
        return [number(d) for _, d in self.got]


class Ends:
    """A client and a server with a relay between them."""

    def __init__(self, relay: LossyRelay) -> None:
        self.relay = relay

    async def __aenter__(self) -> Ends:
        loop = asyncio.get_running_loop()
        self.server_transport, self.server = await loop.create_datagram_endpoint(Peer, local_addr=("127.0.0.1", 0))
        self.client_transport, self.client = await loop.create_datagram_endpoint(Peer, local_addr=("127.0.0.1", 0))
        await self.relay.start(self.server_transport.get_extra_info("sockname"))
        return self

    async def __aexit__(self, *_: object) -> None:
        self.relay.close()
        self.server_transport.close()
        self.client_transport.close()

    async def up(self, datagrams: list[bytes], spacing: float = 0.0) -> None:
        """Client → server, a few at a time so that no socket buffer overflows."""
        await self._send(self.client_transport, self.relay.address, datagrams, spacing)

    async def down(self, datagrams: list[bytes], spacing: float = 0.0) -> None:
        """Server → client, through the relay's server-side socket (the client must have sent first)."""
        await self._send(self.server_transport, self.relay.server_side, datagrams, spacing)

    async def _send(self, transport, to, datagrams: list[bytes], spacing: float) -> None:
        for i, datagram in enumerate(datagrams):
            transport.sendto(datagram, to)
            if spacing:
                await asyncio.sleep(spacing)
            elif i % 20 == 19:
                await asyncio.sleep(0.002)

    async def settle(self) -> None:
        """Until the relay holds nothing back, and what it sent has arrived."""
        await asyncio.sleep(0.02)
        while self.relay.held:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=30))


def through(n: int, seed: int = 1, spacing: float = 0.0, **settings) -> tuple[list[int], LossyRelay]:
    """Sends n RTP packets client → server; the numbers that arrived, in order, and the relay."""

    async def scenario() -> tuple[list[int], LossyRelay]:
        async with Ends(LossyRelay(seed=seed, **settings)) as ends:
            await ends.up([rtp(i) for i in range(n)], spacing)
            await ends.settle()
            return ends.server.numbers(), ends.relay

    return run(scenario())


def test_datagrams_are_told_apart_by_their_first_bytes():
    assert [kind_of(d) for d in (STUN, DTLS, rtp(1), rtcp(1), b"\xff", b"")] == \
        ["stun", "dtls", "rtp", "rtcp", "other", "other"]


def test_without_impairment_everything_arrives_in_order_and_is_counted():
    got, relay = through(500)
    assert got == list(range(500))
    up = relay.counters["to_server"]
    assert (up.seen, up.impaired, up.dropped, up.delayed, up.sent) == (500, 500, 0, 0, 500)
    assert up.kinds == {"rtp": 500} and relay.counters["to_client"].seen == 0


def test_random_loss_drops_its_share_and_a_seed_repeats_the_same_packets():
    got, relay = through(3000, loss=0.1)
    up = relay.counters["to_server"]
    assert up.seen == 3000  # nothing lost before the relay: what is missing, the relay dropped
    assert up.dropped == 3000 - len(got) == up.dropped_kinds["rtp"]
    assert 0.07 < up.loss("rtp") < 0.13  # 3000 packets: σ = 0.55 %; the model's rate is tested below
    assert through(3000, loss=0.1)[0] == got
    assert through(3000, seed=2, loss=0.1)[0] != got


def test_the_loss_model_loses_at_its_rate_whatever_the_seed():
    for seed in range(5):
        fate = Fate(seed, "to_client")
        assert abs(sum(fate.lost(Impairment(loss=0.1)) for _ in range(40_000)) / 40_000 - 0.1) < 0.008  # 5 σ


def lost_runs(got: list[int], n: int) -> list[int]:
    """The lengths of the runs of consecutive lost packets."""
    received, runs, run_length = set(got), [], 0
    for i in range(n):
        if i in received:
            if run_length:
                runs.append(run_length)
            run_length = 0
        else:
            run_length += 1
    return runs + ([run_length] if run_length else [])


def test_gilbert_elliott_loss_comes_in_bursts_of_the_expected_length():
    # p = 0.05 into the bad state, r = 0.25 out of it: bad 0.05 / 0.3 = 1/6 of the time,
    # for 1 / 0.25 = 4 packets on average, all lost there; none lost in the good state
    bursty = Impairment(burst_enter=0.05, burst_exit=0.25, burst_loss=1.0)
    fate, n = Fate(1, "to_server"), 100_000
    kept = [i for i in range(n) if not fate.lost(bursty)]
    runs = lost_runs(kept, n)
    assert abs(1 - len(kept) / n - 1 / 6) < 0.01
    assert abs(statistics.mean(runs) - 4) < 0.2
    # the same share lost at random comes in runs of about 1 / (1 - 1/6) = 1.2
    fate = Fate(1, "to_server")
    random_runs = lost_runs([i for i in range(n) if not fate.lost(Impairment(loss=1 / 6))], n)
    assert abs(statistics.mean(random_runs) - 1.2) < 0.05
    # and the relay applies the model
    got, relay = through(2000, burst_enter=0.05, burst_exit=0.25)
    assert 0.1 < relay.counters["to_server"].loss() < 0.24 and 2.5 < statistics.mean(lost_runs(got, 2000)) < 6


def test_delay_and_jitter_hold_each_packet_for_delay_plus_up_to_jitter():
    async def scenario() -> tuple[list[float], LossyRelay]:
        async with Ends(LossyRelay(delay=0.05, jitter=0.03)) as ends:
            sent = {}
            for i in range(60):
                sent[i] = time.monotonic()
                await ends.up([rtp(i)])
                await asyncio.sleep(0.004)
            await ends.settle()
            return [t - sent[number(d)] for t, d in ends.server.got], ends.relay

    latencies, relay = run(scenario())
    assert len(latencies) == 60 and relay.counters["to_server"].delayed == 60
    assert min(latencies) >= 0.05 - 0.002  # never sooner than the fixed delay
    assert max(latencies) < 0.05 + 0.03 + 1.0  # generous: a busy machine runs timers late
    assert max(latencies) - min(latencies) > 0.01  # jitter spreads them


def test_jitter_wider_than_the_spacing_reorders_packets_without_losing_any():
    got, relay = through(100, spacing=0.003, jitter=0.03)
    assert sorted(got) == list(range(100)) and got != sorted(got)
    assert relay.counters["to_server"].reordered == 0  # reordering by jitter alone


def test_an_explicit_reorder_probability_holds_that_share_back_behind_later_packets():
    got, relay = through(200, spacing=0.003, reorder=0.2, reorder_delay=0.03)
    up = relay.counters["to_server"]
    assert sorted(got) == list(range(200))
    assert 20 <= up.reordered <= 60 and up.delayed == up.reordered
    late = sum(1 for i, seq in enumerate(got) if i and seq < max(got[:i]))
    assert late >= up.reordered // 2  # most held packets arrive after a later one


def test_direction_limits_the_impairment_to_one_way():
    async def scenario() -> Ends:
        async with Ends(LossyRelay(loss=1.0, direction="to_client")) as ends:
            await ends.up([rtp(i) for i in range(50)])
            await ends.settle()
            await ends.down([rtp(i) for i in range(50)])
            await ends.settle()
            return ends

    ends = run(scenario())
    assert ends.server.numbers() == list(range(50)) and ends.client.got == []
    assert ends.relay.counters["to_server"].dropped == 0 and ends.relay.counters["to_client"].dropped == 50
    assert ends.relay.counters["to_client"].kinds["rtp"] == 50


@pytest.mark.parametrize(("impaired", "arriving"), [
    ("media", ["dtls", "stun"]), ("rtp", ["dtls", "rtcp", "stun"]), ("all", []),
])
def test_only_the_impaired_kinds_are_touched_so_ice_and_dtls_can_succeed(impaired, arriving):
    async def scenario() -> Ends:
        async with Ends(LossyRelay(loss=1.0, delay=0.01, impaired=impaired)) as ends:
            await ends.up([STUN, DTLS, rtp(1), rtcp(1)] * 10)
            await ends.settle()
            await ends.down([STUN, DTLS, rtp(2), rtcp(2)] * 10)
            await ends.settle()
            return ends

    ends = run(scenario())
    for side, direction in ((ends.server, "to_server"), (ends.client, "to_client")):
        assert sorted({kind_of(d) for _, d in side.got}) == arriving
        counters = ends.relay.counters[direction]
        assert counters.seen == 40 and counters.dropped == 40 - 10 * len(arriving) == counters.impaired
        assert counters.delayed == 0  # what is not impaired goes on at once


def test_impair_changes_the_settings_while_it_runs():
    async def scenario() -> list[int]:
        async with Ends(LossyRelay()) as ends:
            await ends.up([rtp(i) for i in range(100)])
            await ends.settle()
            ends.relay.impair(loss=1.0)
            await ends.up([rtp(i) for i in range(100, 200)])
            await ends.settle()
            ends.relay.impair(loss=0.0, direction="to_client")
            await ends.up([rtp(i) for i in range(200, 300)])
            await ends.settle()
            assert ends.relay.settings == Impairment(direction="to_client")
            return ends.server.numbers()

    assert run(scenario()) == [*range(100), *range(200, 300)]


def test_settings_that_make_no_sense_are_refused():
    with pytest.raises(ValueError, match="probability"):
        LossyRelay(loss=1.5)
    with pytest.raises(ValueError, match="direction"):
        Impairment(direction="sideways")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        LossyRelay().impair(lossiness=0.1)


def test_the_relay_answers_only_the_server_and_closes_with_nothing_left_pending():
    async def scenario() -> Ends:
        async with Ends(LossyRelay(delay=0.5)) as ends:
            await ends.up([rtp(1)])
            loop = asyncio.get_running_loop()
            stranger, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
            await asyncio.sleep(0.6)
            stranger.sendto(rtp(9), ends.relay.server_side)  # not the server: ignored
            await ends.up([rtp(2)])
            ends.relay.close()  # rtp(2) was still held
            await asyncio.sleep(0.6)
            stranger.close()
            return ends

    ends = run(scenario())
    assert ends.server.numbers() == [1] and ends.client.got == []
    assert ends.relay.counters["to_client"].seen == 0
