"""Where a running command's save goes: stored at once when the command runs alone, staged
when it runs in a group-commit batch.

A batch's `UnitOfWork` holds what its commands decided before it is stored, so a command
sees the decisions of the commands before it. Each command's `InBatch` notes which of the
unit's events are its own, so once the unit is stored it can tell where they went; until
then a command in a batch has no position at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from copy import deepcopy
from typing import Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import Recording

from application.outcome import Outcome


class CommandRun(Protocol):
    """What the command running on a thread loads from and saves to."""

    def get(self, aggregate_id: UUID) -> Aggregate | None:
        """A copy of an aggregate this run has decided on but not stored, if any."""

    def save(self, subject_id: UUID, aggregates: Sequence[Aggregate]) -> None:
        """The command's decision: these aggregates; its Outcome concerns `subject_id`."""


class Alone:
    """A command run by itself: what it saves is stored at once, by `store`, which
    returns the position the store reached."""

    def __init__(self, store: Callable[[Sequence[Aggregate]], int]) -> None:
        self._store = store
        self.outcome: Outcome | None = None  # None until the command has saved

    def get(self, aggregate_id: UUID) -> None:
        return None

    def save(self, subject_id: UUID, aggregates: Sequence[Aggregate]) -> None:
        self.outcome = Outcome(subject_id, self._store(aggregates))


class UnitOfWork:
    """The aggregates and events a batch's commands decided, to be stored together."""

    def __init__(self) -> None:
        self.aggregates: dict[UUID, Aggregate] = {}
        self.events: list[DomainEventProtocol[UUID]] = []

    def get(self, aggregate_id: UUID) -> Aggregate | None:
        found = self.aggregates.get(aggregate_id)
        return None if found is None else deepcopy(found)

    def stage(self, aggregates: Sequence[Aggregate]) -> None:
        for aggregate in aggregates:
            self.events += aggregate.collect_events()
            self.aggregates[aggregate.id] = aggregate


class InBatch:
    """One command's part of a batch: it stages what it saves in the batch's unit."""

    def __init__(self, unit: UnitOfWork) -> None:
        self._unit = unit
        self._first = self._end = len(unit.events)  # its events are unit.events[first:end]
        self._subject_id: UUID | None = None

    def get(self, aggregate_id: UUID) -> Aggregate | None:
        return self._unit.get(aggregate_id)

    def save(self, subject_id: UUID, aggregates: Sequence[Aggregate]) -> None:
        self._unit.stage(aggregates)
        self._subject_id, self._end = subject_id, len(self._unit.events)

    def outcome(self, recordings: Sequence[Recording[UUID]], position: int) -> Outcome | None:
        """Once the unit is stored (`recordings`, one per event, in order): the position of
        this command's last event, or `position` if it changed nothing; None if it never
        saved (it was no command)."""
        if self._subject_id is None:
            return None
        if self._end > self._first:
            position = recordings[self._end - 1].notification.id
        return Outcome(self._subject_id, position)
