"""Group commit: concurrent commands run one after another on one thread, and the events
of all of them are stored in one transaction.

The event store serialises writers (eventsourcing locks the events table so the
notification log has no gaps), so one save per command makes commands queue on that
lock, and a thread per waiting command makes them queue on Python's GIL. Here commands
are handed to one committer thread, which takes everything waiting at that moment as a
batch and runs it (`run_batch`, the application's: application/commands.py). Nothing
waits on a timer: an idle committer takes the first command at once, and while it stores
that one the next ones gather.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class Submission:
    """Work handed to the committer, and the Future its caller waits on; `run_batch` gives
    it its result (commands of different kinds share a batch, hence `Any`)."""

    def __init__(self, work: Callable[[], object]):
        self.work = work
        self.done: Future[Any] = Future()


class GroupCommit:
    def __init__(self, run_batch: Callable[[list[Submission]], None], max_batch: int = 256):
        self._run_batch = run_batch
        self.max_batch = max_batch
        self._queue: list[Submission] = []
        self._ready = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[], object]) -> Future[Any]:
        if threading.current_thread() is self._thread:
            # it would run after the batch that is waiting for it: a command ran a command
            raise RuntimeError("the committer cannot wait for its own submissions")
        submission = Submission(work)
        with self._ready:
            if self._stopped:
                raise RuntimeError("the application is closed")
            self._queue.append(submission)
            self._ready.notify()
        return submission.done

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
