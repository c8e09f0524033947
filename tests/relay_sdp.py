"""Routing an aiortc peer connection through a LossyRelay by rewriting its SDP.

Both ends must know only the relay. The server's answer is rewritten so that its one host
candidate points at the relay (`through_relay`). The client's own candidates are taken out
of its offer (`hidden_offer`): the server then learns the client's address only from the ICE
checks that reach it, and those come from the relay's server-side socket, a peer-reflexive
candidate (RFC 8445 section 7.3.1.3) that aioice pairs and, as the controlled side, nominates
when the client's check says USE-CANDIDATE. Had the offer kept its host candidate, the
server's checks would reach the client directly, the client would learn the server's own
address as peer-reflexive too, and which path carries the media would be a race.

aioice notes (0.13, under aiortc 1.16.0): `a=end-of-candidates` must go too. With it and no
candidate, aioice prunes the component that has no remote candidate before the answerer
gathers, so the answer comes back with no candidate at all. Without it, the answerer keeps
waiting for candidates and pairs the peer-reflexive one when the first check arrives.
aiortc reads remote candidates only from `a=candidate` lines, never from `c=` or the `m=`
port; those are rewritten anyway (to the RFC 8840 placeholders in the offer, to the relay in
the answer) so that the SDP says what is true.
"""

from __future__ import annotations

from tests.impairment import Address
from tests.relay import LossyRelay

PLACEHOLDER = ("0.0.0.0", 9)  # "no candidate yet" (RFC 8840, trickle ICE)


def _lines(sdp: str) -> list[str]:
    return sdp.replace("\r\n", "\n").rstrip("\n").split("\n")


def _join(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def _at(line: str, address: Address) -> str:
    """An m= or c= line moved to another address (the other lines unchanged)."""
    words = line.split(" ")
    if line.startswith("m="):
        words[1] = str(address[1])
    elif line.startswith("c="):
        words[2] = address[0]
    return " ".join(words)


def candidate_address(line: str) -> tuple[int, str, Address]:
    """(component, transport, address) of an `a=candidate:` line."""
    words = line.split(" ")
    return int(words[1]), words[2].lower(), (words[4], int(words[5]))


def hidden_offer(offer: str) -> str:
    """The offer without the offerer's candidates, nor end-of-candidates, nor its address."""
    kept = [line for line in _lines(offer)
            if not line.startswith(("a=candidate:", "a=end-of-candidates"))]
    return _join([_at(line, PLACEHOLDER) if line.startswith(("m=", "c=")) else line for line in kept])


def server_address(answer: str) -> Address:
    """The address of the answer's first UDP candidate for RTP (component 1)."""
    for line in _lines(answer):
        if line.startswith("a=candidate:"):
            component, transport, address = candidate_address(line)
            if component == 1 and transport == "udp":
                return address
    raise ValueError("The answer has no UDP candidate for RTP")


def through_relay(answer: str, relay: LossyRelay) -> str:
    """The answer with its relayed candidate pointing at the relay, and every other candidate
    left out (else the client might reach the server directly)."""
    lines: list[str] = []
    for line in _lines(answer):
        if line.startswith("a=candidate:"):
            if candidate_address(line)[2] != relay.server:
                continue
            words = line.split(" ")
            words[4], words[5] = relay.address[0], str(relay.address[1])
            line = " ".join(words)
        elif line.startswith(("m=", "c=")):
            line = _at(line, relay.address)
        lines.append(line)
    return _join(lines)


async def relay_answer(answer: str, relay: LossyRelay) -> str:
    """Starts the relay toward the answer's server candidate; returns the answer the client is
    to use, which names the relay instead."""
    await relay.start(server_address(answer))
    return through_relay(answer, relay)
