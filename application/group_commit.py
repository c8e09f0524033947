"""Group commit: the events of concurrent commands stored in one transaction.

The event store serialises writers (eventsourcing locks the events table so the
notification log has no gaps), so one save per command makes commands queue on
that lock. Here commands hand their new events to one committer thread, which
stores everything waiting at that moment in one transaction: one lock, one
commit, for many commands. Nothing waits on a timer: an idle committer stores
the first command at once, and while it does, the next ones gather.

A batch holds at most one command per aggregate (a second one was decided on the
same version and would conflict: it is refused at once and retried by its
command). If the batch's save fails on a conflict, each command is saved on its
own so that only the conflicting ones fail.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from eventsourcing.persistence import IntegrityError, Recording


class _Submission:
    def __init__(self, events: list[Any]):
        self.events = events
        self.ids = {e.originator_id for e in events}
        self.done: Future[list[Recording]] = Future()


class GroupCommitter:
    def __init__(self, save: Any, max_batch: int = 256):
        self._save = save  # the application's own save(*events)
        self.max_batch = max_batch
        self._queue: list[_Submission] = []
        self._ready = threading.Condition()
        self._stopped = False
        self.batches = 0
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def save(self, events: list[Any]) -> Sequence[Recording]:
        submission = _Submission(events)
        with self._ready:
            if self._stopped:
                raise RuntimeError("the application is closed")
            self._queue.append(submission)
            self._ready.notify()
        return submission.done.result()

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
            self._commit(batch)

    def _commit(self, batch: list[_Submission]) -> None:
        taken: set[Any] = set()
        accepted = []
        for submission in batch:
            if submission.ids & taken:
                submission.done.set_exception(IntegrityError("decided on a version a command "
                                                             "in the same batch is changing"))
            else:
                taken |= submission.ids
                accepted.append(submission)
        try:
            recordings = self._save(*[e for s in accepted for e in s.events])
        except IntegrityError:
            for submission in accepted:
                self._commit_alone(submission)
            return
        except BaseException as error:  # a database outage fails every command in the batch
            for submission in accepted:
                submission.done.set_exception(error)
            return
        self.batches += 1
        start = 0
        for submission in accepted:
            submission.done.set_result(recordings[start:start + len(submission.events)])
            start += len(submission.events)

    def _commit_alone(self, submission: _Submission) -> None:
        try:
            submission.done.set_result(self._save(*submission.events))
        except BaseException as error:
            submission.done.set_exception(error)
