"""Retention: recordings of Spaces that ended more than `keep_days` ago are deleted, and a
`RecordingDeleted` event says so. The event comes first: a crash between the two leaves
files that the next run deletes, never a deletion nobody recorded."""

from __future__ import annotations

import logging
import shutil
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

log = logging.getLogger(__name__)


def apply_retention(app: Any, recordings: Path, keep_days: float,
                    now: datetime | None = None) -> list[str]:
    """Deletes what is due; returns the Spaces whose recordings it deleted."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=keep_days)
    deleted = []
    for directory in sorted(recordings.iterdir()) if recordings.exists() else []:
        try:
            space = app.space(UUID(directory.name))
        except Exception:  # not a Space's folder
            continue
        if space.state != "ended" or _ended_at(app, space.id) > cutoff:
            continue
        if not space.recording_deleted:
            app.delete_recording(space.id, f"kept {keep_days:g} days after the Space ended")
        shutil.rmtree(directory, ignore_errors=True)
        deleted.append(directory.name)
    return deleted


def _ended_at(app: Any, space_id: UUID) -> datetime:
    ended = [e for e in app.space_history(space_id) if type(e).__name__ == "SpaceEnded"]
    return ended[-1].timestamp


class RetentionJob:
    """Runs the retention hourly in the background of `spaces serve`."""

    def __init__(self, app: Any, recordings: Path, keep_days: float, every: float = 3600.0):
        self.app, self.recordings, self.keep_days, self.every = app, recordings, keep_days, every
        self.ready = True
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.wait(self.every):
            try:
                for space in apply_retention(self.app, self.recordings, self.keep_days):
                    log.info("deleted the recording of Space %s (retention)", space)
            except Exception:
                log.exception("retention failed; trying again in an hour")
