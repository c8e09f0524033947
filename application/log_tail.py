"""The events stored after a position, in the order of the notification log: taken from
batches handed over (`offer`) when they carry on exactly from that position (as many such
batches at once as come to `limit`), else read from the log. Spares a process reading back
what it has just stored, or what its store feed has just read.

A handed-over batch is used only when its first event is the one right after the position:
the log's ids are assigned under the store's lock, so nothing committed can sit between
them. Any gap (another process's events, a rolled-back id, a batch dropped because the
reader fell behind) falls back to reading the log.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any


class LogTail:
    def __init__(self, recorder: Any, known_end: Callable[[], int] | None = None,
                 kept: int = 64, topics: Sequence[str] | None = None):
        """`known_end`: how far a feeder has read the log (it hands over what it reads
        next). `topics`: only events of these are read from the log (a replay that takes
        few kinds of events); the position then stays at the last one read."""
        self._recorder = recorder
        self._known_end = known_end
        self._topics = tuple(topics or ())
        self._offered: deque[list[Any]] = deque(maxlen=kept)

    def offer(self, notifications: list[Any]) -> None:
        if notifications:
            self._offered.append(notifications)

    def exhausted(self, batch: list[Any], limit: int) -> bool:
        """Whether whoever just got `batch` has every event there is for now."""
        return len(batch) < limit and not self._offered

    def after(self, position: int, limit: int, fed: bool = False) -> list[Any]:
        """`fed`: for a step its feeder woke, which reads only gaps before the feeder's
        position; otherwise whatever is not handed over is read, up to the log's end."""
        taken: list[Any] = []
        while self._offered and len(taken) < limit:
            batch = self._offered[0]
            end = taken[-1].id if taken else position
            if batch[-1].id <= end:
                self._offered.popleft()
                continue
            rest = [n for n in batch if n.id > end]
            if rest[0].id != end + 1:
                break  # a gap: the log has it
            self._offered.popleft()
            taken += rest
        if taken:
            return taken
        if fed and self._known_end is not None and self._known_end() <= position:
            return []
        return self._recorder.select_notifications(
            start=position, limit=limit, inclusive_of_start=False, topics=self._topics)
