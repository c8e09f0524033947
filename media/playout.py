"""A speaker's packets in sequence order, one 20 ms frame per tick of the mix, with the
losses made good as well as the stream allows: a packet that is missing when its turn
comes is rebuilt from the next packet's in-band FEC (Opus LBRR) if that one is here,
else concealed by the decoder (PLC). A retransmission (the node NACKs gaps, see
media/rtp_tap.py) fills its place if it comes before its turn.

The buffer starts playing once it holds `hold` packets beyond the first, so that the next
packet, and with it the FEC of a lost one, is usually at hand; it never holds more than
`longest` (then the oldest go: latency must not creep), and sheds a frame when it has
been deeper than the hold for a second.

A packet that comes after its turn (a retransmission too slow, or jitter) says the hold is
too short for this speaker's path: it grows by one frame (up to `longest` - 2), and the
buffer deepens at the next missing turn it cannot rebuild, which it conceals without moving
on, so that the packet may still come. After ten seconds with nothing late the hold comes
back down a frame (and the buffer sheds one a second later).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from media.libopus import Decoder

IDLE_TICKS = 5  # nothing came for this long: the speaker paused; start again with a hold
SHRINK_AFTER = 50  # ticks (1 s) deeper than the hold before the buffer sheds a frame
RELAX_AFTER = 500  # ticks (10 s) with nothing late before a raised hold comes down a frame


@dataclass
class PlayoutStats:
    received: int = 0
    recovered: int = 0  # rebuilt from the next packet's FEC
    concealed: int = 0  # made up by the decoder
    late: int = 0  # came after their turn (or twice)
    dropped: int = 0  # the buffer overflowed
    redundant: int = 0  # gaps filled from RED blocks


class Playout:
    def __init__(self, hold: int = 1, longest: int = 4, fec: bool = True) -> None:
        self.hold, self.longest = hold, longest
        self.shortest, self.deepest = hold, max(hold, longest - 2)  # where the hold may go
        self.calm = 0  # ticks since a packet last came after its turn
        self.fec = fec  # rebuild a lost frame from the next packet (else conceal it)
        self.decoder = Decoder()
        self.packets: dict[int, bytes] = {}  # extended sequence number -> Opus payload
        self.next: int | None = None  # the extended sequence number whose turn is next
        self.highest: int | None = None
        self.playing = False
        self.idle = 0  # ticks since the buffer last had a packet to play
        self.deep = 0  # ticks in a row it held more than `hold` packets beyond this turn
        self.stats = PlayoutStats()

    def push(self, payload: bytes, sequence: int, redundant: bool = False) -> None:
        """A packet, or (`redundant`) a RED block carrying an earlier one again: that
        only fills a gap, and counts as `redundant` when it does."""
        extended = self._extend(sequence)
        after_its_turn = self.playing and self.next is not None and extended < self.next
        if after_its_turn or extended in self.packets:
            if not redundant:
                self.stats.late += 1
                if after_its_turn:
                    self.hold, self.calm = min(self.hold + 1, self.deepest), 0
            return
        if redundant:
            if self.highest is None or extended > self.highest:
                return  # a block from before anything came: not a gap
            self.stats.redundant += 1
        else:
            self.stats.received += 1
        self.packets[extended] = payload
        if self.highest is None or extended > self.highest:
            self.highest = extended
        if self.next is None or extended < self.next:  # not playing yet: an earlier start
            self.next = extended
        while self.highest - self.next >= self.longest:  # too far behind: drop the oldest
            if self.packets.pop(self.next, None) is not None:
                self.stats.dropped += 1
            self.next += 1

    def frame(self) -> np.ndarray | None:
        """This tick's frame of the speaker (None: nothing to play, the speaker is silent)."""
        if self.next is None or self.highest is None:
            return None
        if not self.playing:
            if self.highest - self.next < self.hold:
                return None
            self.playing = True
        if self.next > self.highest:  # nothing here yet for this turn
            self.idle += 1
            if self.idle >= IDLE_TICKS:
                self.playing, self.idle = False, 0
                return None
            self.stats.concealed += 1
            return self.decoder.conceal()
        self.idle = 0
        self.calm += 1
        if self.calm >= RELAX_AFTER and self.hold > self.shortest:
            self.hold, self.calm = self.hold - 1, 0
        # Deeper than the hold for a while (a burst of late packets came at once): one
        # frame goes, so the delay a network hiccup added does not stay for good.
        self.deep = self.deep + 1 if self.highest - self.next > self.hold else 0
        if self.deep >= SHRINK_AFTER:
            self.deep = 0
            if self.packets.pop(self.next, None) is not None:
                self.stats.dropped += 1
            self.next += 1
        turn = self.next
        payload = self.packets.pop(turn, None)
        following = self.packets.get(turn + 1) if self.fec and payload is None else None
        if payload is None and following is None and self.highest - turn < self.hold:
            self.stats.concealed += 1  # the buffer deepens: this turn's packet may yet come
            return self.decoder.conceal()
        self.next = turn + 1
        if payload is not None:
            return self.decoder.decode(payload)
        if following is not None:
            self.stats.recovered += 1
            return self.decoder.recover(following)
        self.stats.concealed += 1
        return self.decoder.conceal()

    def _extend(self, sequence: int) -> int:
        """The 16-bit RTP sequence number, unwrapped near the highest one seen."""
        if self.highest is None:
            return sequence
        delta = (sequence - self.highest) & 0xFFFF
        return self.highest + delta if delta < 0x8000 else self.highest - (0x10000 - delta)
