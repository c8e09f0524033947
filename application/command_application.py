"""An eventsourcing Application that runs `@command` methods (application/commands.py).

A command runs either alone, its save stored at once, or, with group commit, on the
committer thread as part of a batch whose commands are stored in one save
(application/group_commit.py). Which one is decided in `_execute` alone; what a command
loads and saves then goes through the run it was given (application/unit_of_work.py).

Two commands racing on one aggregate both decide on the same version; the second save
fails on the event store's unique (id, version) key and that command runs again, alone,
on fresh state, so the rules always judge the latest aggregate.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError, Notification, RecordConflictError, Recording

from application.aggregate_cache import AggregateCache
from application.commands import BoundCommand
from application.group_commit import GroupCommit, Submission
from application.loading import CachedLoader
from application.outcome import Outcome
from application.unit_of_work import Alone, CommandRun, InBatch, UnitOfWork
from domain.errors import NotFound

MAX_ATTEMPTS = 20
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class _Running(threading.local):
    run: CommandRun | None = None  # the command running on this thread, if any


class CommandApplication(Application[UUID]):
    def __init__(self, env: dict[str, str] | None = None, *, group_commit: bool = False,
                 cache_size: int = 50_000) -> None:
        super().__init__(env)
        # called with the notifications of every save here, and with none when another
        # process is known to have stored events
        self.saved_listeners: list[Callable[[list[Notification]], None]] = []
        self.cache = AggregateCache(cache_size)
        self._loader = CachedLoader(self.cache, self.repository)
        self._local = _Running()
        self._committer = GroupCommit(self._run_batch) if group_commit else None

    @property
    def groups_commits(self) -> bool:
        return self._committer is not None

    def position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def event_of(self, notification: Notification) -> Any:
        """The domain event a notification of the log holds (with its own attributes)."""
        return self.mapper.to_domain_event(notification)

    def submit(self, method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """For callers that must not block (group commit only): a command method and its
        arguments in, the Future of its Outcome out. Any other callable runs on the
        committer as it is, and its Future holds what it returns."""
        assert self._committer is not None, "submit needs group commit"
        work = (method.bind(*args, **kwargs) if isinstance(method, BoundCommand)
                else functools.partial(method, *args, **kwargs))
        return self._committer.submit(work)

    def save(self, *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None,
             **kwargs: object) -> list[Recording[UUID]]:
        """Stores, then tells `saved_listeners` what was stored."""
        recordings = super().save(*objs, **kwargs)
        if recordings:
            notifications = [recording.notification for recording in recordings]
            for listener in self.saved_listeners:
                listener(notifications)
        return recordings

    def close(self) -> None:
        if self._committer is not None:
            self._committer.close()
        super().close()

    # -- for command bodies ----------------------------------------------------------------

    def _find(self, aggregate_id: UUID) -> Aggregate | None:
        """The command's own copy of an aggregate, or None when it does not exist."""
        run = self._local.run
        if run is not None and (staged := run.get(aggregate_id)) is not None:
            return staged
        return self._loader.find(aggregate_id)

    def _aggregate(self, aggregate_id: UUID, kind: type[T], missing: str) -> T:
        aggregate = self._find(aggregate_id)
        if not isinstance(aggregate, kind):
            raise NotFound(missing)
        return aggregate

    def _save(self, subject_id: UUID, *aggregates: Aggregate) -> None:
        """The command's decision: stored now, or with its batch (as its run says); the
        command's Outcome concerns `subject_id`."""
        run = self._local.run
        if run is None:
            raise RuntimeError("_save is for the bodies of @command methods")
        run.save(subject_id, aggregates)

    # -- how commands run ------------------------------------------------------------------

    def _execute(self, body: Callable[[], None]) -> Outcome:
        """Runs a command's body and returns its Outcome: with group commit on the committer
        thread, in a batch; otherwise here, alone."""
        if self._committer is not None:
            batched: Outcome = self._committer.submit(body).result()
            return batched
        alone = self._alone(body)
        assert alone is not None, f"{body} saved nothing; a command saves"
        return alone

    def _alone(self, work: Callable[[], R]) -> Outcome | R:
        """Runs the work by itself, again after a version conflict, on fresh state."""
        for _ in range(MAX_ATTEMPTS - 1):
            try:
                return self._attempt(work)
            except RecordConflictError:
                continue
        return self._attempt(work)

    def _attempt(self, work: Callable[[], R]) -> Outcome | R:
        run = Alone(self._store)
        result = self._run_within(run, work)
        return result if run.outcome is None else run.outcome  # saved nothing: no command

    def _store(self, aggregates: Sequence[Aggregate]) -> int:
        """Saves a command run alone; the position the store reached."""
        try:
            recordings = self.save(*aggregates)
        except IntegrityError:
            self.cache.conflicted(a.id for a in aggregates)
            raise
        self.cache.keep(aggregates)
        return recordings[-1].notification.id if recordings else self.position()

    def _run_batch(self, batch: list[Submission]) -> None:
        """On the committer thread: the batch's commands in order, then one save for all."""
        unit = UnitOfWork()
        decided: list[tuple[Submission, InBatch, object]] = []
        for submission in batch:
            run = InBatch(unit)
            try:
                result = self._run_within(run, submission.work)
            except BaseException as error:  # a broken rule fails this command alone
                submission.done.set_exception(error)
            else:
                decided.append((submission, run, result))
        try:
            recordings = self.save(*unit.events) if unit.events else []
        except IntegrityError:
            # Another process changed an aggregate, or two registrations took one handle:
            # each command runs again alone, with its own save and its usual retries.
            self.cache.conflicted(unit.aggregates)
            for submission, _, _ in decided:
                self._settle_alone(submission)
            return
        except BaseException as error:  # a database outage fails every command in the batch
            for submission, _, _ in decided:
                submission.done.set_exception(error)
            return
        self.cache.keep(unit.aggregates.values(), handed_over=True)  # the batch is over
        position = recordings[-1].notification.id if recordings else self.position()
        for submission, run, result in decided:
            outcome = run.outcome(recordings, position)
            submission.done.set_result(result if outcome is None else outcome)

    def _settle_alone(self, submission: Submission) -> None:
        try:
            submission.done.set_result(self._alone(submission.work))
        except BaseException as error:
            submission.done.set_exception(error)

    def _run_within(self, run: CommandRun, work: Callable[[], R]) -> R:
        """The work, with `run` as this thread's running command."""
        outer, self._local.run = self._local.run, run  # outer: a command that runs a command
        try:
            return work()
        finally:
            self._local.run = outer
