"""The Spaces application: its commands and the reads that go with them.

Each command loads the aggregates it needs, lets them decide and saves them together with
`self._save`; `@command` makes it return where the event store got to (an Outcome). How
commands run — the aggregate cache, retries after a version conflict, group commit — is
the business of CommandApplication (application/command_application.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.commands import command
from application.keyring import KeyringCommands
from application.outcome import Outcome
from domain.errors import RuleBroken, UnknownCaller
from domain.identities import Identity, identity_id
from domain.notifications import NotificationMarks, marks_id
from domain.operations import EventSkip
from domain.people import Account, Block, Follow, HandleClaim, account_id_for, block_id, follow_id
from domain.reminders import Reminder, reminder_id
from domain.space import DEFAULT_COHOST_LIMIT, DEFAULT_STAGE_LIMIT, SCHEDULE_HORIZON, Space

__all__ = ["Outcome", "SpacesApplication"]  # Outcome: api/commands.py imports it from here

Edge = TypeVar("Edge", Follow, Block)


class SpacesApplication(KeyringCommands):
    name = "Spaces"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        stage_limit: int = DEFAULT_STAGE_LIMIT,
        cohost_limit: int = DEFAULT_COHOST_LIMIT,
        schedule_horizon: timedelta = SCHEDULE_HORIZON,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        group_commit: bool = False,
        cache_size: int = 50_000,
    ) -> None:
        super().__init__(env, group_commit=group_commit, cache_size=cache_size)
        self.stage_limit = stage_limit
        self.cohost_limit = cohost_limit
        self.schedule_horizon = schedule_horizon
        self.clock = clock

    # -- people ----------------------------------------------------------------------------

    @command
    def register_account(self, handle: str) -> None:
        account = Account.register(handle)
        claim = HandleClaim(handle, account.id)
        self._require_handle_free(handle, account.id, claim.id)
        try:
            self._save(account.id, account, claim)
        except IntegrityError:
            self._require_handle_free(handle, account.id, claim.id)
            raise RuleBroken(f"The handle @{handle} is taken.") from None

    def _require_handle_free(self, handle: str, account_id: UUID, claim_id: UUID) -> None:
        if self._find(account_id) is not None:
            raise RuleBroken(f"The handle @{handle} is taken.")
        claim = self._find(claim_id)
        if isinstance(claim, HandleClaim):  # only a HandleClaim has a claim's id
            raise RuleBroken(f"The handle @{handle} looks too much like @{claim.handle}, which "
                             "is taken (I, l, 1 and i, O and 0, rn and m read alike); choose another.")

    def account_of_identity(self, issuer: str, subject: str, handle: str | None) -> UUID:
        """The account of someone from outside (an integrator's user, an OIDC provider's),
        registered with `handle` on their first token, validated as a sign-up is: a handle
        taken, or looking like a taken one, is a RuleBroken, as at sign-up."""
        found = self._find(identity_id(issuer, subject))
        if isinstance(found, Identity):
            return found.account_id
        if not handle:
            raise UnknownCaller("Your token names no account on this server yet, and carries no "
                                "preferred_username to register one with.")
        try:
            return self.register_identity(issuer, subject, handle).id
        except RuleBroken:
            found = self._find(identity_id(issuer, subject))
            if isinstance(found, Identity):  # a first request of the same person at once won
                return found.account_id
            raise

    @command
    def register_identity(self, issuer: str, subject: str, handle: str) -> None:
        account = Account.register(handle)
        claim = HandleClaim(handle, account.id)
        identity = Identity(issuer, subject, account.id)
        self._require_handle_free(handle, account.id, claim.id)
        try:
            self._save(account.id, account, claim, identity)
        except IntegrityError:
            self._require_handle_free(handle, account.id, claim.id)
            raise RuleBroken(f"The handle @{handle} is taken.") from None

    def handle_of(self, account_id: UUID) -> str:
        return self._account(account_id).handle

    def account_id_for(self, handle: str) -> UUID:
        return account_id_for(handle)

    @command
    def follow(self, follower_id: UUID, followee_id: UUID) -> None:
        self.require_caller(follower_id)
        self._require_account(followee_id)
        edge = self._edge(Follow, follow_id(follower_id, followee_id), follower_id, followee_id)
        edge.follow()
        self._save(followee_id, edge)

    @command
    def unfollow(self, follower_id: UUID, followee_id: UUID) -> None:
        self.require_caller(follower_id)
        self._require_account(followee_id)
        edge = self._edge(Follow, follow_id(follower_id, followee_id), follower_id, followee_id)
        edge.unfollow()
        self._save(followee_id, edge)

    @command
    def block(self, blocker_id: UUID, blocked_id: UUID) -> None:
        self.require_caller(blocker_id)
        self._require_account(blocked_id)
        edge = self._edge(Block, block_id(blocker_id, blocked_id), blocker_id, blocked_id)
        edge.block()
        self._save(blocked_id, edge)

    @command
    def unblock(self, blocker_id: UUID, blocked_id: UUID) -> None:
        self.require_caller(blocker_id)
        self._require_account(blocked_id)
        edge = self._edge(Block, block_id(blocker_id, blocked_id), blocker_id, blocked_id)
        edge.unblock()
        self._save(blocked_id, edge)

    @command
    def switch_go_live_notifications(self, follower_id: UUID, followee_id: UUID, on: bool) -> None:
        """Whether the follower hears when the followee goes live (on by default)."""
        self.require_caller(follower_id)
        self._require_account(followee_id)
        edge = self._edge(Follow, follow_id(follower_id, followee_id), follower_id, followee_id)
        edge.switch_go_live(on)
        self._save(followee_id, edge)

    @command
    def mark_notifications_read(self, account_id: UUID, up_to: int | None = None,
                                ids: tuple[int, ...] = ()) -> None:
        self.require_caller(account_id)
        found = self._find(marks_id(account_id))
        marks = NotificationMarks(account_id) if found is None else cast(NotificationMarks, found)
        marks.mark_read(up_to, list(ids))
        self._save(account_id, marks)

    def follows(self, follower_id: UUID, followee_id: UUID) -> bool:
        return self._edge_is_active(follow_id(follower_id, followee_id))

    def blocks(self, blocker_id: UUID, blocked_id: UUID) -> bool:
        return self._edge_is_active(block_id(blocker_id, blocked_id))

    def hosts_block(self, space: Space, user_id: UUID) -> bool:
        """Whether a host of this Space, now or before a handover, blocks the user: a block
        keeps them out of the Space whoever hosts it now."""
        return any(self.blocks(host, user_id) for host in space.hosts)

    def _blocked_cohost(self, space: Space, actor: UUID) -> bool:
        """Whether the actor is a co-host blocked since they were named: they act no more."""
        return actor in space.cohosts and self.hosts_block(space, actor)

    # -- operations ------------------------------------------------------------------------

    @command
    def skip_event(self, projection: str, position: int, operator: str, reason: str) -> None:
        """An operator's decision that `projection` passes over the event at `position`."""
        decision = EventSkip.decide(projection, position, operator, reason)
        if self._find(decision.id) is not None:
            raise RuleBroken(f"Projection {projection} already skips position {position}.")
        try:
            self._save(decision.id, decision)
        except IntegrityError:
            raise RuleBroken(f"Projection {projection} already skips position {position}.") from None

    # -- Space lifecycle -------------------------------------------------------------------

    @command
    def create_space(
        self,
        host_id: UUID,
        title: str,
        speaker_policy: str = "everyone",
        transcripts: bool = False,
        recording: bool = False,
        scheduled_for: datetime | None = None,
    ) -> None:
        self.require_caller(host_id)
        space = Space.create(
            host_id, title, speaker_policy, transcripts, recording, self.stage_limit,
            self.cohost_limit,
        )
        if scheduled_for is not None:
            space.schedule(host_id, scheduled_for, self.clock(), self.schedule_horizon)
        self._save(space.id, space)

    @command
    def launch(self, space_id: UUID, actor: UUID) -> None:
        space = self.space(space_id)
        space.launch(actor)
        self._save(space_id, space)

    @command
    def end(self, space_id: UUID, actor: UUID) -> None:
        space = self.space(space_id)
        space.end(actor)
        self._save(space_id, space)

    @command
    def switch(
        self,
        space_id: UUID,
        actor: UUID,
        *,
        transcripts: bool | None = None,
        recording: bool | None = None,
        scheduled_for: datetime | None = None,
    ) -> None:
        """The host's PATCH: switches and the scheduled start, changed together or not at all."""
        space = self.space(space_id)
        if scheduled_for is not None:
            space.schedule(actor, scheduled_for, self.clock(), self.schedule_horizon)
        if transcripts is not None:
            space.switch_transcripts(actor, transcripts)
        if recording is True:
            space.start_recording(actor)
        elif recording is False:
            space.stop_recording(actor)
        self._save(space_id, space)

    # -- reminders -------------------------------------------------------------------------

    @command
    def set_reminder(self, space_id: UUID, user_id: UUID) -> None:
        self._remind(space_id, user_id, True)

    @command
    def clear_reminder(self, space_id: UUID, user_id: UUID) -> None:
        self._remind(space_id, user_id, False)

    def _remind(self, space_id: UUID, user_id: UUID, on: bool) -> None:
        self.require_caller(user_id)
        space = self.space(space_id)
        space.check_can_be_reminded(user_id, self.hosts_block(space, user_id))
        found = self._find(reminder_id(space_id, user_id))
        if found is None and not on:
            self._save(space_id)  # nothing to clear: nothing changes
            return
        reminder = Reminder(space_id, user_id) if found is None else cast(Reminder, found)
        if on:
            reminder.set()
        else:
            reminder.clear()
        self._save(space_id, reminder)

    def reminded(self, space_id: UUID, user_id: UUID) -> bool:
        found = self._find(reminder_id(space_id, user_id))
        return isinstance(found, Reminder) and found.active

    # -- stage -----------------------------------------------------------------------------

    @command
    def invite(self, space_id: UUID, actor: UUID, user_id: UUID) -> None:
        space = self.space(space_id)
        self._require_account(user_id)
        space.invite(actor, user_id, user_is_blocked=self.hosts_block(space, user_id),
                     actor_is_blocked=self._blocked_cohost(space, actor))
        self._save(space_id, space)

    @command
    def accept_invitation(self, space_id: UUID, actor: UUID) -> None:
        space = self.space(space_id)
        space.accept_invitation(actor, actor_is_blocked=self.hosts_block(space, actor))
        self._save(space_id, space)

    @command
    def decline_invitation(self, space_id: UUID, actor: UUID) -> None:
        space = self.space(space_id)
        space.decline_invitation(actor)
        self._save(space_id, space)

    @command
    def request_to_speak(self, space_id: UUID, actor: UUID) -> None:
        self.require_caller(actor)
        space = self.space(space_id)
        space.request_to_speak(
            actor,
            actor_is_blocked=self.hosts_block(space, actor),
            host_follows_actor=self.follows(space.host_id, actor),
        )
        self._save(space_id, space)

    @command
    def withdraw_speak_request(self, space_id: UUID, actor: UUID, user_id: UUID) -> None:
        space = self.space(space_id)
        space.withdraw_speak_request(actor, user_id,
                                     actor_is_blocked=self._blocked_cohost(space, actor))
        self._save(space_id, space)

    @command
    def grant_speaker(self, space_id: UUID, actor: UUID, user_id: UUID) -> None:
        space = self.space(space_id)
        self._require_account(user_id)
        space.grant_speaker(actor, user_id, user_is_blocked=self.hosts_block(space, user_id),
                            actor_is_blocked=self._blocked_cohost(space, actor))
        self._save(space_id, space)

    @command
    def revoke_speaker(self, space_id: UUID, actor: UUID, user_id: UUID) -> None:
        space = self.space(space_id)
        space.revoke_speaker(actor, user_id, actor_is_blocked=self._blocked_cohost(space, actor))
        self._save(space_id, space)

    @command
    def mute_speaker(self, space_id: UUID, actor: UUID, user_id: UUID) -> None:
        space = self.space(space_id)
        space.mute_speaker(actor, user_id, actor_is_blocked=self._blocked_cohost(space, actor))
        self._save(space_id, space)

    @command
    def unmute(self, space_id: UUID, actor: UUID, user_id: UUID) -> None:
        space = self.space(space_id)
        space.unmute(actor, user_id)
        self._save(space_id, space)

    # -- moderation ------------------------------------------------------------------------

    @command
    def remove_user(
        self, space_id: UUID, actor: UUID, user_id: UUID, reason: str | None = None
    ) -> None:
        space = self.space(space_id)
        self._require_account(user_id)
        space.remove_user(actor, user_id, reason,
                          actor_is_blocked=self._blocked_cohost(space, actor))
        self._save(space_id, space)

    @command
    def report_user(self, space_id: UUID, actor: UUID, user_id: UUID, reason: str) -> None:
        self.require_caller(actor)
        space = self.space(space_id)
        self._require_account(user_id)
        space.report_user(
            actor, user_id, reason, actor_is_blocked=self.hosts_block(space, actor)
        )
        self._save(space_id, space)

    @command
    def block_from_space(
        self, space_id: UUID, actor: UUID, user_id: UUID, reason: str | None = None
    ) -> None:
        """The host blocks a user from inside a Space: recorded in the Space and account-wide."""
        space = self.space(space_id)
        self._require_account(user_id)
        # The Space decides first, so that who may block is settled before what is blocked.
        space.block_user(actor, user_id, reason, already_blocked=self.blocks(actor, user_id))
        edge = self._edge(Block, block_id(actor, user_id), actor, user_id)
        edge.block(reason)
        self._save(space_id, space, edge)

    # -- co-hosts and the pinned link ------------------------------------------------------

    @command
    def add_cohost(self, space_id: UUID, actor: UUID, user_id: UUID) -> None:
        space = self.space(space_id)
        self._require_account(user_id)
        space.add_cohost(actor, user_id, user_is_blocked=self.hosts_block(space, user_id))
        self._save(space_id, space)

    @command
    def remove_cohost(self, space_id: UUID, actor: UUID, user_id: UUID) -> None:
        space = self.space(space_id)
        space.remove_cohost(actor, user_id)
        self._save(space_id, space)

    @command
    def hand_over(self, space_id: UUID, actor: UUID, user_id: UUID) -> None:
        space = self.space(space_id)
        self._require_account(user_id)
        space.hand_over(actor, user_id, user_is_blocked=self.hosts_block(space, user_id))
        self._save(space_id, space)

    @command
    def pin_link(self, space_id: UUID, actor: UUID, url: str, title: str) -> None:
        space = self.space(space_id)
        space.pin_link(actor, url, title, actor_is_blocked=self._blocked_cohost(space, actor))
        self._save(space_id, space)

    @command
    def unpin_link(self, space_id: UUID, actor: UUID) -> None:
        space = self.space(space_id)
        space.unpin_link(actor, actor_is_blocked=self._blocked_cohost(space, actor))
        self._save(space_id, space)

    @command
    def delete_recording(self, space_id: UUID, reason: str) -> None:
        space = self.space(space_id)
        space.delete_recording(reason)
        self._save(space_id, space)

    @command
    def delete_transcript(self, space_id: UUID, reason: str) -> None:
        space = self.space(space_id)
        space.delete_transcript(reason)
        self._save(space_id, space)

    @command
    def move_media(self, space_id: UUID, from_node: str, to_node: str) -> None:
        space = self.space(space_id)
        space.move_media(from_node, to_node)
        self._save(space_id, space)

    # -- reads from the event store (auditors; never from read models) ---------------------

    def space(self, space_id: UUID) -> Space:
        return self._aggregate(space_id, Space, "No Space has this id.")

    def space_history(self, space_id: UUID) -> Iterator[Any]:  # the Space's events, in order
        self.space(space_id)
        return self.repository.event_store.get(space_id)

    # -- helpers ---------------------------------------------------------------------------

    def _account(self, account_id: UUID) -> Account:
        return self._aggregate(account_id, Account, f"No account has the id {account_id}.")

    def require_caller(self, account_id: UUID) -> None:
        """The account a token names exists (tokens outlive nothing they name)."""
        if not isinstance(self._find(account_id), Account):
            raise UnknownCaller("Your token names no account on this server; sign up again.")

    def _require_account(self, account_id: UUID) -> None:
        self._account(account_id)  # existence only; accounts stay in the aggregate cache

    def _edge(self, kind: type[Edge], edge_id: UUID, one: UUID, other: UUID) -> Edge:
        edge = self._find(edge_id)
        return kind.between(one, other) if edge is None else cast(Edge, edge)

    def _edge_is_active(self, edge_id: UUID) -> bool:
        edge = self._find(edge_id)
        return isinstance(edge, (Follow, Block)) and bool(edge.active)  # only edges have edge ids
