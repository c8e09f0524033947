"""The transcript of each Space: its final caption lines, kept beside the views (and, like
recordings, deleted by retention after the Space has ended)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from application.ports import Views

SCHEMA = ("CREATE TABLE IF NOT EXISTS transcript_lines (space_id TEXT NOT NULL, "
          "line_id TEXT NOT NULL, speaker_id TEXT NOT NULL, start_s REAL NOT NULL, "
          "end_s REAL NOT NULL, text TEXT NOT NULL, PRIMARY KEY (space_id, line_id))")


def create_table(views: Views) -> None:
    with views.transaction() as cursor:
        cursor.execute(SCHEMA)


def store_line(views: Views, space_id: str, line: dict[str, Any]) -> None:
    with views.transaction() as cursor:
        cursor.execute(
            "INSERT INTO transcript_lines (space_id, line_id, speaker_id, start_s, end_s, text) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (space_id, line_id) DO UPDATE SET "
            "text = excluded.text, end_s = excluded.end_s",
            (space_id, line["line_id"], line["speaker_id"], line["start"], line["end"], line["text"]))


def lines(views: Views, space_id: str) -> list[dict[str, Any]]:
    return views.rows("SELECT line_id, speaker_id, start_s, end_s, text FROM transcript_lines "
                      "WHERE space_id = ? ORDER BY start_s, line_id", (space_id,))


def delete(views: Views, space_id: str) -> None:
    with views.transaction() as cursor:
        cursor.execute("DELETE FROM transcript_lines WHERE space_id = ?", (space_id,))


class TranscriptLines:
    """The transcripts as retention sees them (application.ports.Transcripts)."""

    def __init__(self, views: Views):
        self.views = views

    def spaces(self) -> set[str]:
        return {r["space_id"] for r in self.views.rows(
            "SELECT DISTINCT space_id FROM transcript_lines")}

    def delete(self, space_id: str) -> None:
        delete(self.views, space_id)


def webvtt(rows: list[dict[str, Any]], handles: dict[str, str]) -> str:
    def stamp(seconds: float) -> str:
        hours, rest = divmod(max(seconds, 0.0), 3600)
        minutes, secs = divmod(rest, 60)
        return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"

    cues = [f"{stamp(r['start_s'])} --> {stamp(max(r['end_s'], r['start_s'] + 0.5))}\n"
            f"<v {handles.get(r['speaker_id'], r['speaker_id'])}>{r['text']}" for r in rows]
    return "WEBVTT\n\n" + "\n\n".join(cues) + ("\n" if cues else "")
