"""RFC 2198 redundant audio ("red/48000/2", which Chromium offers for Opus): each packet
carries the previous frames again besides its own, so a listener who lost one packet (or
two in a row) still has them, with no round trip and at full quality.

A RED payload: for each redundant block a 4-byte header (F=1, the block's payload type,
its timestamp offset back from the packet's, its length), a 1-byte header for the primary
(F=0, its payload type), then the redundant blocks' data, oldest first, then the primary.
"""

from __future__ import annotations

import struct

MAX_OFFSET = (1 << 14) - 1  # timestamp offsets are 14 bits
MAX_LENGTH = (1 << 10) - 1  # block lengths are 10 bits


class BadRed(ValueError):
    pass


def wrap(payload_type: int, primary: bytes, earlier: list[tuple[int, bytes]]) -> bytes:
    """`earlier`: (timestamp offset back from this packet, Opus payload), oldest first;
    blocks too far back or too long to describe are left out."""
    kept = [(offset, data) for offset, data in earlier
            if 0 < offset <= MAX_OFFSET and len(data) <= MAX_LENGTH]
    headers = b"".join(struct.pack("!BHB", 0x80 | payload_type, (offset << 2) | (len(data) >> 8),
                                   len(data) & 0xFF) for offset, data in kept)
    return headers + bytes([payload_type]) + b"".join(data for _, data in kept) + primary


def unwrap(payload: bytes) -> list[tuple[int, int, bytes]]:
    """(timestamp offset back, payload type, data) for each block, oldest first, the primary
    last (offset 0)."""
    heads: list[tuple[int, int, int]] = []
    at = 0
    while True:
        if at >= len(payload):
            raise BadRed("a RED payload ends inside its headers")
        first = payload[at]
        if not first & 0x80:
            primary_type = first & 0x7F
            at += 1
            break
        if at + 4 > len(payload):
            raise BadRed("a RED block header is cut short")
        offset_and_length = int.from_bytes(payload[at + 1:at + 4], "big")
        heads.append((offset_and_length >> 10, first & 0x7F, offset_and_length & 0x3FF))
        at += 4
    blocks = []
    for offset, block_type, length in heads:
        if at + length > len(payload):
            raise BadRed("a RED block is longer than the payload")
        blocks.append((offset, block_type, payload[at:at + length]))
        at += length
    blocks.append((0, primary_type, payload[at:]))
    return blocks
