"""What each listener hears of the mix, as their RTCP receiver reports tell it: loss and
jitter per session, read every few seconds; the mix's encoder sizes its in-band FEC for
the listeners who lose most (the 90th percentile), since the encoder is shared."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from media.libopus import RATE

if TYPE_CHECKING:
    from media.node import MediaNode
    from media.session import Session

log = logging.getLogger(__name__)
WATCH_SECONDS = 2.0
BATCH = 25  # listeners read between two turns of the event loop
MOST_FEC_PERCENT = 30  # beyond this FEC spends the bit rate without saving more


@dataclass
class Reception:
    loss: float = 0.0  # fraction of packets lost since the listener's previous report
    lost: int = 0  # packets lost in all
    jitter: float = 0.0  # seconds


async def read_reception(session: Session) -> None:
    for sender in session.pc.getSenders():
        report = await sender.getStats()
        remote = next((s for s in report.values() if s.type == "remote-inbound-rtp"), None)
        if remote is not None:
            session.reception = Reception(remote.fractionLost / 256, remote.packetsLost,
                                          remote.jitter / RATE)


def fec_percent(sessions: list[Session]) -> int:
    losses = sorted(s.reception.loss for s in sessions)
    if not losses:
        return 0
    worst = losses[min(len(losses) - 1, int(0.9 * len(losses)))]
    return min(MOST_FEC_PERCENT, round(worst * 100))


async def watch(node: MediaNode) -> None:
    """Reads a few listeners at a time, with the event loop free in between: reading all of
    a big Space's at once would hold up the 20 ms mix clock for tens of milliseconds."""
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        for room in list(node.rooms.values()):
            listeners = [s for s in list(room.sessions.values()) if s.track is not None]
            for start in range(0, len(listeners), BATCH):
                for session in listeners[start:start + BATCH]:
                    try:
                        await read_reception(session)
                    except Exception:  # a connection closing meanwhile: read it next time
                        log.debug("reading a receiver report failed", exc_info=True)
                await asyncio.sleep(0)
            if room.upstream is None:
                room.mix.expect_loss(fec_percent(listeners))
