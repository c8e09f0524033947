"""The busiest reads (the listing, one Space, a reader's feed) answered from memory: each
answer is kept as the JSON it was sent as, for as long as the views have not moved (any
projected event makes every kept answer stale) and at most `seconds` (listener counts
change without events). An answer is stamped with the views' position from before its
query ran, so it is never kept past a change that it might have missed; a read with
`?after=` has waited for the views first, so it sees its own writes as without the cache.
The position comes from the ViewsWaiter, which follows the views while the cache is on."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

from anyio import to_thread
from fastapi import Response
from pydantic import BaseModel

if TYPE_CHECKING:
    from api.read_your_writes import ViewsWaiter


class ReadCache:
    def __init__(self, waiter: ViewsWaiter, seconds: float, size: int = 20_000):
        self.waiter, self.seconds, self.size = waiter, seconds, size
        self._kept: OrderedDict[Hashable, tuple[int, float, bytes]] = OrderedDict()
        self.hits = self.misses = 0

    async def answer(self, key: Hashable, read: Callable[[], BaseModel]) -> Response:
        """The kept answer for `key`, else `read()` (in a worker thread), kept."""
        position, now = self.waiter.position, time.monotonic()
        kept = self._kept.get(key)
        if kept is not None and kept[0] == position and kept[1] > now:
            self.hits += 1
            self._kept.move_to_end(key)
            return Response(kept[2], media_type="application/json")
        self.misses += 1
        body = (await to_thread.run_sync(read)).model_dump_json().encode()
        if self.seconds > 0:
            self._kept[key] = (position, now + self.seconds, body)
            self._kept.move_to_end(key)
            if len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return Response(body, media_type="application/json")
