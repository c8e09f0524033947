"""The Spaces application: every method is a command, returning where the event store got to.

Each command loads the aggregates it needs, lets them decide, and saves them together.
Aggregates come from an in-memory cache (application/aggregate_cache.py) and are read
from the store only on a miss. Two commands racing on one Space both decide on the same
version; the second save fails on the event store's unique (id, version) key and the
command runs again on fresh state, so the rules always judge the latest Space (two
grants for the last seat never make eleven speakers). With group commit the commands
run on the committer thread, a batch at a time (application/group_commit.py).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, project_aggregate
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, RecordConflictError, Recording

from application.aggregate_cache import ABSENT, AggregateCache
from application.group_commit import GroupCommit, Submission, UnitOfWork
from domain.errors import NotFound, RuleBroken, UnknownCaller
from domain.operations import EventSkip
from domain.people import (Account, Block, Follow, HandleClaim, account_id_for, block_id,
                           follow_id)
from domain.space import DEFAULT_STAGE_LIMIT, SCHEDULE_HORIZON, Space

MAX_ATTEMPTS = 20
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What a command did: the id it concerns and the event store position it reached."""

    id: UUID
    position: int


def command(method: Callable[..., T]) -> Callable[..., T]:
    """With group commit, hands the command to the committer thread and waits for it;
    there, inside a batch, runs it once (the batch's save decides); otherwise runs it
    again after a version conflict, on the fresh state."""

    @functools.wraps(method)
    def run(self: SpacesApplication, *args: Any, **kwargs: Any) -> T:
        if self._group_commit is not None and not self._group_commit.in_committer():
            return self._group_commit.submit(functools.partial(run, self, *args, **kwargs)).result()
        if self._unit() is not None:
            return method(self, *args, **kwargs)
        for _ in range(MAX_ATTEMPTS - 1):
            try:
                return method(self, *args, **kwargs)
            except RecordConflictError:
                continue
        return method(self, *args, **kwargs)

    return run


class SpacesApplication(Application[UUID]):
    name = "Spaces"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        stage_limit: int = DEFAULT_STAGE_LIMIT,
        schedule_horizon: timedelta = SCHEDULE_HORIZON,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        group_commit: bool = False,
        cache_size: int = 50_000,
    ):
        super().__init__(env)
        self.stage_limit = stage_limit
        self.schedule_horizon = schedule_horizon
        self.clock = clock
        # called with the notifications of every save here, and with none when another
        # process is known to have stored events
        self.saved_listeners: list[Callable[[list[Any]], None]] = []
        self.cache = AggregateCache(cache_size)
        self._local = threading.local()  # the committer thread's unit of work
        self._group_commit = GroupCommit(self._run_batch) if group_commit else None

    # -- people ----------------------------------------------------------------------------

    @command
    def register_account(self, handle: str) -> Outcome:
        account = Account.register(handle)
        claim = HandleClaim(handle, account.id)
        self._require_handle_free(handle, account.id, claim.id)
        try:
            return self._save(account.id, account, claim)
        except IntegrityError:
            self._require_handle_free(handle, account.id, claim.id)
            raise RuleBroken(f"The handle @{handle} is taken.") from None

    def _require_handle_free(self, handle: str, account_id: UUID, claim_id: UUID) -> None:
        if self._find(account_id) is not None:
            raise RuleBroken(f"The handle @{handle} is taken.")
        claim = self._find(claim_id)
        if claim is not None:
            raise RuleBroken(f"The handle @{handle} looks too much like @{claim.handle}, which "
                             "is taken (I, l, 1 and i, O and 0, rn and m read alike); choose another.")

    def handle_of(self, account_id: UUID) -> str:
        return self._account(account_id).handle

    def account_id_for(self, handle: str) -> UUID:
        return account_id_for(handle)

    @command
    def follow(self, follower_id: UUID, followee_id: UUID) -> Outcome:
        self.require_caller(follower_id)
        self._require_account(followee_id)
        edge = self._edge(Follow, follow_id(follower_id, followee_id), follower_id, followee_id)
        edge.follow()
        return self._save(followee_id, edge)

    @command
    def unfollow(self, follower_id: UUID, followee_id: UUID) -> Outcome:
        self.require_caller(follower_id)
        self._require_account(followee_id)
        edge = self._edge(Follow, follow_id(follower_id, followee_id), follower_id, followee_id)
        edge.unfollow()
        return self._save(followee_id, edge)

    @command
    def block(self, blocker_id: UUID, blocked_id: UUID) -> Outcome:
        self.require_caller(blocker_id)
        self._require_account(blocked_id)
        edge = self._edge(Block, block_id(blocker_id, blocked_id), blocker_id, blocked_id)
        edge.block()
        return self._save(blocked_id, edge)

    @command
    def unblock(self, blocker_id: UUID, blocked_id: UUID) -> Outcome:
        self.require_caller(blocker_id)
        self._require_account(blocked_id)
        edge = self._edge(Block, block_id(blocker_id, blocked_id), blocker_id, blocked_id)
        edge.unblock()
        return self._save(blocked_id, edge)

    def follows(self, follower_id: UUID, followee_id: UUID) -> bool:
        return self._edge_is_active(follow_id(follower_id, followee_id))

    def blocks(self, blocker_id: UUID, blocked_id: UUID) -> bool:
        return self._edge_is_active(block_id(blocker_id, blocked_id))

    # -- operations ------------------------------------------------------------------------

    @command
    def skip_event(self, projection: str, position: int, operator: str, reason: str) -> Outcome:
        """An operator's decision that `projection` passes over the event at `position`."""
        decision = EventSkip.decide(projection, position, operator, reason)
        if self._find(decision.id) is not None:
            raise RuleBroken(f"Projection {projection} already skips position {position}.")
        try:
            return self._save(decision.id, decision)
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
    ) -> Outcome:
        self.require_caller(host_id)
        space = Space.create(
            host_id, title, speaker_policy, transcripts, recording, self.stage_limit
        )
        if scheduled_for is not None:
            space.schedule(host_id, scheduled_for, self.clock(), self.schedule_horizon)
        return self._save(space.id, space)

    @command
    def launch(self, space_id: UUID, actor: UUID) -> Outcome:
        space = self.space(space_id)
        space.launch(actor)
        return self._save(space_id, space)

    @command
    def end(self, space_id: UUID, actor: UUID) -> Outcome:
        space = self.space(space_id)
        space.end(actor)
        return self._save(space_id, space)

    @command
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
            space.schedule(actor, scheduled_for, self.clock(), self.schedule_horizon)
        if transcripts is not None:
            space.switch_transcripts(actor, transcripts)
        if recording is True:
            space.start_recording(actor)
        elif recording is False:
            space.stop_recording(actor)
        return self._save(space_id, space)

    # -- stage -----------------------------------------------------------------------------

    @command
    def invite(self, space_id: UUID, actor: UUID, user_id: UUID) -> Outcome:
        space = self.space(space_id)
        self._require_account(user_id)
        space.invite(actor, user_id, user_is_blocked=self.blocks(space.host_id, user_id))
        return self._save(space_id, space)

    @command
    def accept_invitation(self, space_id: UUID, actor: UUID) -> Outcome:
        space = self.space(space_id)
        space.accept_invitation(actor, actor_is_blocked=self.blocks(space.host_id, actor))
        return self._save(space_id, space)

    @command
    def decline_invitation(self, space_id: UUID, actor: UUID) -> Outcome:
        space = self.space(space_id)
        space.decline_invitation(actor)
        return self._save(space_id, space)

    @command
    def request_to_speak(self, space_id: UUID, actor: UUID) -> Outcome:
        self.require_caller(actor)
        space = self.space(space_id)
        space.request_to_speak(
            actor,
            actor_is_blocked=self.blocks(space.host_id, actor),
            host_follows_actor=self.follows(space.host_id, actor),
        )
        return self._save(space_id, space)

    @command
    def grant_speaker(self, space_id: UUID, actor: UUID, user_id: UUID) -> Outcome:
        space = self.space(space_id)
        self._require_account(user_id)
        space.grant_speaker(actor, user_id, user_is_blocked=self.blocks(space.host_id, user_id))
        return self._save(space_id, space)

    @command
    def revoke_speaker(self, space_id: UUID, actor: UUID, user_id: UUID) -> Outcome:
        space = self.space(space_id)
        space.revoke_speaker(actor, user_id)
        return self._save(space_id, space)

    @command
    def mute_speaker(self, space_id: UUID, actor: UUID, user_id: UUID) -> Outcome:
        space = self.space(space_id)
        space.mute_speaker(actor, user_id)
        return self._save(space_id, space)

    @command
    def unmute(self, space_id: UUID, actor: UUID, user_id: UUID) -> Outcome:
        space = self.space(space_id)
        space.unmute(actor, user_id)
        return self._save(space_id, space)

    # -- moderation ------------------------------------------------------------------------

    @command
    def remove_user(
        self, space_id: UUID, actor: UUID, user_id: UUID, reason: str | None = None
    ) -> Outcome:
        space = self.space(space_id)
        self._require_account(user_id)
        space.remove_user(actor, user_id, reason)
        return self._save(space_id, space)

    @command
    def report_user(self, space_id: UUID, actor: UUID, user_id: UUID, reason: str) -> Outcome:
        self.require_caller(actor)
        space = self.space(space_id)
        self._require_account(user_id)
        space.report_user(
            actor, user_id, reason, actor_is_blocked=self.blocks(space.host_id, actor)
        )
        return self._save(space_id, space)

    @command
    def block_from_space(
        self, space_id: UUID, actor: UUID, user_id: UUID, reason: str | None = None
    ) -> Outcome:
        """The host blocks a user from inside a Space: recorded in the Space and account-wide."""
        space = self.space(space_id)
        self._require_account(user_id)
        # The Space decides first, so that who may block is settled before what is blocked.
        space.block_user(actor, user_id, reason, already_blocked=self.blocks(actor, user_id))
        edge = self._edge(Block, block_id(actor, user_id), actor, user_id)
        edge.block(reason)
        return self._save(space_id, space, edge)

    @command
    def delete_recording(self, space_id: UUID, reason: str) -> Outcome:
        space = self.space(space_id)
        space.delete_recording(reason)
        return self._save(space_id, space)

    @command
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

    @property
    def groups_commits(self) -> bool:
        return self._group_commit is not None

    def submit(self, command: Callable[..., Outcome], *args: Any, **kwargs: Any) -> Future[Outcome]:
        """For callers that must not block (group commit only): a command method and its
        arguments in, the Future of its Outcome out."""
        assert self._group_commit is not None, "submit needs group commit"
        return self._group_commit.submit(functools.partial(command, *args, **kwargs))

    def close(self) -> None:
        if self._group_commit is not None:
            self._group_commit.close()
        super().close()

    # -- helpers ---------------------------------------------------------------------------

    def _account(self, account_id: UUID) -> Account:
        return self._aggregate(account_id, Account, f"No account has the id {account_id}.")

    def require_caller(self, account_id: UUID) -> None:
        """The account a token names exists (tokens outlive nothing they name)."""
        if not isinstance(self._find(account_id), Account):
            raise UnknownCaller("Your token names no account on this server; sign up again.")

    def _require_account(self, account_id: UUID) -> None:
        self._account(account_id)  # existence only; accounts stay in the aggregate cache

    def _aggregate(self, aggregate_id: UUID, kind: type[T], missing: str) -> T:
        aggregate = self._find(aggregate_id)
        if not isinstance(aggregate, kind):
            raise NotFound(missing)
        return aggregate

    def _find(self, aggregate_id: UUID) -> Any:
        """The command's own copy of an aggregate, or None when it does not exist."""
        unit = self._unit()
        if unit is not None and (staged := unit.get(aggregate_id)) is not None:
            return staged
        cached, behind = self.cache.get(aggregate_id)
        if cached is ABSENT:
            return None
        if cached is None:
            try:
                cached = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                self.cache.keep_absent(aggregate_id)
                return None
        elif behind:
            cached = project_aggregate(
                cached, self.repository.event_store.get(aggregate_id, gt=cached.version))
        else:
            return cached
        self.cache.keep([cached])
        return cached

    def _edge(self, kind: type[T], edge_id: UUID, one: UUID, other: UUID) -> T:
        edge = self._find(edge_id)
        return kind.between(one, other) if edge is None else edge  # type: ignore[attr-defined]

    def _edge_is_active(self, edge_id: UUID) -> bool:
        edge = self._find(edge_id)
        return edge is not None and bool(edge.active)

    def _unit(self) -> UnitOfWork | None:
        return getattr(self._local, "unit", None)

    def _save(self, subject_id: UUID, *aggregates: Any) -> Outcome:
        unit = self._unit()
        if unit is not None:
            unit.stage(aggregates)
            return Outcome(subject_id, -1)  # the batch's save gives the position
        try:
            recordings = self.save(*aggregates)
        except IntegrityError:
            self.cache.conflicted(a.id for a in aggregates)
            raise
        self.cache.keep(aggregates)
        position = recordings[-1].notification.id if recordings else self.position()
        return Outcome(subject_id, position)

    def _run_batch(self, batch: list[Submission]) -> None:
        """On the committer thread: the batch's commands in order, then one save for all."""
        unit = self._local.unit = UnitOfWork()
        decided: list[tuple[Submission, Outcome, int, int]] = []
        try:
            for submission in batch:
                start = len(unit.events)
                try:
                    outcome = submission.command()
                except BaseException as error:  # a broken rule fails this command alone
                    submission.done.set_exception(error)
                else:
                    decided.append((submission, outcome, start, len(unit.events)))
        finally:
            self._local.unit = None
        try:
            recordings = self.save(*unit.events) if unit.events else []
        except IntegrityError:
            # Another process changed an aggregate, or two registrations took one handle:
            # each command runs again alone, with its own save and its usual retries.
            self.cache.conflicted(unit.aggregates)
            for submission, *_ in decided:
                submission.settle()
            return
        except BaseException as error:  # a database outage fails every command in the batch
            for submission, *_ in decided:
                submission.done.set_exception(error)
            return
        self.cache.keep(unit.aggregates.values(), handed_over=True)  # the batch is over
        last = recordings[-1].notification.id if recordings else self.position()
        for submission, outcome, start, end in decided:
            position = recordings[end - 1].notification.id if end > start else last
            submission.done.set_result(Outcome(outcome.id, position)
                                       if isinstance(outcome, Outcome) else outcome)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        recordings = super().save(*objs, **kwargs)
        if recordings:
            notifications = [recording.notification for recording in recordings]
            for listener in self.saved_listeners:
                listener(notifications)
        return recordings
