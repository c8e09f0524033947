"""Group commit: concurrent commands run one after another on one thread, and the events
of all of them are stored in one transaction.

The event store serialises writers (eventsourcing locks the events table so the
notification log has no gaps), so one save per command makes commands queue on that
lock, and a thread per waiting command makes them queue on Python's GIL. Here commands
are handed to one committer thread, which takes everything waiting at that moment as a
batch and runs it (`run_batch`, the application's). Nothing waits on a timer: an idle
committer takes the first command at once, and while it stores that one the next ones
gather.

`UnitOfWork` holds what a batch's commands decided before it is stored, so a command
sees the decisions of the commands before it in the same batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from copy import deepcopy
from typing import Any
from uuid import UUID


class Submission:
    def __init__(self, command: Callable[[], Any]):
        self.command = command
        self.done: Future[Any] = Future()

    def settle(self) -> None:
        """Runs the command and hands its result or error to the caller."""
        try:
            self.done.set_result(self.command())
        except BaseException as error:
            self.done.set_exception(error)


class UnitOfWork:
    def __init__(self) -> None:
        self.aggregates: dict[UUID, Any] = {}
        self.events: list[Any] = []

    def get(self, aggregate_id: UUID) -> Any:
        found = self.aggregates.get(aggregate_id)
        return None if found is None else deepcopy(found)

    def stage(self, aggregates: tuple[Any, ...]) -> None:
        for aggregate in aggregates:
            self.events += aggregate.collect_events()
            self.aggregates[aggregate.id] = aggregate


class GroupCommit:
    def __init__(self, run_batch: Callable[[list[Submission]], None], max_batch: int = 256):
        self._run_batch = run_batch
        self.max_batch = max_batch
        self._queue: list[Submission] = []
        self._ready = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def submit(self, command: Callable[[], Any]) -> Future[Any]:
        submission = Submission(command)
        with self._ready:
            if self._stopped:
                raise RuntimeError("the application is closed")
            self._queue.append(submission)
            self._ready.notify()
        return submission.done

    def in_committer(self) -> bool:
        return threading.current_thread() is self._thread

    def close(self) -> None:
        with self._ready:
            self._stopped = True
            self._ready.notify()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._queue or self._stopped)
                if self._stopped and not self._queue:
                    return
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch:]
            try:
                self._run_batch(batch)
            except BaseException as error:  # a bug in the batch must not strand its callers
                for submission in batch:
                    if not submission.done.done():
                        submission.done.set_exception(error)
