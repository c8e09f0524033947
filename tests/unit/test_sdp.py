"""Reading and checking SDP offers, without aiortc."""

from __future__ import annotations

import pytest

from media.sdp import BadOffer, check_offer, offered_directions

SPEAKER_WITH_TWO_SLOTS = "\r\n".join([
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=recvonly",  # a session-level direction belongs to no media section
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "a=mid:0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "a=mid:1",
    " a=recvonly ",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "a=recvonly",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "a=inactive",
    "a=sendonly",  # the last word counts
    "",
])


def test_each_media_section_has_its_direction_in_order_and_sendrecv_when_unsaid():
    assert offered_directions(SPEAKER_WITH_TWO_SLOTS) == ["sendrecv", "recvonly", "recvonly", "sendonly"]


def test_lines_that_are_not_directions_are_ignored():
    assert offered_directions("v=0\nm=audio 9 RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=recv\n") == ["sendrecv"]
    assert offered_directions("not sdp") == []


def test_an_sdp_offer_with_audio_may_be_answered():
    check_offer(SPEAKER_WITH_TWO_SLOTS)
    check_offer("\r\n  " + SPEAKER_WITH_TWO_SLOTS)  # leading whitespace is no matter


@pytest.mark.parametrize("body", ["", "hello", "m=audio 9 RTP/AVP 0\nv=0\n",
                                  "v=0\r\nm=video 9 RTP/AVP 96\r\n"])
def test_what_is_not_an_sdp_offer_with_audio_is_refused(body):
    with pytest.raises(BadOffer, match="audio section"):
        check_offer(body)


def test_a_bad_offer_is_a_value_error():
    assert issubclass(BadOffer, ValueError)
