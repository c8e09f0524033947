"""The SDP offers of people who speak or listen: what they ask for, and whether they can be
answered at all."""

from __future__ import annotations

from application.ports import BadOffer

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


def check_offer(offer: str) -> None:
    """Refuses a body that is not an SDP offer with an audio section, before aiortc reads it."""
    if not offer.lstrip().startswith("v=0") or "m=audio" not in offer:
        raise BadOffer("The body must be an SDP offer (application/sdp) with an audio section.")


def offered_directions(sdp: str) -> list[str]:
    """The direction of each media section of an SDP, in order (sendrecv when unsaid)."""
    directions: list[str] = []
    for line in sdp.splitlines():
        attribute = line.strip()
        if line.startswith("m="):
            directions.append("sendrecv")
        elif directions and attribute.startswith("a=") and attribute[2:] in DIRECTIONS:
            directions[-1] = attribute[2:]
    return directions
