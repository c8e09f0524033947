"""One person's WebRTC session in a Space: a speaker sending their voice, or a listener
hearing the mix."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiortc import RTCPeerConnection

from media.listeners import ListenerTrack
from media.quality import Reception
from media.sdp import offered_directions
from media.tracks import PacketTrack


@dataclass
class Session:
    id: str
    space_id: str
    user_id: str | None
    role: str  # "speaker", "listener", or "edge" (another node pulling the mix)
    pc: RTCPeerConnection
    track: ListenerTrack | None = None  # a listener's mix
    # a speaker's receive slots: the other speakers' streams, by the speaker each carries
    slots: list[PacketTrack] = field(default_factory=list)
    carrying: dict[PacketTrack, str] = field(default_factory=dict)
    reception: Reception = field(default_factory=Reception)  # a listener's, as they report it

    def open_receive_slots(self) -> None:
        """Each extra audio section the speaker offered to receive only becomes a slot that
        will carry another speaker's stream (once the offer is the remote description)."""
        directions = offered_directions(self.pc.remoteDescription.sdp)
        for transceiver, direction in zip(self.pc.getTransceivers(), directions):
            if transceiver.kind == "audio" and direction == "recvonly":
                slot = PacketTrack()
                transceiver.sender.replaceTrack(slot)
                transceiver.direction = "sendonly"
                self.slots.append(slot)
