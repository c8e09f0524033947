"""`?after=<position>`: a read waits until the views include a position, without holding a
thread. Waiters sleep on an asyncio condition of the server's event loop, woken as the
views move: by the projection runner itself when it runs in this process, otherwise by a
poll of the views' recorded position (in a worker thread, only while someone waits).
Each caller may have a few reads waiting at once; more are refused with 429. With the read
cache on (api/read_cache.py), the poll runs all the time, a little more slowly."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import TYPE_CHECKING

from anyio import to_thread

from projections.runner import ProjectionRunner

if TYPE_CHECKING:
    from application.ports import ViewsProgress

log = logging.getLogger(__name__)
POLL_EVERY = 0.01  # seconds between reads of the views' position, while someone waits
FOLLOW_EVERY = 0.05  # and while nobody waits, for the read cache


class TooManyWaiting(Exception):
    pass


class ViewsWaiter:
    def __init__(self, progress: ViewsProgress, per_caller: int):
        self.progress = progress
        self.per_caller = per_caller
        self.position = 0
        self._changed: asyncio.Condition | None = None
        self._waiting: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task | None = None
        self._follower: asyncio.Task | None = None

    def start_on(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._changed = asyncio.Condition()
        if isinstance(self.progress, ProjectionRunner):  # it feeds the views here: it says so
            def advance(position: int) -> None:  # on the runner's thread
                loop.call_soon_threadsafe(self._advance, position)

            self.progress.progress_listeners.append(advance)

    def follow(self) -> None:
        """Keeps `position` current while nobody waits, too (the runner of this process
        says where it is; the views' recorded position is read otherwise)."""
        if not isinstance(self.progress, ProjectionRunner):
            self._follower = asyncio.get_running_loop().create_task(self._follow())

    def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()

    async def wait_for(self, caller: str, position: int, timeout: float) -> bool:
        """True once the views include `position`; False if `timeout` passed first."""
        if position <= self.position:
            return True
        if self._waiting[caller] >= self.per_caller:
            raise TooManyWaiting
        assert self._changed is not None, "start_on() first"
        self._waiting[caller] += 1
        try:
            if isinstance(self.progress, ProjectionRunner):
                self.progress.wake()
                self._advance(self.progress.caught_up_to())  # it may have moved meanwhile
            elif self._poller is None or self._poller.done():
                self._poller = asyncio.get_running_loop().create_task(self._poll())
            async with self._changed:
                try:
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: self.position >= position), timeout)
                except TimeoutError:
                    return False
            return True
        finally:
            self._waiting[caller] -= 1
            if not self._waiting[caller]:
                del self._waiting[caller]

    def _advance(self, position: int) -> None:
        if position > self.position:
            self.position = position
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _poll(self) -> None:
        while self._waiting:
            self._advance(await to_thread.run_sync(self.progress.position))
            await asyncio.sleep(POLL_EVERY)

    async def _follow(self) -> None:
        while True:
            try:
                self._advance(await to_thread.run_sync(self.progress.position))
            except Exception:  # the database may be away a moment: the cache keeps its stamp
                log.exception("could not read how far the views are")
            await asyncio.sleep(FOLLOW_EVERY)
