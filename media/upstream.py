"""An edge node's one pull of a Space's mix from its origin node: a listening session on
the origin like any other (signalled through the origin's internal API), whose Opus packets
are taken before aiortc's decoder and handed, as they are, to every listener here."""

from __future__ import annotations

import logging
from collections.abc import Callable

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from infrastructure.remote_media import RemoteMedia
from media.opus import TIME_BASE
from media.rtp_tap import tap

log = logging.getLogger(__name__)


class Upstream:
    def __init__(self, space_id: str, host_id: str, origin_url: str, token: str,
                 deliver: Callable[[av.Packet], None], on_lost: Callable[[], None]):
        self.space_id, self.host_id = space_id, host_id
        self.origin_url = origin_url
        self.origin = RemoteMedia(origin_url, token)
        self.deliver = deliver  # each packet of the mix, to every listener here
        self.on_lost = on_lost  # the origin stopped sending (it ended the session, or died)
        self.packets = 0
        self.session_id: str | None = None
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._closing = False

    async def start(self) -> None:
        pc = self._pc
        pc.addTransceiver("audio", direction="recvonly")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
            tap(receiver, self._push, nack=True)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and not self._closing:
                self.on_lost()

        await pc.setLocalDescription(await pc.createOffer())
        self.session_id, answer = await self.origin.listen(
            self.space_id, self.host_id, None, pc.localDescription.sdp, edge=True)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def close(self) -> None:
        self._closing = True
        if self.session_id is not None:
            try:
                await self.origin.end_session(self.space_id, self.session_id, None)
            except Exception as error:  # the origin may be gone: its session went with it
                log.info("edge pull of %s: the origin did not end it (%s)", self.space_id, error)
        await self._pc.close()
        await self.origin.close()

    def _push(self, payload: bytes, timestamp: int, _sequence: int) -> None:
        packet = av.Packet(payload)
        packet.pts, packet.time_base = timestamp, TIME_BASE
        self.packets += 1
        self.deliver(packet)
