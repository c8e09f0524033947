"""The Space aggregate: a live audio room, its stage and its moderation.

Public methods are the commands: they check the rules and raise domain errors.
The private `@event` methods only apply state, so replaying old events never
re-runs today's rules. Facts that live on other aggregates (does the host block
or follow this user?) are passed in by the application.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import text
from domain.copying import FlatCopy
from domain.errors import InvalidInput, NotAllowed, RuleBroken, SpaceHasEnded
from domain.links import PinnedLink, pinned_link

SPEAKER_POLICIES = ("everyone", "following", "invited")
DEFAULT_STAGE_LIMIT = 10
DEFAULT_COHOST_LIMIT = 2  # as on X
MAX_OPEN_INVITATIONS = 10
MAX_TITLE_LENGTH = 120
SCHEDULE_HORIZON = timedelta(days=30)  # how far ahead a start may be scheduled (as X allows)

CREATED, LIVE, ENDED = "created", "live", "ended"


class Space(FlatCopy, Aggregate):
    TOPIC = "spaces:Space"

    # eventsourcing 9.5 gives every aggregate its own subclass of Aggregate.Created and,
    # once the aggregate has a TOPIC, refuses any nested event class without one. No event of
    # this class is stored: the @event on __init__ below names the creation event.
    class Created(Aggregate.Created):
        TOPIC = "spaces:Space.Created"

    # The event classes the @event decorators below define (declared for type checkers).
    SpaceCreated: ClassVar[type[Any]]
    SpaceScheduled: ClassVar[type[Any]]
    SpaceLaunched: ClassVar[type[Any]]
    SpaceEnded: ClassVar[type[Any]]
    SpeakerInvited: ClassVar[type[Any]]
    InvitationAccepted: ClassVar[type[Any]]
    InvitationDeclined: ClassVar[type[Any]]
    SpeakRequested: ClassVar[type[Any]]
    SpeakRequestWithdrawn: ClassVar[type[Any]]
    SpeakerGranted: ClassVar[type[Any]]
    SpeakerRevoked: ClassVar[type[Any]]
    SpeakerLeftStage: ClassVar[type[Any]]
    SpeakerMuted: ClassVar[type[Any]]
    SpeakerUnmuted: ClassVar[type[Any]]
    UserRemoved: ClassVar[type[Any]]
    UserReported: ClassVar[type[Any]]
    UserBlocked: ClassVar[type[Any]]
    TranscriptsSwitched: ClassVar[type[Any]]
    RecordingStarted: ClassVar[type[Any]]
    RecordingStopped: ClassVar[type[Any]]
    RecordingDeleted: ClassVar[type[Any]]
    TranscriptDeleted: ClassVar[type[Any]]
    MediaMoved: ClassVar[type[Any]]
    CohostAdded: ClassVar[type[Any]]
    CohostRemoved: ClassVar[type[Any]]
    HostHandedOver: ClassVar[type[Any]]
    LinkPinned: ClassVar[type[Any]]
    LinkUnpinned: ClassVar[type[Any]]

    @classmethod
    def create(
        cls,
        host_id: UUID,
        title: str,
        speaker_policy: str = "everyone",
        transcripts: bool = False,
        recording: bool = False,
        stage_limit: int = DEFAULT_STAGE_LIMIT,
        cohost_limit: int = DEFAULT_COHOST_LIMIT,
    ) -> Space:
        title = text.visible(title, "A title", MAX_TITLE_LENGTH)
        if not title:
            raise InvalidInput(f"A title is 1 to {MAX_TITLE_LENGTH} characters.")
        if speaker_policy not in SPEAKER_POLICIES:
            raise InvalidInput(f"speaker_policy is one of {', '.join(SPEAKER_POLICIES)}.")
        if stage_limit < 1:
            raise InvalidInput("The stage holds at least the host.")
        if cohost_limit < 0:
            raise InvalidInput("The co-host limit is 0 or more.")
        space = cls(host_id, title, speaker_policy, stage_limit, cohost_limit)
        # The switches start off; turning one on at creation is the host's first command.
        if transcripts:
            space.switch_transcripts(host_id, True)
        if recording:
            space.start_recording(host_id)
        return space

    # Spaces created before co-hosts existed replay with the default limit.
    @event("SpaceCreated", topic="spaces:SpaceCreated")
    def __init__(self, host_id: UUID, title: str, speaker_policy: str, stage_limit: int,
                 cohost_limit: int = DEFAULT_COHOST_LIMIT):
        self.host_id = host_id
        self.hosts: list[UUID] = [host_id]  # everyone who has hosted it: their blocks hold here
        self.cohosts: list[UUID] = []  # in the order they were named; always on the stage
        self.cohost_limit = cohost_limit
        self.title = title
        self.speaker_policy = speaker_policy
        self.stage_limit = stage_limit
        self.state = CREATED
        self.scheduled_for: datetime | None = None
        self.transcripts = False
        self.recording = False
        self.stage: list[UUID] = [host_id]  # the speakers, in the order they came up
        self.muted: set[UUID] = {host_id}  # speakers whose microphone is off; the host's starts off
        self.been_on_stage: set[UUID] = {host_id}  # everyone who ever spoke (transcript readers)
        self.invited: set[UUID] = set()
        self.speak_requests: set[UUID] = set()
        self.removed: set[UUID] = set()
        self.pinned: PinnedLink | None = None
        self.recording_deleted = False
        self.transcript_deleted = False

    # -- lifecycle -------------------------------------------------------------------------

    def schedule(self, actor: UUID, scheduled_for: datetime, now: datetime,
                 horizon: timedelta = SCHEDULE_HORIZON) -> None:
        self._require_host(actor)
        if self.state != CREATED:
            raise RuleBroken("Only a Space that has not started yet can be scheduled.")
        if scheduled_for.utcoffset() is None:
            raise InvalidInput("scheduled_for needs a time zone (an offset or Z).")
        if scheduled_for <= now:
            raise InvalidInput("scheduled_for must be in the future.")
        if scheduled_for - now > horizon:
            raise InvalidInput(f"scheduled_for is at most {horizon.days} days ahead.")
        self._scheduled(scheduled_for=scheduled_for)

    @event("SpaceScheduled", topic="spaces:SpaceScheduled")
    def _scheduled(self, scheduled_for: datetime) -> None:
        self.scheduled_for = scheduled_for

    def launch(self, actor: UUID) -> None:
        self._require_host(actor)
        if self.state == LIVE:
            raise RuleBroken("This Space is live already.")
        self._launched()

    @event("SpaceLaunched", topic="spaces:SpaceLaunched")
    def _launched(self) -> None:
        self.state = LIVE

    def end(self, actor: UUID) -> None:
        self._require_host(actor)
        self._ended(ended_by=actor)

    @event("SpaceEnded", topic="spaces:SpaceEnded")
    def _ended(self, ended_by: UUID) -> None:
        self.state = ENDED

    # -- invitations and speak requests ----------------------------------------------------

    def invite(self, actor: UUID, user_id: UUID, *, user_is_blocked: bool,
               actor_is_blocked: bool = False) -> None:
        self._require_moderator(actor, actor_is_blocked, user_id)
        self._require_can_join_stage(user_id, user_is_blocked)
        if user_id in self.invited:
            raise RuleBroken("This user already has an open invitation.")
        if len(self.invited) >= MAX_OPEN_INVITATIONS:
            raise RuleBroken(f"A Space has at most {MAX_OPEN_INVITATIONS} open invitations.")
        self._speaker_invited(user_id=user_id, invited_by=actor)

    @event("SpeakerInvited", topic="spaces:SpeakerInvited")
    def _speaker_invited(self, user_id: UUID, invited_by: UUID) -> None:
        self.invited.add(user_id)

    def accept_invitation(self, actor: UUID, *, actor_is_blocked: bool) -> None:
        self._require_open_invitation(actor)
        self._require_taking_part(actor, actor_is_blocked)
        self._require_free_seat()
        self._invitation_accepted(user_id=actor)

    @event("InvitationAccepted", topic="spaces:InvitationAccepted")
    def _invitation_accepted(self, user_id: UUID) -> None:
        self._seat(user_id)

    def decline_invitation(self, actor: UUID) -> None:
        self._require_open_invitation(actor)
        self._invitation_declined(user_id=actor)

    @event("InvitationDeclined", topic="spaces:InvitationDeclined")
    def _invitation_declined(self, user_id: UUID) -> None:
        self.invited.discard(user_id)

    def request_to_speak(
        self, actor: UUID, *, actor_is_blocked: bool, host_follows_actor: bool
    ) -> None:
        self._require_not_ended()
        self._require_taking_part(actor, actor_is_blocked)
        if self.state != LIVE:
            raise RuleBroken("Requests to speak open when the Space goes live.")
        if actor in self.stage:
            raise RuleBroken("You are on the stage already.")
        if actor in self.speak_requests:
            raise RuleBroken("You have asked to speak already; the host will answer.")
        if self.speaker_policy == "invited":
            raise NotAllowed("In this Space only people the host invites may speak.")
        if self.speaker_policy == "following" and not host_follows_actor:
            raise NotAllowed("In this Space only people the host follows may ask to speak.")
        self._speak_requested(user_id=actor)

    @event("SpeakRequested", topic="spaces:SpeakRequested")
    def _speak_requested(self, user_id: UUID) -> None:
        self.speak_requests.add(user_id)

    def withdraw_speak_request(self, actor: UUID, user_id: UUID, *,
                               actor_is_blocked: bool = False) -> None:
        """The one who asked lowers their hand (actor == user_id), or the host or a co-host
        dismisses the request."""
        self._require_not_ended()
        if actor != user_id:
            self._require_moderator(actor, actor_is_blocked, user_id)
        if user_id not in self.speak_requests:
            raise RuleBroken("There is no request to speak from this user to withdraw.")
        self._speak_request_withdrawn(user_id=user_id, withdrawn_by=actor)

    @event("SpeakRequestWithdrawn", topic="spaces:SpeakRequestWithdrawn")
    def _speak_request_withdrawn(self, user_id: UUID, withdrawn_by: UUID) -> None:
        self.speak_requests.discard(user_id)

    # -- the stage -------------------------------------------------------------------------

    def grant_speaker(self, actor: UUID, user_id: UUID, *, user_is_blocked: bool,
                      actor_is_blocked: bool = False) -> None:
        self._require_moderator(actor, actor_is_blocked, user_id)
        self._require_can_join_stage(user_id, user_is_blocked)
        self._require_free_seat()
        self._speaker_granted(user_id=user_id, granted_by=actor)

    @event("SpeakerGranted", topic="spaces:SpeakerGranted")
    def _speaker_granted(self, user_id: UUID, granted_by: UUID) -> None:
        self._seat(user_id)

    def revoke_speaker(self, actor: UUID, user_id: UUID, *, actor_is_blocked: bool = False) -> None:
        """The host or a co-host takes someone off the stage, or a speaker leaves it
        (actor == user_id). A co-host who leaves the stage is a co-host no more."""
        self._require_not_ended()
        if actor != user_id:
            self._require_moderator(actor, actor_is_blocked, user_id)
        if user_id == self.host_id:
            raise RuleBroken("The host stays on the stage until the Space ends.")
        self._require_on_stage(user_id)
        self._drop_cohost(user_id, actor)
        if actor == user_id:
            self._speaker_left_stage(user_id=user_id)
        else:
            self._speaker_revoked(user_id=user_id, revoked_by=actor)

    @event("SpeakerRevoked", topic="spaces:SpeakerRevoked")
    def _speaker_revoked(self, user_id: UUID, revoked_by: UUID) -> None:
        self._unseat(user_id)

    @event("SpeakerLeftStage", topic="spaces:SpeakerLeftStage")
    def _speaker_left_stage(self, user_id: UUID) -> None:
        self._unseat(user_id)

    def mute_speaker(self, actor: UUID, user_id: UUID, *, actor_is_blocked: bool = False) -> None:
        """The host or a co-host mutes a speaker; a speaker mutes themselves. Muting twice
        changes nothing."""
        self._require_not_ended()
        if actor != user_id:
            self._require_moderator(actor, actor_is_blocked, user_id)
        self._require_on_stage(user_id)
        if user_id not in self.muted:
            self._speaker_muted(user_id=user_id, muted_by=actor)

    @event("SpeakerMuted", topic="spaces:SpeakerMuted")
    def _speaker_muted(self, user_id: UUID, muted_by: UUID) -> None:
        self.muted.add(user_id)

    def unmute(self, actor: UUID, user_id: UUID) -> None:
        """Only speakers unmute themselves, and only once the Space is live."""
        self._require_not_ended()
        if actor != user_id:
            raise NotAllowed("Only a speaker can turn their own microphone on.")
        self._require_on_stage(user_id)
        if self.state != LIVE:
            raise RuleBroken("Microphones stay off until the Space goes live.")
        if user_id in self.muted:
            self._speaker_unmuted(user_id=user_id)

    @event("SpeakerUnmuted", topic="spaces:SpeakerUnmuted")
    def _speaker_unmuted(self, user_id: UUID) -> None:
        self.muted.discard(user_id)

    # -- who may read, listen, speak and react (the API asks before it serves) -------------

    def check_listener(self, user_id: UUID | None, host_blocks_user: bool) -> None:
        """Whether `user_id` (None: someone without an account) may read, listen and react:
        not if the host removed them from this Space or blocked them."""
        if user_id is None or user_id == self.host_id:
            return
        if user_id in self.removed:
            raise NotAllowed("You were removed from this Space.")
        if host_blocks_user:
            raise NotAllowed("The host of this Space has blocked you.")

    def check_reader(self, user_id: UUID | None, host_blocks_user: bool, *,
                     auditor: bool = False) -> None:
        """Who may read this Space: anyone kept in while it lives; once it has ended, only
        its host and auditors."""
        if auditor or user_id == self.host_id:
            return
        self.check_listener(user_id, host_blocks_user)
        self._require_not_ended()

    def check_can_listen(self, user_id: UUID | None, host_blocks_user: bool) -> None:
        self._require_live("Listening opens when the Space goes live.")
        self.check_listener(user_id, host_blocks_user)

    def check_can_react(self, user_id: UUID, host_blocks_user: bool) -> None:
        self.check_listener(user_id, host_blocks_user)
        self._require_live("Reactions open when the Space goes live.")

    def check_can_be_reminded(self, user_id: UUID, host_blocks_user: bool) -> None:
        """Reminders are for upcoming Spaces (scheduled, not launched yet), set or cleared by
        anyone but their host who is not kept out of them."""
        self._require_not_ended()
        if self.state != CREATED:
            raise RuleBroken("This Space is live already: reminders are for upcoming Spaces.")
        if self.scheduled_for is None:
            raise RuleBroken("This Space has no scheduled start to be reminded of.")
        if user_id == self.host_id:
            raise InvalidInput("You host this Space; reminders are for the people who listen.")
        self.check_listener(user_id, host_blocks_user)

    def check_host(self, user_id: UUID) -> None:
        if user_id != self.host_id:
            raise NotAllowed("Only the host of this Space can do that.")

    def check_moderator(self, user_id: UUID, *, is_blocked: bool = False) -> None:
        """The host, or a co-host whom no host of this Space has blocked since."""
        if user_id == self.host_id:
            return
        if user_id not in self.cohosts:
            raise NotAllowed("Only the host or a co-host of this Space can do that.")
        if is_blocked:
            raise NotAllowed("The host of this Space has blocked you.")

    def check_publisher(self, user_id: UUID) -> None:
        """Only speakers on the stage of a live Space send audio (muted ones are not mixed)."""
        self._require_live("Audio starts when the Space goes live.")
        if user_id not in self.stage:
            raise NotAllowed("Only speakers on the stage can publish audio.")

    def check_recording_reader(self, user_id: UUID | None, *, auditor: bool) -> None:
        if not auditor and user_id != self.host_id:
            raise NotAllowed("Only the host and auditors may download the recording.")
        if self.state != ENDED:
            raise RuleBroken("The recording can be downloaded once the Space has ended.")

    def check_analytics_reader(self, user_id: UUID | None, *, auditor: bool) -> None:
        if not auditor and user_id != self.host_id:
            raise NotAllowed("Only the host and auditors may read a Space's analytics.")
        if self.state != ENDED:
            raise RuleBroken("A Space's analytics are ready once it has ended.")

    def check_transcript_reader(self, user_id: UUID | None, *, auditor: bool) -> None:
        if not auditor and user_id not in self.been_on_stage:
            raise NotAllowed("Only the host, its speakers and auditors may read the transcript.")

    # -- moderation ------------------------------------------------------------------------

    def remove_user(self, actor: UUID, user_id: UUID, reason: str | None = None, *,
                    actor_is_blocked: bool = False) -> None:
        """Whether or not the user is in the Space now (or ever was): they stay out."""
        self._require_moderator(actor, actor_is_blocked, user_id)
        if user_id == actor:
            raise InvalidInput("The host cannot remove themselves; end the Space instead."
                               if actor == self.host_id else
                               "You cannot remove yourself; leave the stage instead.")
        if user_id in self.removed:
            raise RuleBroken("This user was removed from this Space already.")
        self._drop_cohost(user_id, actor)
        self._user_removed(user_id=user_id, removed_by=actor, reason=text.reason(reason))

    @event("UserRemoved", topic="spaces:UserRemoved")
    def _user_removed(self, user_id: UUID, removed_by: UUID, reason: str | None) -> None:
        self._leave_everything(user_id)
        self.removed.add(user_id)

    def report_user(
        self, actor: UUID, user_id: UUID, reason: str, *, actor_is_blocked: bool
    ) -> None:
        self._require_not_ended()
        self._require_taking_part(actor, actor_is_blocked)
        if actor == user_id:
            raise InvalidInput("You cannot report yourself.")
        why = text.reason(reason)
        if not why:
            raise InvalidInput("A report needs a reason.")
        self._user_reported(user_id=user_id, reported_by=actor, reason=why)

    @event("UserReported", topic="spaces:UserReported")
    def _user_reported(self, user_id: UUID, reported_by: UUID, reason: str) -> None:
        pass  # a report is a record for moderators; it changes nothing in the room

    def block_user(
        self, actor: UUID, user_id: UUID, reason: str | None = None, *, already_blocked: bool
    ) -> None:
        """Records the block in this Space and takes the user out of it; the application
        records the account-wide block edge in the same save."""
        self._require_host(actor)
        if user_id == self.host_id:
            raise InvalidInput("You cannot block yourself.")
        if already_blocked:
            raise RuleBroken("You have blocked this user already.")
        self._drop_cohost(user_id, actor)
        self._user_blocked(user_id=user_id, blocked_by=actor, reason=text.reason(reason))

    @event("UserBlocked", topic="spaces:UserBlocked")
    def _user_blocked(self, user_id: UUID, blocked_by: UUID, reason: str | None) -> None:
        self._leave_everything(user_id)

    def _drop_cohost(self, user_id: UUID, actor: UUID) -> None:
        """Co-hosts sit on the stage: one who leaves it, or is taken out, is a co-host no more."""
        if user_id in self.cohosts:
            self._cohost_removed(user_id=user_id, removed_by=actor)

    def _leave_everything(self, user_id: UUID) -> None:
        self._unseat(user_id)
        self.invited.discard(user_id)
        self.speak_requests.discard(user_id)

    def _seat(self, user_id: UUID) -> None:
        self.invited.discard(user_id)
        self.speak_requests.discard(user_id)
        if user_id not in self.stage:
            self.stage.append(user_id)
        self.muted.add(user_id)  # everyone comes up with their microphone off
        self.been_on_stage.add(user_id)

    def _unseat(self, user_id: UUID) -> None:
        if user_id in self.stage:
            self.stage.remove(user_id)
        self.muted.discard(user_id)

    # -- co-hosts and the handover ----------------------------------------------------------

    def add_cohost(self, actor: UUID, user_id: UUID, *, user_is_blocked: bool) -> None:
        """The host names a co-host, who takes a seat on the stage if they have none."""
        self._require_host(actor)
        if user_id == actor:
            raise InvalidInput("You host this Space already.")
        if user_id in self.cohosts:
            raise RuleBroken("This user is a co-host already.")
        if len(self.cohosts) >= self.cohost_limit:
            raise RuleBroken(f"A Space has at most {self.cohost_limit} "
                             f"co-host{'' if self.cohost_limit == 1 else 's'}.")
        if user_id not in self.stage:
            self._require_can_join_stage(user_id, user_is_blocked)
            self._require_free_seat()
            self._speaker_granted(user_id=user_id, granted_by=actor)
        elif user_is_blocked:
            raise RuleBroken("You have blocked this user; unblock them first.")
        self._cohost_added(user_id=user_id, added_by=actor)

    @event("CohostAdded", topic="spaces:CohostAdded")
    def _cohost_added(self, user_id: UUID, added_by: UUID) -> None:
        self.cohosts.append(user_id)

    def remove_cohost(self, actor: UUID, user_id: UUID) -> None:
        """The host names a co-host no more, or a co-host steps down; either way they stay
        on the stage, as a speaker."""
        self._require_not_ended()
        if actor != user_id:
            self._require_host(actor)
        if user_id not in self.cohosts:
            raise RuleBroken("This user is not a co-host of this Space.")
        self._cohost_removed(user_id=user_id, removed_by=actor)

    @event("CohostRemoved", topic="spaces:CohostRemoved")
    def _cohost_removed(self, user_id: UUID, removed_by: UUID) -> None:
        self.cohosts.remove(user_id)

    def hand_over(self, actor: UUID, user_id: UUID, *, user_is_blocked: bool) -> None:
        """The host hands the Space to one of its co-hosts and becomes a co-host in their place."""
        self._require_host(actor)
        if user_id == actor:
            raise InvalidInput("You host this Space already.")
        if user_id not in self.cohosts:
            raise RuleBroken("Only a co-host can take the Space over: make them a co-host first.")
        if user_is_blocked:
            raise RuleBroken("This co-host is blocked by a host of this Space; unblock them first.")
        self._host_handed_over(from_host=actor, to_host=user_id)

    @event("HostHandedOver", topic="spaces:HostHandedOver")
    def _host_handed_over(self, from_host: UUID, to_host: UUID) -> None:
        self.cohosts[self.cohosts.index(to_host)] = from_host
        self.host_id = to_host
        if to_host not in self.hosts:
            self.hosts.append(to_host)

    # -- the pinned link -------------------------------------------------------------------

    def pin_link(self, actor: UUID, url: str, title: str, *, actor_is_blocked: bool = False) -> None:
        """The host or a co-host pins one link (a new one replaces it); the same again changes
        nothing."""
        self._require_moderator(actor, actor_is_blocked)
        link = pinned_link(url, title)
        if link != self.pinned:
            self._link_pinned(url=link.url, title=link.title, pinned_by=actor)

    @event("LinkPinned", topic="spaces:LinkPinned")
    def _link_pinned(self, url: str, title: str, pinned_by: UUID) -> None:
        self.pinned = PinnedLink(url, title)

    def unpin_link(self, actor: UUID, *, actor_is_blocked: bool = False) -> None:
        self._require_moderator(actor, actor_is_blocked)
        if self.pinned is not None:
            self._link_unpinned(unpinned_by=actor)

    @event("LinkUnpinned", topic="spaces:LinkUnpinned")
    def _link_unpinned(self, unpinned_by: UUID) -> None:
        self.pinned = None

    # -- switches --------------------------------------------------------------------------

    def switch_transcripts(self, actor: UUID, on: bool) -> None:
        self._require_host(actor)
        if on != self.transcripts:
            self._transcripts_switched(on=on)

    @event("TranscriptsSwitched", topic="spaces:TranscriptsSwitched")
    def _transcripts_switched(self, on: bool) -> None:
        self.transcripts = on

    def start_recording(self, actor: UUID) -> None:
        self._require_host(actor)
        if not self.recording:
            self._recording_started()

    @event("RecordingStarted", topic="spaces:RecordingStarted")
    def _recording_started(self) -> None:
        self.recording = True

    def stop_recording(self, actor: UUID) -> None:
        self._require_host(actor)
        if self.recording:
            self._recording_stopped()

    @event("RecordingStopped", topic="spaces:RecordingStopped")
    def _recording_stopped(self) -> None:
        self.recording = False

    def delete_recording(self, reason: str) -> None:
        """Retention, not a host command: an ended Space's recording is deleted, and the
        history says so. Moderation events are never deleted."""
        if self.state != ENDED:
            raise RuleBroken("Only the recording of an ended Space is deleted.")
        if not self.recording_deleted:
            self._recording_deleted(reason=reason)

    @event("RecordingDeleted", topic="spaces:RecordingDeleted")
    def _recording_deleted(self, reason: str) -> None:
        self.recording_deleted = True

    def delete_transcript(self, reason: str) -> None:
        """Retention, likewise, for the transcript."""
        if self.state != ENDED:
            raise RuleBroken("Only the transcript of an ended Space is deleted.")
        if not self.transcript_deleted:
            self._transcript_deleted(reason=reason)

    @event("TranscriptDeleted", topic="spaces:TranscriptDeleted")
    def _transcript_deleted(self, reason: str) -> None:
        self.transcript_deleted = True

    # -- where its audio lives -------------------------------------------------------------

    def move_media(self, from_node: str, to_node: str) -> None:
        """Not a person's command: the Space's origin media node died or left, and the fleet
        placed it on another. The history says so."""
        self._require_not_ended()
        if from_node != to_node:
            self._media_moved(from_node=from_node, to_node=to_node)

    @event("MediaMoved", topic="spaces:MediaMoved")
    def _media_moved(self, from_node: str, to_node: str) -> None:
        pass  # the audio moved; nothing in the room changed

    # -- rules shared by the commands ------------------------------------------------------

    def _require_not_ended(self) -> None:
        if self.state == ENDED:
            raise SpaceHasEnded("This Space has ended.")

    def _require_live(self, otherwise: str) -> None:
        self._require_not_ended()
        if self.state != LIVE:
            raise RuleBroken(otherwise)

    def _require_host(self, actor: UUID) -> None:
        self.check_host(actor)
        self._require_not_ended()

    def _require_moderator(self, actor: UUID, actor_is_blocked: bool,
                           target: UUID | None = None) -> None:
        self.check_moderator(actor, is_blocked=actor_is_blocked)
        self._require_not_ended()
        if actor != self.host_id and target not in (None, actor) and (
                target == self.host_id or target in self.cohosts):
            raise NotAllowed("A co-host cannot act on the host or on another co-host.")

    def _require_taking_part(self, user_id: UUID, is_blocked: bool) -> None:
        if user_id in self.removed:
            raise NotAllowed("You were removed from this Space.")
        if is_blocked:
            raise NotAllowed("The host of this Space has blocked you.")

    def _require_can_join_stage(self, user_id: UUID, is_blocked: bool) -> None:
        if user_id in self.removed:
            raise RuleBroken("This user was removed from this Space.")
        if is_blocked:
            raise RuleBroken("You have blocked this user; unblock them first.")
        if user_id in self.stage:
            raise RuleBroken("This user is on the stage already.")

    def _require_open_invitation(self, user_id: UUID) -> None:
        self._require_not_ended()
        if user_id not in self.invited:
            raise RuleBroken("You have no open invitation to speak in this Space.")

    def _require_free_seat(self) -> None:
        if len(self.stage) >= self.stage_limit:
            raise RuleBroken(f"The stage is full: at most {self.stage_limit} speakers.")

    def _require_on_stage(self, user_id: UUID) -> None:
        if user_id not in self.stage:
            raise RuleBroken("This user is not on the stage.")
