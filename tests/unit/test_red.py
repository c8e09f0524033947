"""RFC 2198 payloads: what is wrapped unwraps the same; what cannot be described is left out."""

from __future__ import annotations

import pytest

from media.red import BadRed, unwrap, wrap


def test_redundant_blocks_and_the_primary_come_back_in_order():
    payload = wrap(111, b"now", [(1920, b"two ago"), (960, b"one ago")])
    assert unwrap(payload) == [(1920, 111, b"two ago"), (960, 111, b"one ago"), (0, 111, b"now")]
    assert payload[:1] == bytes([0x80 | 111]) and len(payload) == 4 + 4 + 1 + 7 + 7 + 3


def test_without_earlier_frames_it_is_one_byte_and_the_primary():
    assert wrap(111, b"opus", []) == bytes([111]) + b"opus"
    assert unwrap(bytes([111]) + b"opus") == [(0, 111, b"opus")]


def test_blocks_too_far_back_or_too_long_are_left_out():
    payload = wrap(111, b"p", [(20_000, b"old"), (960, b"x" * 2000), (960, b"ok")])
    assert unwrap(payload) == [(960, 111, b"ok"), (0, 111, b"p")]


@pytest.mark.parametrize("garbage", [b"", b"\xef", b"\xef\x00\x3c", b"\xef\x00\x3c\x0a\x6f" + b"short"])
def test_a_malformed_payload_is_refused(garbage):
    with pytest.raises(BadRed):
        unwrap(garbage)
