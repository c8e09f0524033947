"""Aggregates kept in memory between commands, and kept true while other processes write.

A command takes its aggregates from here and reads the store only on a miss, or when the
cached aggregate is behind: then it reads just the newer events ("fast-forward"). What
this process saves goes in after the commit. What any process stores reaches `follow`
(a follower of the notification log calls it), which notes the newest version of each
id, so an aggregate some other process changed is known to be behind. A command that
still decided on an old version fails on the store's unique (id, version) key; its
aggregates are marked behind and it runs again on fresh state, so rules that judge the
saved aggregate always judge the latest one. Facts read from other aggregates (is this
user blocked?) are as fresh as the follower, which a save anywhere wakes.

Ids that name nothing are remembered too: most follow and block edges never exist.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from copy import deepcopy
from typing import Any
from uuid import UUID

ABSENT = object()


class _Bounded(OrderedDict):
    """Least recently used entries go first."""

    def __init__(self, maxsize: int):
        super().__init__()
        self.maxsize = maxsize

    def touch(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.maxsize:
            self.popitem(last=False)


class AggregateCache:
    def __init__(self, maxsize: int = 10_000):
        self._lock = threading.Lock()
        self._entries = _Bounded(maxsize)  # id -> aggregate or ABSENT
        self._seen = _Bounded(maxsize * 10)  # id -> newest version known to be stored

    def get(self, aggregate_id: UUID) -> tuple[Any, bool]:
        """(a copy of the cached aggregate, whether it is behind the store), (ABSENT, False),
        or (None, False) when this cache does not know the id."""
        with self._lock:
            found = self._entries.touch(aggregate_id)
            if found is None or found is ABSENT:
                return found, False
            behind = self._seen.get(aggregate_id, 0) > found.version
        return deepcopy(found), behind

    def keep(self, aggregates: Iterable[Any], *, handed_over: bool = False) -> None:
        """Loaded or saved aggregates; one older than the cached one is ignored. Kept as
        copies, unless `handed_over`: the caller will not touch them again."""
        with self._lock:
            for aggregate in aggregates:
                cached = self._entries.get(aggregate.id)
                if cached is None or cached is ABSENT or cached.version < aggregate.version:
                    self._entries.keep(aggregate.id,
                                       aggregate if handed_over else deepcopy(aggregate))

    def keep_absent(self, aggregate_id: UUID) -> None:
        with self._lock:
            if aggregate_id not in self._seen and aggregate_id not in self._entries:
                self._entries.keep(aggregate_id, ABSENT)

    def conflicted(self, aggregate_ids: Iterable[UUID]) -> None:
        """A save failed on these ids: the store holds a newer version than the cache."""
        with self._lock:
            for aggregate_id in aggregate_ids:
                cached = self._entries.get(aggregate_id)
                if cached is None or cached is ABSENT:
                    self._entries.pop(aggregate_id, None)
                else:
                    self._note(aggregate_id, cached.version + 1)

    def follow(self, notifications: Iterable[Any]) -> None:
        """Newly stored events, from any process, in the order of the log."""
        with self._lock:
            for n in notifications:
                self._note(n.originator_id, n.originator_version)
                if self._entries.get(n.originator_id) is ABSENT:
                    del self._entries[n.originator_id]

    def _note(self, aggregate_id: UUID, version: int) -> None:
        self._seen.keep(aggregate_id, max(version, self._seen.get(aggregate_id, 0)))
