"""What a command did, as its caller hears it."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Outcome:
    """The id a command concerns and the event store position it reached."""

    id: UUID
    position: int
