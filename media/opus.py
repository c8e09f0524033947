"""The mix's Opus encoder: mono voice, in-band FEC sized by the loss listeners report, and
DTX, through libopus (media/libopus.py); its packets are ready for aiortc's senders."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from media.libopus import DTX_PACKET, FRAME, RATE, Encoder

TIME_BASE = Fraction(1, RATE)
DTX_KEEPALIVE = 20  # in a silence, one packet in this many still goes (400 ms, as WebRTC's DTX)

__all__ = ["FRAME", "RATE", "TIME_BASE", "OpusEncoder"]


class OpusEncoder:
    """Encodes 20 ms of mono samples into Opus packets; in a silence (DTX) it gives almost
    none, so a quiet Space costs listeners and the node next to nothing."""

    def __init__(self, bitrate: int = 32_000, fec: bool = True, dtx: bool = True) -> None:
        self._encoder = Encoder(bitrate, fec=fec, dtx=dtx)
        self._pts = 0
        self._quiet = 0  # silent frames in a row

    @property
    def loss_percent(self) -> int:
        return self._encoder.loss_percent

    def expect_loss(self, percent: int) -> None:
        self._encoder.expect_loss(percent)

    def encode(self, samples: np.ndarray) -> list[av.Packet]:
        payload = self._encoder.encode(samples)
        pts, self._pts = self._pts, self._pts + FRAME
        if len(payload) <= DTX_PACKET:
            self._quiet += 1
            if self._quiet % DTX_KEEPALIVE != 1:
                return []
        else:
            self._quiet = 0
        packet = av.Packet(payload)
        packet.pts, packet.time_base = pts, TIME_BASE
        return [packet]
