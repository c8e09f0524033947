"""What a lossy network does to datagrams: the settings, the chances and the counts that
tests/relay.py applies.

Datagrams are told apart by their first byte (RFC 7983): STUN 0–3, DTLS 20–63, RTP and RTCP
128–191 (RTCP when the second byte is 192–223, RFC 5761). By default only media is impaired,
so ICE and DTLS still succeed.

Loss follows a Gilbert–Elliott model: `loss` in the good state, `burst_loss` in the bad one,
`burst_enter` and `burst_exit` the chances per packet of going bad and of recovering (mean
burst 1 / burst_exit packets). With `burst_enter=0` it is plain random loss. Each packet
that survives is held `delay` plus a uniform draw from [0, `jitter`] seconds (jitter wider
than the packet spacing reorders), plus `reorder_delay` with probability `reorder`. Each
direction draws from its own seeded generators, so the n-th impaired packet of a direction
meets the same fate on every run with the same seed and settings.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

Address = tuple[str, int]
Direction = Literal["to_server", "to_client"]
DIRECTIONS: tuple[Direction, ...] = ("to_server", "to_client")
IMPAIRED_KINDS = {"media": {"rtp", "rtcp"}, "rtp": {"rtp"}, "all": {"stun", "dtls", "rtp", "rtcp", "other"}}


def kind_of(datagram: bytes) -> str:
    """stun, dtls, rtp, rtcp or other, by the demultiplexing rules of RFC 7983."""
    first = datagram[0] if datagram else 255
    if first <= 3:
        return "stun"
    if 20 <= first <= 63:
        return "dtls"
    if 128 <= first <= 191:
        return "rtcp" if len(datagram) > 1 and 192 <= datagram[1] <= 223 else "rtp"
    return "other"


@dataclass(frozen=True)
class Impairment:
    """What a relay does to the datagrams it impairs (see the module's docstring)."""

    loss: float = 0.0
    burst_enter: float = 0.0
    burst_exit: float = 1.0
    burst_loss: float = 1.0
    delay: float = 0.0
    jitter: float = 0.0
    reorder: float = 0.0
    reorder_delay: float = 0.05
    direction: Literal["to_server", "to_client", "both"] = "both"
    impaired: Literal["media", "rtp", "all"] = "media"

    def __post_init__(self) -> None:
        for name in ("loss", "burst_enter", "burst_exit", "burst_loss", "reorder"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a probability, from 0 to 1")
        if min(self.delay, self.jitter, self.reorder_delay) < 0:
            raise ValueError("delay, jitter and reorder_delay are seconds, not negative")
        if self.direction not in (*DIRECTIONS, "both") or self.impaired not in IMPAIRED_KINDS:
            raise ValueError("direction is to_server, to_client or both; impaired is media, rtp or all")

    def affects(self, direction: Direction, kind: str) -> bool:
        return self.direction in (direction, "both") and kind in IMPAIRED_KINDS[self.impaired]


@dataclass
class Counters:
    """What one direction of the relay has seen and done."""

    seen: int = 0  # datagrams that arrived
    impaired: int = 0  # of them, those the settings applied to
    dropped: int = 0
    delayed: int = 0  # held back before being sent on
    reordered: int = 0  # held back the extra reorder_delay
    sent: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # seen, by kind
    dropped_kinds: Counter[str] = field(default_factory=Counter)

    def loss(self, kind: str = "rtp") -> float:
        """The share of the datagrams of one kind that were dropped."""
        return self.dropped_kinds[kind] / self.kinds[kind] if self.kinds[kind] else 0.0


class Fate:
    """One direction's chances: its seeded generators and its Gilbert–Elliott state."""

    def __init__(self, seed: int | None, direction: Direction) -> None:
        def generator(use: str) -> random.Random:
            return random.Random() if seed is None else random.Random(f"{seed}/{direction}/{use}")

        self.losing, self.timing = generator("loss"), generator("time")
        self.bad = False

    def lost(self, s: Impairment) -> bool:
        turn, draw = self.losing.random(), self.losing.random()  # two draws, whatever the settings
        self.bad = turn >= s.burst_exit if self.bad else turn < s.burst_enter
        return draw < (s.burst_loss if self.bad else s.loss)

    def hold(self, s: Impairment) -> tuple[float, bool]:
        spread, shuffle = self.timing.random(), self.timing.random()
        reordered = shuffle < s.reorder
        return s.delay + spread * s.jitter + (s.reorder_delay if reordered else 0.0), reordered
