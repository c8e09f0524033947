"""Turns read-model rows into response bodies."""

from __future__ import annotations

from typing import Any

from api.schemas import Notification, Person, Pin, SpaceRef, SpaceSummary, SpaceView, Speaker


def person(account_id: str, handle: str | None) -> Person:
    return Person(id=account_id, handle=handle)


def link(space_id: str) -> str:
    return f"/s/{space_id}"


def space_summary(row: dict[str, Any]) -> SpaceSummary:
    return SpaceSummary(**_summary_fields(row))


def space_view(row: dict[str, Any], **details: Any) -> SpaceView:
    return SpaceView(**_summary_fields(row), **details)


def _summary_fields(row: dict[str, Any]) -> dict[str, Any]:
    return dict(
        id=row["id"],
        title=row["title"],
        state=row["state"],
        host=person(row["host_id"], row["host_handle"]),
        speaker_policy=row["speaker_policy"],
        transcripts=bool(row["transcripts"]),
        recording=bool(row["recording"]),
        scheduled_for=row["scheduled_for"],
        created_at=row["created_at"],
        launched_at=row["launched_at"],
        ended_at=row["ended_at"],
        speaker_count=row["speaker_count"],
        listener_count=row["listener_count"],
        link=link(row["id"]),
    )


def speakers(rows: list[dict[str, Any]]) -> list[Speaker]:
    return [Speaker(id=r["user_id"], handle=r["handle"], muted=bool(r["muted"])) for r in rows]


def people(rows: list[dict[str, Any]]) -> list[Person]:
    return [person(r["user_id"], r["handle"]) for r in rows]


def pin(row: dict[str, Any]) -> Pin | None:
    return None if row["pin_url"] is None else Pin(url=row["pin_url"], title=row["pin_title"])


def notification(row: dict[str, Any]) -> Notification:
    actor = f"@{row['actor_handle']}" if row["actor_handle"] else "Someone"
    title, ended = row["title"] or "a Space", row["state"] == "ended"
    if row["kind"] == "go_live":
        text = (f"{actor}'s Space “{title}” has ended." if ended else f"{actor} is live: “{title}”.")
    else:
        text = (f"“{title}” has ended; {actor} had invited you to speak." if ended
                else f"{actor} invited you to speak in “{title}”.")
    return Notification(
        id=row["position"], kind=row["kind"], created_at=row["created_at"], read=bool(row["is_read"]),
        space=SpaceRef(id=row["space_id"], title=row["title"], state=row["state"]),
        actor=person(row["actor_id"], row["actor_handle"]), text=text)
