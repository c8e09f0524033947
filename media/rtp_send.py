"""Sending a listener's RTP ourselves, beside aiortc's RTCRtpSender.

Why: aiortc gives every sender its own task that awaits its track, builds an `RtpPacket`
(with an NTP clock reading), serializes it and sends it through three coroutine layers
(DTLS, ICE, the datagram transport): ~40–50 µs of CPU per listener per 20 ms packet
measured on loopback, of which SRTP and the `sendto` itself are about a quarter; the rest
is Python and event-loop overhead. The fan-out (media/fanout.py) does only that real work,
for every listener of a Space in one loop.

What stays aiortc's: ICE (and its consent checks), DTLS and the SRTP keys, signalling, the
sender's RTCP task (sender reports, built from the counters kept up to date here) and the
routing of the listener's receiver reports to the sender (round-trip time, loss stats).

How: the listener's sender gets a `ParkedTrack`, whose `recv` waits until the track ends,
so aiortc's `_run_rtp` task sends nothing and costs nothing; `claim` notes the parameters
aiortc starts the sender with (public `send`); `SendPath` then reads what sending needs
from aiortc's and aioice's private attributes. Private names of aiortc 1.16.0 (and the
aioice it brings): tests/unit/test_fanout.py fails if they change.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiortc import MediaStreamTrack, RTCRtpSender
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcrtpparameters import RTCRtpSendParameters

from media.codecs import red_for

AIORTC_VERSION = "1.16.0"  # the version whose private names this module uses
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
OPUS = "audio/opus"

# RTCRtpSender's counters behind its RTCP sender reports (name-mangled attributes).
PACKETS = "_RTCRtpSender__packet_count"
OCTETS = "_RTCRtpSender__octet_count"
RTP_TIME = "_RTCRtpSender__rtp_timestamp"
NTP_TIME = "_RTCRtpSender__ntp_timestamp"
# RTCDtlsTransport's counters behind its "transport" stats.
TX_PACKETS = "_RTCDtlsTransport__tx_packets"
TX_BYTES = "_RTCDtlsTransport__tx_bytes"


class ParkedTrack(MediaStreamTrack):
    """A track whose sender waits for it until it ends: aiortc's RTP task stays parked on
    `recv` (no wakeups, no packets), and ends cleanly with the track or the sender."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._ended = asyncio.Event()

    def end(self) -> None:
        self._ended.set()

    async def recv(self) -> Any:
        await self._ended.wait()
        self.stop()
        raise MediaStreamError


@dataclass
class Claim:
    """A sender whose RTP we send: the parameters aiortc started it with, once it has."""

    sender: RTCRtpSender
    parameters: RTCRtpSendParameters | None = None


def claim(sender: RTCRtpSender) -> Claim:
    """Call before the connection starts the sender (right after `addTrack`). aiortc calls
    `sender.send(parameters)` once DTLS is connected; the parameters name the negotiated
    payload type and header extensions."""
    noted = Claim(sender)
    original = sender.send

    async def send(parameters: RTCRtpSendParameters) -> None:
        noted.parameters = parameters
        await original(parameters)

    sender.send = send  # type: ignore[method-assign]
    return noted


def mid_extension(parameters: RTCRtpSendParameters) -> bytes:
    """The RFC 8285 one-byte header extension block carrying the mid, as aiortc's sender
    writes it (browsers demultiplex BUNDLE by it), or b"" where it was not negotiated."""
    ids = [e.id for e in parameters.headerExtensions if e.uri == MID_URI]
    mid = (parameters.muxId or "").encode()
    if not ids or not mid or not 0 < ids[0] < 15 or len(mid) > 16:
        return b""
    element = bytes([(ids[0] << 4) | (len(mid) - 1)]) + mid
    element += b"\x00" * (-len(element) % 4)
    return b"\xbe\xde" + (len(element) // 4).to_bytes(2, "big") + element


@dataclass
class SendPath:
    """What one listener's packets need, taken from its connection once it is up."""

    ssrc: int
    payload_type: int  # Opus, as negotiated
    red_type: int | None  # RED carrying that Opus, when the listener offered it
    extension: bytes  # header extension block (the mid), or b""
    dtls: RTCDtlsTransport
    srtp: Any  # pylibsrtp.Session: the transport's outbound SRTP context
    nominated: dict[int, Any]  # aioice's selected candidate pairs, by component (1: RTP)
    sender_counters: dict[str, Any] = field(repr=False)  # the sender's attributes
    dtls_counters: dict[str, Any] = field(repr=False)

    def connected(self) -> bool:
        return self.dtls._state is State.CONNECTED

    def endpoint(self) -> Any:
        """aioice's selected pair for RTP (`.protocol.transport`, `.remote_addr`), or None
        once the connection has closed."""
        return self.nominated.get(1)

    def count(self, ntp: int, rtp_timestamp: int, octets: int, sent_bytes: int) -> None:
        """Keeps the sender's report counters (and the transport's stats) as aiortc's own
        RTP task would, so that its RTCP sender reports describe what was sent."""
        s = self.sender_counters
        s[NTP_TIME] = ntp
        s[RTP_TIME] = rtp_timestamp
        s[OCTETS] += octets
        s[PACKETS] += 1
        d = self.dtls_counters
        d[TX_BYTES] += sent_bytes
        d[TX_PACKETS] += 1


class NotOpus(Exception):
    """The listener negotiated another codec first: the mix is Opus only."""


def send_path(noted: Claim) -> SendPath | None:
    """The listener's send path once aiortc has started its sender (DTLS is connected by
    then), or None until then."""
    parameters = noted.parameters
    if parameters is None:
        return None
    codec = parameters.codecs[0]
    if codec.mimeType.lower() != OPUS or codec.payloadType is None:
        raise NotOpus(codec.mimeType)
    dtls = noted.sender.transport
    if dtls._state is not State.CONNECTED:
        return None
    return SendPath(
        ssrc=noted.sender._ssrc, payload_type=codec.payloadType,
        red_type=red_for(parameters.codecs, codec.payloadType),
        extension=mid_extension(parameters), dtls=dtls, srtp=dtls._tx_srtp,
        nominated=dtls.transport._connection._nominated,
        sender_counters=vars(noted.sender), dtls_counters=vars(dtls))
