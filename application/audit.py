"""Auditors' reads, straight from the event store (never from read models): a Space's
timeline of stage and moderation changes, its state at any moment, and the moderation
history of everything, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.acts import ACCOUNT_WIDE, MODERATION, act_of
from domain.errors import NotFound
from domain.people import Block
from domain.space import Space

if TYPE_CHECKING:
    from application.spaces import SpacesApplication


@dataclass
class Entry:
    version: int
    at: str
    action: str
    actor: str | None
    target: str | None
    reason: str | None
    detail: str | None


@dataclass
class StateAt:
    version: int
    at: str
    state: str
    host: str
    cohosts: list[str]
    on_stage: dict[str, bool]  # speaker -> muted
    removed: list[str]
    blocked: list[str]  # by the host (or an earlier host), account-wide, at that moment
    transcripts: bool
    recording: bool


def timeline(app: SpacesApplication, space_id: UUID, *, version: int | None = None,
             at: datetime | None = None) -> tuple[list[Entry], StateAt]:
    """Every change up to `version` or the moment `at` (the whole history by default),
    and the Space's state then."""
    events = list(app.space_history(space_id))
    chosen = [e for e in events
              if (version is None or e.originator_version <= version)
              and (at is None or e.timestamp <= at)]
    if not chosen:
        raise NotFound("The Space did not exist yet at that moment.")
    entries, host = [], events[0].host_id
    for event in chosen:  # what the host did is theirs until they hand the Space over
        entries.append(_entry(event, host))
        if isinstance(event, Space.HostHandedOver):
            host = event.to_host
    last = chosen[-1]
    space: Space = app.repository.get(space_id, version=last.originator_version)
    return entries, StateAt(
        version=last.originator_version, at=last.timestamp.isoformat(), state=space.state,
        host=str(space.host_id), cohosts=[str(u) for u in space.cohosts],
        on_stage={str(u): u in space.muted for u in space.stage},
        removed=sorted(str(u) for u in space.removed),
        blocked=sorted(_blocked_by(app, set(space.hosts), at or last.timestamp)),
        transcripts=space.transcripts, recording=space.recording,
    )


def _entry(event: Any, host: UUID | None) -> Entry:
    act = act_of(event)
    detail = None
    if isinstance(event, Space.TranscriptsSwitched):
        detail = "on" if event.on else "off"
    elif isinstance(event, Space.SpaceScheduled):
        detail = event.scheduled_for.isoformat()
    elif isinstance(event, Space.SpaceCreated):
        detail = f"{event.title!r}, speaker policy {event.speaker_policy}"
    elif isinstance(event, Space.MediaMoved):
        detail = f"from media node {event.from_node} to {event.to_node}"
    elif isinstance(event, Space.LinkPinned):
        detail = f"{event.title!r} {event.url}"
    return Entry(
        version=event.originator_version, at=event.timestamp.isoformat(), action=act.action,
        actor=str(getattr(event, act.actor) if act.actor else host),
        target=str(getattr(event, act.target)) if act.target else None,
        reason=getattr(event, "reason", None), detail=detail,
    )


def _blocked_by(app: SpacesApplication, hosts: set[UUID], until: datetime) -> set[str]:
    """Whom any of `hosts` blocked (and had not unblocked) at `until`."""
    blocks: dict[UUID, set[str]] = {host: set() for host in hosts}
    for notification in _notifications(app, ACCOUNT_WIDE):
        event = app.event_of(notification)
        if event.blocker_id not in blocks or event.timestamp > until:
            continue
        if isinstance(event, Block.Blocked):
            blocks[event.blocker_id].add(str(event.blocked_id))
        else:
            blocks[event.blocker_id].discard(str(event.blocked_id))
    return set().union(*blocks.values())


def moderation_history(app: SpacesApplication, *, since: datetime | None = None, space_id: UUID | None = None,
                       user_id: UUID | None = None, progress=None) -> Iterator[dict[str, Any]]:
    """Every moderation event of every Space (and account-wide blocks), oldest first, as
    plain dicts: read in batches, so memory stays flat however long the history."""
    seen = 0
    for notification in _notifications(app, MODERATION):
        seen += 1
        if progress and seen % 1000 == 0:
            progress(notification.id)
        event = app.event_of(notification)
        if since and event.timestamp < since:
            continue
        record = _moderation_record(notification, event)
        if space_id and record["space_id"] != str(space_id):
            continue
        if user_id and str(user_id) not in (record["actor"], record["target"]):
            continue
        yield record


def _moderation_record(notification: Any, event: Any) -> dict[str, Any]:
    space_wide = not isinstance(event, ACCOUNT_WIDE)
    entry = _entry(event, host=None)
    return {"position": notification.id, "at": entry.at,
            "space_id": str(event.originator_id) if space_wide else None,
            "action": entry.action, "actor": entry.actor, "target": entry.target,
            "reason": entry.reason}


def _notifications(app: SpacesApplication, events: tuple[type, ...]) -> Iterator[Any]:
    topics = [event.TOPIC for event in events]  # type: ignore[attr-defined]
    position = 0
    while batch := app.recorder.select_notifications(
            start=position, limit=1000, topics=topics, inclusive_of_start=False):
        yield from batch
        position = batch[-1].id

