"""A Space's analytics for its host and auditors, once it has ended: peak and unique
listeners, listen-minutes, each speaker's talk time, reactions by emoji, speak requests,
removals, blocks and reports.

What the events tell (when it was live, the moderation counts) is this projection's row;
what only the live signals tell (listeners, talking, reactions) comes from their logs
(projections/signals.py), which rebuilds leave alone. The figures are computed when they
are read, from both, so a rebuild gives the same figures.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from application.ports import Cursor, Views
from domain.space import Space
from projections import signals
from projections.base import Projection, handles, text

COUNTED = {Space.SpeakRequested: "speak_requests", Space.UserRemoved: "removals",
           Space.UserBlocked: "blocks", Space.UserReported: "reports"}


class AnalyticsProjection(Projection):
    name = "analytics"
    tables = ("space_analytics",)
    schema = (
        "CREATE TABLE IF NOT EXISTS space_analytics (space_id TEXT PRIMARY KEY, "
        "launched_at TEXT, ended_at TEXT, speak_requests INTEGER NOT NULL DEFAULT 0, "
        "removals INTEGER NOT NULL DEFAULT 0, blocks INTEGER NOT NULL DEFAULT 0, "
        "reports INTEGER NOT NULL DEFAULT 0)",
    )

    @handles(Space.SpaceCreated)
    def created(self, event: Any, position: int, cursor: Cursor) -> None:
        cursor.execute("INSERT INTO space_analytics (space_id) VALUES (?) ON CONFLICT DO NOTHING",
                       (text(event.originator_id),))

    @handles(Space.SpaceLaunched)
    def launched(self, event: Any, position: int, cursor: Cursor) -> None:
        self._set(cursor, event, "launched_at")

    @handles(Space.SpaceEnded)
    def ended(self, event: Any, position: int, cursor: Cursor) -> None:
        self._set(cursor, event, "ended_at")

    @handles(*COUNTED)
    def counted(self, event: Any, position: int, cursor: Cursor) -> None:
        column = COUNTED[type(event)]
        cursor.execute(f"UPDATE space_analytics SET {column} = {column} + 1 WHERE space_id = ?",
                       (text(event.originator_id),))

    @staticmethod
    def _set(cursor: Cursor, event: Any, column: str) -> None:
        cursor.execute(f"UPDATE space_analytics SET {column} = ? WHERE space_id = ?",
                       (text(event.timestamp), text(event.originator_id)))


def space_analytics(views: Views, space_id: str) -> dict[str, Any] | None:
    """The figures of a Space (None before the views know it)."""
    row = views.row("SELECT * FROM space_analytics WHERE space_id = ?", (space_id,))
    if row is None:
        return None
    start = _time(row["launched_at"])
    end = _time(row["ended_at"])
    presence = signals.presence_of(views, space_id)
    if start is None or end is None:
        peak, listened, talk = 0, 0.0, {}
    else:
        peak, listened = listening([(_time(p["at"]), p["listeners"]) for p in presence], start, end)
        talk = talk_seconds([(_time(t["at"]), json.loads(t["speakers"]))
                             for t in signals.talking_of(views, space_id)], start, end)
    handles = _handles(views, list(talk))
    return {
        "space_id": space_id, "launched_at": row["launched_at"], "ended_at": row["ended_at"],
        "duration_seconds": round((end - start).total_seconds(), 3) if start and end else 0.0,
        "peak_listeners": peak, "unique_listeners": unique_listeners(presence),
        "listen_minutes": round(listened / 60, 3),
        "speakers": [{"id": s, "handle": handles.get(s), "talk_seconds": round(seconds, 3)}
                     for s, seconds in sorted(talk.items(), key=lambda kv: (-kv[1], kv[0]))],
        "reactions": signals.reactions_of(views, space_id),
        **{column: row[column] for column in COUNTED.values()},
    }


def listening(counts: list[tuple[Any, int]], start: datetime, end: datetime) -> tuple[int, float]:
    """The most listeners at once, and listener-seconds, from the count after each change
    (each holds until the next), within [start, end]."""
    peak, seconds = 0, 0.0
    for (at, listeners), until in zip(counts, [at for at, _ in counts[1:]] + [end]):
        held = _overlap(at, until, start, end)
        if held > 0 or start <= at <= end:
            peak = max(peak, listeners)
        seconds += listeners * held
    return peak, seconds


def talk_seconds(changes: list[tuple[Any, list[str]]], start: datetime,
                 end: datetime) -> dict[str, float]:
    """Each speaker's seconds in the set the mix heard talking (each set holds until the
    next change), within [start, end]."""
    talk: dict[str, float] = {}
    for (at, speakers), until in zip(changes, [at for at, _ in changes[1:]] + [end]):
        held = _overlap(at, until, start, end)
        for speaker in speakers:
            talk[speaker] = talk.get(speaker, 0.0) + held
    return {speaker: seconds for speaker, seconds in talk.items() if seconds > 0}


def unique_listeners(presence: list[dict[str, Any]]) -> int:
    """People with an account counted once however often they came; each visit of someone
    without one counted on its own."""
    joins = [p["user_id"] for p in presence if p["change"] == "joined"]
    return len({j for j in joins if j}) + sum(1 for j in joins if not j)


def _overlap(at: datetime, until: datetime, start: datetime, end: datetime) -> float:
    return max((min(until, end) - max(at, start)).total_seconds(), 0.0)


def _time(value: str | None) -> Any:
    return None if value is None else datetime.fromisoformat(value)


def _handles(views: Views, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    return {r["id"]: r["handle"] for r in views.rows(
        f"SELECT id, handle FROM accounts WHERE id IN ({marks})", ids)}
