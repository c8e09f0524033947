"""The Spaces application: every method is a command, returning where the event store got to.

Each command loads the aggregates it needs, lets them decide, and saves them together.
Two commands racing on one Space both load the same version; the second save fails
on the event store's unique (id, version) key and the command runs again on fresh
state, so the rules always judge the latest Space (two grants for the last seat
never make eleven speakers).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, RecordConflictError

from application.group_commit import GroupCommitter
from domain.errors import NotFound, RuleBroken
from domain.people import Account, Block, Follow, account_id_for, block_id, follow_id
from domain.space import DEFAULT_STAGE_LIMIT, Space

MAX_ATTEMPTS = 20
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What a command did: the id it concerns and the event store position it reached."""

    id: UUID
    position: int


def retried_on_conflict(command: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(command)
    def run(self: SpacesApplication, *args: Any, **kwargs: Any) -> T:
        for _ in range(MAX_ATTEMPTS - 1):
            try:
                return command(self, *args, **kwargs)
            except RecordConflictError:
                continue
        return command(self, *args, **kwargs)

    return run


class SpacesApplication(Application[UUID]):
    name = "Spaces"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        stage_limit: int = DEFAULT_STAGE_LIMIT,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        group_commit: bool = False,
    ):
        super().__init__(env)
        self.stage_limit = stage_limit
        self.clock = clock
        self.saved_listeners: list[Callable[[int], None]] = []
        self._committer = GroupCommitter(self.save) if group_commit else None
        self._known_accounts: set[UUID] = set()  # accounts are never deleted

    # -- people ----------------------------------------------------------------------------

    def register_account(self, handle: str) -> Outcome:
        account = Account.register(handle)
        try:
            return self._save(account.id, account)
        except IntegrityError:
            raise RuleBroken(f"The handle @{handle} is taken.") from None

    def handle_of(self, account_id: UUID) -> str:
        return self._account(account_id).handle

    def account_id_for(self, handle: str) -> UUID:
        return account_id_for(handle)

    @retried_on_conflict
    def follow(self, follower_id: UUID, followee_id: UUID) -> Outcome:
        self._require_account(followee_id)
        edge = self._edge(Follow, follow_id(follower_id, followee_id), follower_id, followee_id)
        edge.follow()
        return self._save(followee_id, edge)

    @retried_on_conflict
    def unfollow(self, follower_id: UUID, followee_id: UUID) -> Outcome:
        self._require_account(followee_id)
        edge = self._edge(Follow, follow_id(follower_id, followee_id), follower_id, followee_id)
        edge.unfollow()
        return self._save(followee_id, edge)

    @retried_on_conflict
    def block(self, blocker_id: UUID, blocked_id: UUID) -> Outcome:
        self._require_account(blocked_id)
        edge = self._edge(Block, block_id(blocker_id, blocked_id), blocker_id, blocked_id)
        edge.block()
        return self._save(blocked_id, edge)

    @retried_on_conflict
    def unblock(self, blocker_id: UUID, blocked_id: UUID) -> Outcome:
        self._require_account(blocked_id)
        edge = self._edge(Block, block_id(blocker_id, blocked_id), blocker_id, blocked_id)
        edge.unblock()
        return self._save(blocked_id, edge)

    def follows(self, follower_id: UUID, followee_id: UUID) -> bool:
        return self._edge_is_active(follow_id(follower_id, followee_id))

    def blocks(self, blocker_id: UUID, blocked_id: UUID) -> bool:
        return self._edge_is_active(block_id(blocker_id, blocked_id))

    # -- Space lifecycle -------------------------------------------------------------------

    def create_space(
        self,
        host_id: UUID,
        title: str,
        speaker_policy: str = "everyone",
        transcripts: bool = False,
        recording: bool = False,
        scheduled_for: datetime | None = None,
    ) -> Outcome:
        self._require_account(host_id)
        space = Space.create(
            host_id, title, speaker_policy, transcripts, recording, self.stage_limit
        )
        if scheduled_for is not None:
            space.schedule(host_id, scheduled_for, now=self.clock())
        return self._save(space.id, space)

    @retried_on_conflict
    def launch(self, space_id: UUID, actor: UUID) -> Outcome:
        space = self.space(space_id)
        space.launch(actor)
        return self._save(space_id, space)

    @retried_on_conflict
    def end(self, space_id: UUID, actor: UUID) -> Outcome:
        space = self.space(space_id)
        space.end(actor)
        return self._save(space_id, space)

    @retried_on_conflict
    def switch(
        self,
        space_id: UUID,
        actor: UUID,
        *,
        transcripts: bool | None = None,
        recording: bool | None = None,
        scheduled_for: datetime | None = None,
    ) -> Outcome:
        """The host's PATCH: switches and the scheduled start, changed together or not at all."""
        space = self.space(space_id)
        if scheduled_for is not None:
            space.schedule(actor, scheduled_for, now=self.clock())
        if transcripts is not None:
            space.switch_transcripts(actor, transcripts)
        if recording is True:
            space.start_recording(actor)
        elif recording is False:
            space.stop_recording(actor)
        return self._save(space_id, space)

    # -- stage -----------------------------------------------------------------------------

    @retried_on_conflict
    def invite(self, space_id: UUID, actor: UUID, user_id: UUID) -> Outcome:
        space = self.space(space_id)
        self._require_account(user_id)
        space.invite(actor, user_id, user_is_blocked=self.blocks(space.host_id, user_id))
        return self._save(space_id, space)

    @retried_on_conflict
    def accept_invitation(self, space_id: UUID, actor: UUID) -> Outcome:
        space = self.space(space_id)
        space.accept_invitation(actor, actor_is_blocked=self.blocks(space.host_id, actor))
        return self._save(space_id, space)

    @retried_on_conflict
    def decline_invitation(self, space_id: UUID, actor: UUID) -> Outcome:
        space = self.space(space_id)
        space.decline_invitation(actor)
        return self._save(space_id, space)

    @retried_on_conflict
    def request_to_speak(self, space_id: UUID, actor: UUID) -> Outcome:
        space = self.space(space_id)
        space.request_to_speak(
            actor,
            actor_is_blocked=self.blocks(space.host_id, actor),
            host_follows_actor=self.follows(space.host_id, actor),
        )
        return self._save(space_id, space)

    @retried_on_conflict
    def grant_speaker(self, space_id: UUID, actor: UUID, user_id: UUID) -> Outcome:
        space = self.space(space_id)
        self._require_account(user_id)
        space.grant_speaker(actor, user_id, user_is_blocked=self.blocks(space.host_id, user_id))
        return self._save(space_id, space)

    @retried_on_conflict
    def revoke_speaker(self, space_id: UUID, actor: UUID, user_id: UUID) -> Outcome:
        space = self.space(space_id)
        space.revoke_speaker(actor, user_id)
        return self._save(space_id, space)

    @retried_on_conflict
    def mute_speaker(self, space_id: UUID, actor: UUID, user_id: UUID) -> Outcome:
        space = self.space(space_id)
        space.mute_speaker(actor, user_id)
        return self._save(space_id, space)

    @retried_on_conflict
    def unmute(self, space_id: UUID, actor: UUID, user_id: UUID) -> Outcome:
        space = self.space(space_id)
        space.unmute(actor, user_id)
        return self._save(space_id, space)

    # -- moderation ------------------------------------------------------------------------

    @retried_on_conflict
    def remove_user(
        self, space_id: UUID, actor: UUID, user_id: UUID, reason: str | None = None
    ) -> Outcome:
        space = self.space(space_id)
        self._require_account(user_id)
        space.remove_user(actor, user_id, reason)
        return self._save(space_id, space)

    @retried_on_conflict
    def report_user(self, space_id: UUID, actor: UUID, user_id: UUID, reason: str) -> Outcome:
        space = self.space(space_id)
        self._require_account(user_id)
        space.report_user(
            actor, user_id, reason, actor_is_blocked=self.blocks(space.host_id, actor)
        )
        return self._save(space_id, space)

    @retried_on_conflict
    def block_from_space(
        self, space_id: UUID, actor: UUID, user_id: UUID, reason: str | None = None
    ) -> Outcome:
        """The host blocks a user from inside a Space: recorded in the Space and account-wide."""
        space = self.space(space_id)
        self._require_account(user_id)
        edge = self._edge(Block, block_id(actor, user_id), actor, user_id)
        already_blocked = edge.active
        edge.block(reason)  # first: the account-wide block holds from the Space's record of it
        space.block_user(actor, user_id, reason, already_blocked=already_blocked)
        return self._save(space_id, space, edge)

    @retried_on_conflict
    def delete_recording(self, space_id: UUID, reason: str) -> Outcome:
        space = self.space(space_id)
        space.delete_recording(reason)
        return self._save(space_id, space)

    @retried_on_conflict
    def delete_transcript(self, space_id: UUID, reason: str) -> Outcome:
        space = self.space(space_id)
        space.delete_transcript(reason)
        return self._save(space_id, space)

    # -- reads from the event store (auditors; never from read models) ---------------------

    def space(self, space_id: UUID) -> Space:
        return self._aggregate(space_id, Space, "No Space has this id.")

    def space_history(self, space_id: UUID) -> Iterator[DomainEventProtocol[UUID]]:
        self.space(space_id)
        return self.repository.event_store.get(space_id)

    def position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def close(self) -> None:
        if self._committer is not None:
            self._committer.close()
        super().close()

    # -- helpers ---------------------------------------------------------------------------

    def _account(self, account_id: UUID) -> Account:
        return self._aggregate(account_id, Account, f"No account has the id {account_id}.")

    def _require_account(self, account_id: UUID) -> None:
        """Existence only: once an account exists it always will, so this is remembered."""
        if account_id not in self._known_accounts:
            self._account(account_id)
            if len(self._known_accounts) > 100_000:
                self._known_accounts.clear()
            self._known_accounts.add(account_id)

    def _aggregate(self, aggregate_id: UUID, kind: type[T], missing: str) -> T:
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(missing) from None
        if not isinstance(aggregate, kind):
            raise NotFound(missing)
        return aggregate

    def _edge(self, kind: type[T], edge_id: UUID, one: UUID, other: UUID) -> T:
        try:
            return self.repository.get(edge_id)
        except AggregateNotFoundError:
            return kind.between(one, other)  # type: ignore[attr-defined]

    def _edge_is_active(self, edge_id: UUID) -> bool:
        try:
            return bool(self.repository.get(edge_id).active)
        except AggregateNotFoundError:
            return False

    def _save(self, subject_id: UUID, *aggregates: Any) -> Outcome:
        if self._committer is None:
            recordings = self.save(*aggregates)
        else:
            events = [e for aggregate in aggregates for e in aggregate.collect_events()]
            recordings = self._committer.save(events) if events else []
        position = recordings[-1].notification.id if recordings else self.position()
        for listener in self.saved_listeners:
            listener(position)
        return Outcome(subject_id, position)
