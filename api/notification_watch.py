"""Wakes the notification streams of an API process when their recipients get something.

One watch per process: every `poll_interval` seconds, or at once when a notifier in this
process says it wrote rows (`poke`), it asks the views for the newest arrival number of
every recipient with a stream open here (one query per 500 of them), and wakes the
streams of those whose number moved. A stream woken for nothing reads nothing new.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import TYPE_CHECKING

from anyio import to_thread

from projections.notifications import NotificationQueries

if TYPE_CHECKING:
    from application.ports import Views

log = logging.getLogger(__name__)
PER_QUERY = 500


class NotificationWatch:
    def __init__(self, views: Views, poll_interval: float = 0.5):
        self.queries = NotificationQueries(views)
        self.poll_interval = poll_interval
        self._streams: dict[str, set[asyncio.Event]] = collections.defaultdict(set)
        self._known: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poked: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def start_on(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._poked = loop, asyncio.Event()
        self._task = loop.create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def poke(self) -> None:
        """From any thread: rows were written; look now."""
        if self._loop is not None and self._poked is not None:
            self._loop.call_soon_threadsafe(self._poked.set)

    def watch(self, recipient: str) -> asyncio.Event:
        woken = asyncio.Event()
        self._streams[recipient].add(woken)
        return woken

    def unwatch(self, recipient: str, woken: asyncio.Event) -> None:
        streams = self._streams.get(recipient)
        if streams is not None:
            streams.discard(woken)
            if not streams:
                del self._streams[recipient]
                self._known.pop(recipient, None)

    async def _run(self) -> None:
        assert self._poked is not None
        while True:
            try:
                await asyncio.wait_for(self._poked.wait(), self.poll_interval)
            except TimeoutError:
                pass
            self._poked.clear()
            recipients = list(self._streams)
            if not recipients:
                continue
            try:
                newest = await to_thread.run_sync(self._newest, recipients)
            except Exception:
                log.exception("notification watch: the views did not answer")
                continue
            for recipient, rseq in newest.items():
                if rseq != self._known.get(recipient):
                    self._known[recipient] = rseq
                    for woken in self._streams.get(recipient, ()):
                        woken.set()

    def _newest(self, recipients: list[str]) -> dict[str, int]:
        newest: dict[str, int] = {}
        for start in range(0, len(recipients), PER_QUERY):
            newest.update(self.queries.last_arrived(recipients[start:start + PER_QUERY]))
        return newest
