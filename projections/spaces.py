"""The Space detail view and the public listing (live Spaces, newest first).

A Space row stays after it ends (the host and auditors may still read it); the
listing and the feed only select live or upcoming rows, so an ended Space drops
out of both the moment `SpaceEnded` is projected. A handover changes the row's host,
so the listing and the new host's followers' feeds show the new host from then on.
Co-hosts and the pinned link have tables of their own (older databases gain them
by `CREATE TABLE IF NOT EXISTS`, with no migration).
"""

from __future__ import annotations

from typing import Any

from application.ports import Cursor, Views
from domain.space import Space
from projections.base import Projection, handles, text
from projections.presence import LISTENER_COUNT

SPACE_COLUMNS = (
    "s.id, s.host_id, a.handle AS host_handle, s.title, s.state, s.speaker_policy, "
    "s.transcripts, s.recording, s.scheduled_for, s.created_at, s.launched_at, s.ended_at, "
    f"s.live_seq, {LISTENER_COUNT}, "
    "(SELECT COUNT(*) FROM stage st WHERE st.space_id = s.id) AS speaker_count"
)
# What the feed, the search and a host's listing show: upcoming means scheduled, not launched.
LIVE_OR_UPCOMING = "(s.state = 'live' OR (s.state = 'created' AND s.scheduled_for IS NOT NULL))"


class SpacesProjection(Projection):
    name = "spaces"
    # Who is removed or blocked is not kept here: reads decide it on the event store.
    tables = ("spaces", "stage", "speak_requests", "cohosts", "pins")
    schema = (
        "CREATE TABLE IF NOT EXISTS spaces (id TEXT PRIMARY KEY, host_id TEXT NOT NULL, "
        "title TEXT NOT NULL, state TEXT NOT NULL, speaker_policy TEXT NOT NULL, "
        "transcripts INTEGER NOT NULL DEFAULT 0, recording INTEGER NOT NULL DEFAULT 0, "
        "scheduled_for TEXT, created_at TEXT NOT NULL, launched_at TEXT, ended_at TEXT, "
        "live_seq BIGINT)",
        "CREATE INDEX IF NOT EXISTS spaces_live ON spaces (state, live_seq)",
        "CREATE INDEX IF NOT EXISTS spaces_host ON spaces (host_id, state)",
        # the upcoming part of every feed, soonest first
        "CREATE INDEX IF NOT EXISTS spaces_upcoming ON spaces (scheduled_for, id) "
        "WHERE state = 'created' AND scheduled_for IS NOT NULL",
        "CREATE TABLE IF NOT EXISTS stage (space_id TEXT NOT NULL, user_id TEXT NOT NULL, "
        "muted INTEGER NOT NULL, since TEXT NOT NULL, PRIMARY KEY (space_id, user_id))",
        "CREATE TABLE IF NOT EXISTS speak_requests (space_id TEXT NOT NULL, "
        "user_id TEXT NOT NULL, requested_at TEXT NOT NULL, PRIMARY KEY (space_id, user_id))",
        "CREATE TABLE IF NOT EXISTS cohosts (space_id TEXT NOT NULL, user_id TEXT NOT NULL, "
        "since TEXT NOT NULL, PRIMARY KEY (space_id, user_id))",
        "CREATE TABLE IF NOT EXISTS pins (space_id TEXT PRIMARY KEY, url TEXT NOT NULL, "
        "title TEXT NOT NULL, pinned_by TEXT NOT NULL, pinned_at TEXT NOT NULL)",
    )

    @handles(Space.SpaceCreated)
    def created(self, event: Any, position: int, cursor: Cursor) -> None:
        space_id, host_id = text(event.originator_id), text(event.host_id)
        cursor.execute(
            "INSERT INTO spaces (id, host_id, title, state, speaker_policy, created_at) "
            "VALUES (?, ?, ?, 'created', ?, ?) ON CONFLICT (id) DO NOTHING",
            (space_id, host_id, event.title, event.speaker_policy, text(event.timestamp)),
        )
        self._seat(cursor, space_id, host_id, event)

    @handles(Space.SpaceScheduled)
    def scheduled(self, event: Any, position: int, cursor: Cursor) -> None:
        self._set(cursor, event, "scheduled_for = ?", text(event.scheduled_for))

    @handles(Space.SpaceLaunched)
    def launched(self, event: Any, position: int, cursor: Cursor) -> None:
        self._set(
            cursor, event, "state = 'live', launched_at = ?, live_seq = ?",
            text(event.timestamp), position,
        )

    @handles(Space.SpaceEnded)
    def ended(self, event: Any, position: int, cursor: Cursor) -> None:
        self._set(cursor, event, "state = 'ended', ended_at = ?", text(event.timestamp))
        cursor.execute("DELETE FROM speak_requests WHERE space_id = ?", (text(event.originator_id),))

    @handles(Space.TranscriptsSwitched)
    def transcripts_switched(self, event: Any, position: int, cursor: Cursor) -> None:
        self._set(cursor, event, "transcripts = ?", int(event.on))

    @handles(Space.RecordingStarted, Space.RecordingStopped)
    def recording_switched(self, event: Any, position: int, cursor: Cursor) -> None:
        self._set(cursor, event, "recording = ?", int(isinstance(event, Space.RecordingStarted)))

    @handles(Space.SpeakRequested)
    def speak_requested(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "INSERT INTO speak_requests (space_id, user_id, requested_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (text(event.originator_id), text(event.user_id), text(event.timestamp)),
        )

    @handles(Space.SpeakRequestWithdrawn)
    def speak_request_withdrawn(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("DELETE FROM speak_requests WHERE space_id = ? AND user_id = ?",
                       (text(event.originator_id), text(event.user_id)))

    @handles(Space.InvitationAccepted, Space.SpeakerGranted)
    def seated(self, event: Any, position: int, cursor: Cursor) -> None:
        space_id, user_id = text(event.originator_id), text(event.user_id)
        self._seat(cursor, space_id, user_id, event)
        self._drop_request(cursor, space_id, user_id)

    @handles(Space.SpeakerRevoked, Space.SpeakerLeftStage)
    def unseated(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "DELETE FROM stage WHERE space_id = ? AND user_id = ?",
            (text(event.originator_id), text(event.user_id)),
        )

    @handles(Space.SpeakerMuted, Space.SpeakerUnmuted)
    def muting(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "UPDATE stage SET muted = ? WHERE space_id = ? AND user_id = ?",
            (int(isinstance(event, Space.SpeakerMuted)), text(event.originator_id), text(event.user_id)),
        )

    @handles(Space.UserRemoved, Space.UserBlocked)
    def taken_out(self, event: Any, position: int, cursor: Cursor) -> None:
        self.unseated(event, position, cursor)
        self._drop_request(cursor, text(event.originator_id), text(event.user_id))

    @handles(Space.CohostAdded)
    def cohost_added(self, event: Any, position: int, cursor: Cursor) -> None:
        self._name_cohost(cursor, text(event.originator_id), text(event.user_id), event)

    @handles(Space.CohostRemoved)
    def cohost_removed(self, event: Any, position: int, cursor: Cursor) -> None:
        self._drop_cohost(cursor, text(event.originator_id), text(event.user_id))

    @handles(Space.HostHandedOver)
    def handed_over(self, event: Any, position: int, cursor: Cursor) -> None:
        space_id = text(event.originator_id)
        self._set(cursor, event, "host_id = ?", text(event.to_host))
        self._drop_cohost(cursor, space_id, text(event.to_host))
        self._name_cohost(cursor, space_id, text(event.from_host), event)

    @handles(Space.LinkPinned)
    def pinned(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute(
            "INSERT INTO pins (space_id, url, title, pinned_by, pinned_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (space_id) DO UPDATE SET url = excluded.url, title = excluded.title, "
            "pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at",
            (text(event.originator_id), event.url, event.title, text(event.pinned_by),
             text(event.timestamp)),
        )

    @handles(Space.LinkUnpinned)
    def unpinned(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("DELETE FROM pins WHERE space_id = ?", (text(event.originator_id),))

    @staticmethod
    def _name_cohost(cursor: Cursor, space_id: str | None, user_id: str | None, event: Any) -> None:
        cursor.execute(
            "INSERT INTO cohosts (space_id, user_id, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (space_id, user_id, text(event.timestamp)),
        )

    @staticmethod
    def _drop_cohost(cursor: Cursor, space_id: str | None, user_id: str | None) -> None:
        cursor.execute("DELETE FROM cohosts WHERE space_id = ? AND user_id = ?", (space_id, user_id))

    @staticmethod
    def _set(cursor: Cursor, event: Any, assignments: str, *values: Any) -> None:
        cursor.execute(
            f"UPDATE spaces SET {assignments} WHERE id = ?", (*values, text(event.originator_id))
        )

    @staticmethod
    def _seat(cursor: Cursor, space_id: str | None, user_id: str | None, event: Any) -> None:
        cursor.execute(
            "INSERT INTO stage (space_id, user_id, muted, since) VALUES (?, ?, 1, ?) "
            "ON CONFLICT DO NOTHING",
            (space_id, user_id, text(event.timestamp)),
        )

    @staticmethod
    def _drop_request(cursor: Cursor, space_id: str | None, user_id: str | None) -> None:
        cursor.execute(
            "DELETE FROM speak_requests WHERE space_id = ? AND user_id = ?", (space_id, user_id)
        )


class SpaceQueries:
    def __init__(self, views: Views):
        self.views = views

    def space(self, space_id: str) -> dict[str, Any] | None:
        return self.views.row(
            f"SELECT {SPACE_COLUMNS}, p.url AS pin_url, p.title AS pin_title FROM spaces s "
            "LEFT JOIN accounts a ON a.id = s.host_id LEFT JOIN pins p ON p.space_id = s.id "
            "WHERE s.id = ?",
            (space_id,),
        )

    def cohosts(self, space_id: str) -> list[dict[str, Any]]:
        """In the order they were named (a former host: when they handed over)."""
        return self.views.rows(
            "SELECT c.user_id, a.handle FROM cohosts c LEFT JOIN accounts a ON a.id = c.user_id "
            "WHERE c.space_id = ? ORDER BY c.since, c.user_id",
            (space_id,),
        )

    def stage(self, space_id: str) -> list[dict[str, Any]]:
        return self.views.rows(
            "SELECT st.user_id, a.handle, st.muted, st.since FROM stage st "
            "LEFT JOIN accounts a ON a.id = st.user_id WHERE st.space_id = ? ORDER BY st.since",
            (space_id,),
        )

    def speak_requests(self, space_id: str) -> list[dict[str, Any]]:
        return self.views.rows(
            "SELECT r.user_id, a.handle, r.requested_at FROM speak_requests r "
            "LEFT JOIN accounts a ON a.id = r.user_id WHERE r.space_id = ? ORDER BY r.requested_at",
            (space_id,),
        )

    def viewer(self, space_id: str, host_id: str, user_id: str) -> dict[str, bool]:
        """What the Space's page shows a signed-in viewer of their own: whether they asked
        to speak, follow the host, and switched the host's go-live notifications off."""
        row = self.views.row(
            "SELECT EXISTS (SELECT 1 FROM speak_requests WHERE space_id = ? AND user_id = ?) "
            "AS asked, EXISTS (SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ?) "
            "AS following, EXISTS (SELECT 1 FROM go_live_mutes WHERE host_id = ? AND "
            "follower_id = ?) AS muted",
            (space_id, user_id, user_id, host_id, host_id, user_id))
        return {key: bool(value) for key, value in (row or {}).items()}

    def live(self, limit: int, before: int | None) -> list[dict[str, Any]]:
        # two statements: a prepared plan cannot use the index through "? IS NULL OR"
        after = "" if before is None else " AND s.live_seq < ?"
        return self.views.rows(
            f"SELECT {SPACE_COLUMNS} FROM spaces s LEFT JOIN accounts a ON a.id = s.host_id "
            f"WHERE s.state = 'live'{after} ORDER BY s.live_seq DESC LIMIT ?",
            (*(() if before is None else (before,)), limit),
        )

    def by_host(self, host_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """The host's live Spaces (newest first), then their upcoming ones (soonest first)."""
        return self.views.rows(
            f"SELECT {SPACE_COLUMNS} FROM spaces s LEFT JOIN accounts a ON a.id = s.host_id "
            f"WHERE s.host_id = ? AND {LIVE_OR_UPCOMING} "
            "ORDER BY s.state = 'live' DESC, s.live_seq DESC, s.scheduled_for, s.id LIMIT ? OFFSET ?",
            (host_id, limit, offset),
        )
