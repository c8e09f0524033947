"""Aggregates for commands: from the in-memory cache, fast-forwarded when the store is
ahead of it, and read from the store only on a miss (application/aggregate_cache.py)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository, project_aggregate
from eventsourcing.domain import Aggregate

from application.aggregate_cache import ABSENT, AggregateCache


class CachedLoader:
    def __init__(self, cache: AggregateCache, repository: Repository[UUID]) -> None:
        self._cache = cache
        self._repository = repository

    def find(self, aggregate_id: UUID) -> Aggregate | None:
        """The caller's own copy of an aggregate, or None when it does not exist."""
        cached, behind = self._cache.get(aggregate_id)
        if cached is ABSENT:
            return None
        if cached is None:
            try:
                cached = self._repository.get(aggregate_id)
            except AggregateNotFoundError:
                self._cache.keep_absent(aggregate_id)
                return None
        elif behind:
            cached = project_aggregate(
                cached, self._repository.event_store.get(aggregate_id, gt=cached.version))
        else:
            return cached
        self._cache.keep([cached])
        return cached
