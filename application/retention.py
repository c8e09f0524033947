"""Retention: recordings and transcripts of Spaces that ended more than `keep_days` ago are
deleted, and a `RecordingDeleted` or `TranscriptDeleted` event says so. The event comes
first: a crash between the two leaves data that the next run deletes, never a deletion
nobody recorded. Moderation events are never deleted."""

from __future__ import annotations

import logging
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from application.background import BackgroundThread
from application.ports import Transcripts
from domain.space import Space

if TYPE_CHECKING:
    from application.spaces import SpacesApplication

log = logging.getLogger(__name__)


def apply_retention(app: SpacesApplication, recordings: Path, keep_days: float,
                    now: datetime | None = None,
                    transcripts: Transcripts | None = None) -> list[str]:
    """Deletes what is due; returns the Spaces whose recording or transcript it deleted."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=keep_days)
    reason = f"kept {keep_days:g} days after the Space ended"
    folders = {d.name for d in recordings.iterdir()} if recordings.exists() else set()
    with_transcripts = transcripts.spaces() if transcripts is not None else set()
    deleted = []
    for space_id in sorted(folders | with_transcripts):
        try:
            space = app.space(UUID(space_id))
        except Exception:  # not a Space's folder
            continue
        if space.state != "ended" or _ended_at(app, space.id) > cutoff:
            continue
        if space_id in folders:
            if not space.recording_deleted:
                app.delete_recording(space.id, reason)
            shutil.rmtree(recordings / space_id, ignore_errors=True)
        if space_id in with_transcripts:
            if not app.space(space.id).transcript_deleted:
                app.delete_transcript(space.id, reason)
            assert transcripts is not None
            transcripts.delete(space_id)
        deleted.append(space_id)
    return deleted


def _ended_at(app: SpacesApplication, space_id: UUID) -> datetime:
    ended = [e for e in app.space_history(space_id) if isinstance(e, Space.SpaceEnded)]
    return ended[-1].timestamp


class RetentionJob(BackgroundThread):
    """Runs the retention hourly beside the workers that feed the views (`spaces serve`, or
    `spaces project`)."""

    def __init__(self, app: SpacesApplication, recordings: Path, keep_days: float,
                 transcripts: Transcripts | None = None, every: float = 3600.0):
        super().__init__("retention")
        self.app, self.recordings, self.keep_days, self.every = app, recordings, keep_days, every
        self.transcripts = transcripts
        self.ready = True

    def run(self) -> None:
        while not self._stopped.wait(self.every):
            try:
                for space in apply_retention(self.app, self.recordings, self.keep_days,
                                             transcripts=self.transcripts):
                    log.info("deleted the recording or transcript of Space %s (retention)", space)
            except Exception:
                log.exception("retention failed; trying again in an hour")
