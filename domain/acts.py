"""What each event of a Space (and each account-wide block) is called in a history, and who
did it to whom: one vocabulary for the auditors' timeline, their export and the moderation
log, so that one event always carries one name."""

from __future__ import annotations

from dataclasses import dataclass

from domain.people import Block
from domain.space import Space


@dataclass(frozen=True)
class Act:
    action: str
    actor: str | None  # the event's attribute naming who acted; None: the host at the time
    target: str | None  # the event's attribute naming whom it concerns


ACTS: dict[type, Act] = {
    Space.SpaceCreated: Act("space_created", None, None),
    Space.SpaceScheduled: Act("space_scheduled", None, None),
    Space.SpaceLaunched: Act("space_launched", None, None),
    Space.SpeakerInvited: Act("speaker_invited", "invited_by", "user_id"),
    Space.InvitationAccepted: Act("invitation_accepted", "user_id", "user_id"),
    Space.InvitationDeclined: Act("invitation_declined", "user_id", "user_id"),
    Space.SpeakRequested: Act("speak_requested", "user_id", "user_id"),
    Space.SpeakRequestWithdrawn: Act("speak_request_withdrawn", "withdrawn_by", "user_id"),
    Space.SpeakerGranted: Act("speaker_granted", "granted_by", "user_id"),
    Space.SpeakerRevoked: Act("speaker_revoked", "revoked_by", "user_id"),
    Space.SpeakerLeftStage: Act("speaker_left_stage", "user_id", "user_id"),
    Space.SpeakerMuted: Act("speaker_muted", "muted_by", "user_id"),
    Space.SpeakerUnmuted: Act("speaker_unmuted", "user_id", "user_id"),
    Space.UserRemoved: Act("user_removed", "removed_by", "user_id"),
    Space.UserReported: Act("user_reported", "reported_by", "user_id"),
    Space.UserBlocked: Act("user_blocked", "blocked_by", "user_id"),
    Space.TranscriptsSwitched: Act("transcripts_switched", None, None),
    Space.RecordingStarted: Act("recording_started", None, None),
    Space.RecordingStopped: Act("recording_stopped", None, None),
    Space.RecordingDeleted: Act("recording_deleted", None, None),  # by retention
    Space.TranscriptDeleted: Act("transcript_deleted", None, None),  # by retention
    Space.MediaMoved: Act("media_moved", None, None),  # by the media fleet
    Space.CohostAdded: Act("cohost_added", "added_by", "user_id"),
    Space.CohostRemoved: Act("cohost_removed", "removed_by", "user_id"),
    Space.HostHandedOver: Act("host_handed_over", "from_host", "to_host"),
    Space.LinkPinned: Act("link_pinned", "pinned_by", None),
    Space.LinkUnpinned: Act("link_unpinned", "unpinned_by", None),
    Space.SpaceEnded: Act("space_ended", "ended_by", None),
    Block.Blocked: Act("account_blocked", "blocker_id", "blocked_id"),
    Block.Unblocked: Act("account_unblocked", "blocker_id", "blocked_id"),
}

# What moderators did to people: in a Space, and account-wide by a host.
MODERATION_IN_SPACES = (Space.SpeakerGranted, Space.SpeakerRevoked, Space.SpeakerMuted,
                        Space.UserRemoved, Space.UserReported, Space.UserBlocked,
                        Space.CohostAdded, Space.CohostRemoved, Space.HostHandedOver)
ACCOUNT_WIDE = (Block.Blocked, Block.Unblocked)
MODERATION = MODERATION_IN_SPACES + ACCOUNT_WIDE


def act_of(event: object) -> Act:
    return ACTS.get(type(event)) or Act(type(event).__name__, None, None)
