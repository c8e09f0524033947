"""Auditors' reads, straight from the event store (never from read models): a Space's
timeline of stage and moderation changes, its state at any moment, and the moderation
history of everything, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import NotFound

# event -> (action, attribute naming the actor or None for the host, attribute naming the target)
ACTIONS: dict[str, tuple[str, str | None, str | None]] = {
    "SpaceCreated": ("created", None, None),
    "SpaceScheduled": ("scheduled", None, None),
    "SpaceLaunched": ("launched", None, None),
    "SpeakerInvited": ("invited", "invited_by", "user_id"),
    "InvitationAccepted": ("accepted invitation", "user_id", "user_id"),
    "InvitationDeclined": ("declined invitation", "user_id", "user_id"),
    "SpeakRequested": ("asked to speak", "user_id", "user_id"),
    "SpeakerGranted": ("granted the stage", "granted_by", "user_id"),
    "SpeakerRevoked": ("revoked from the stage", "revoked_by", "user_id"),
    "SpeakerLeftStage": ("left the stage", "user_id", "user_id"),
    "SpeakerMuted": ("muted", "muted_by", "user_id"),
    "SpeakerUnmuted": ("unmuted", "user_id", "user_id"),
    "UserRemoved": ("removed", "removed_by", "user_id"),
    "UserReported": ("reported", "reported_by", "user_id"),
    "UserBlocked": ("blocked", "blocked_by", "user_id"),
    "TranscriptsSwitched": ("switched transcripts", None, None),
    "RecordingStarted": ("started recording", None, None),
    "RecordingStopped": ("stopped recording", None, None),
    "RecordingDeleted": ("deleted the recording (retention)", None, None),
    "TranscriptDeleted": ("deleted the transcript (retention)", None, None),
    "SpaceEnded": ("ended", "ended_by", None),
}
MODERATION = ("UserRemoved", "UserReported", "UserBlocked", "SpeakerRevoked", "SpeakerMuted",
              "SpeakerGranted")
MODERATION_TOPICS = [f"spaces:{name}" for name in MODERATION] + ["spaces:Blocked", "spaces:Unblocked"]


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
    on_stage: dict[str, bool]  # speaker -> muted
    removed: list[str]
    blocked: list[str]  # by the host, account-wide, at that moment
    transcripts: bool
    recording: bool


def timeline(app: Any, space_id: UUID, *, version: int | None = None,
             at: datetime | None = None) -> tuple[list[Entry], StateAt]:
    """Every change up to `version` or the moment `at` (the whole history by default),
    and the Space's state then."""
    events = list(app.space_history(space_id))
    chosen = [e for e in events
              if (version is None or e.originator_version <= version)
              and (at is None or e.timestamp <= at)]
    if not chosen:
        raise NotFound("The Space did not exist yet at that moment.")
    host = events[0].host_id
    entries = [_entry(e, host) for e in chosen]
    last = chosen[-1]
    space = app.repository.get(space_id, version=last.originator_version)
    return entries, StateAt(
        version=last.originator_version, at=last.timestamp.isoformat(), state=space.state,
        on_stage={str(u): muted for u, muted in space.stage.items()},
        removed=sorted(str(u) for u in space.removed),
        blocked=sorted(_blocked_by(app, host, at or last.timestamp)),
        transcripts=space.transcripts, recording=space.recording,
    )


def _entry(event: Any, host: UUID) -> Entry:
    name = type(event).__name__
    action, actor, target = ACTIONS.get(name, (name, None, None))
    detail = None
    if name == "TranscriptsSwitched":
        detail = "on" if event.on else "off"
    elif name == "SpaceScheduled":
        detail = event.scheduled_for.isoformat()
    elif name == "SpaceCreated":
        detail = f"{event.title!r}, speaker policy {event.speaker_policy}"
    return Entry(
        version=event.originator_version, at=event.timestamp.isoformat(), action=action,
        actor=str(getattr(event, actor) if actor else host),
        target=str(getattr(event, target)) if target else None,
        reason=getattr(event, "reason", None), detail=detail,
    )


def _blocked_by(app: Any, host: UUID, until: datetime) -> set[str]:
    blocked: set[str] = set()
    for notification in _notifications(app, ["spaces:Blocked", "spaces:Unblocked"]):
        event = app.mapper.to_domain_event(notification)
        if event.blocker_id != host or event.timestamp > until:
            continue
        if notification.topic == "spaces:Blocked":
            blocked.add(str(event.blocked_id))
        else:
            blocked.discard(str(event.blocked_id))
    return blocked


def moderation_history(app: Any, *, since: datetime | None = None, space_id: UUID | None = None,
                       user_id: UUID | None = None, progress=None) -> Iterator[dict[str, Any]]:
    """Every moderation event of every Space (and account-wide blocks), oldest first, as
    plain dicts: read in batches, so memory stays flat however long the history."""
    seen = 0
    for notification in _notifications(app, MODERATION_TOPICS):
        seen += 1
        if progress and seen % 1000 == 0:
            progress(notification.id)
        event = app.mapper.to_domain_event(notification)
        if since and event.timestamp < since:
            continue
        record = _moderation_record(notification, event)
        if space_id and record["space_id"] != str(space_id):
            continue
        if user_id and str(user_id) not in (record["actor"], record["target"]):
            continue
        yield record


def _moderation_record(notification: Any, event: Any) -> dict[str, Any]:
    name = type(event).__name__
    if name in ("Blocked", "Unblocked"):
        return {"position": notification.id, "at": event.timestamp.isoformat(), "space_id": None,
                "action": "account blocked" if name == "Blocked" else "account unblocked",
                "actor": str(event.blocker_id), "target": str(event.blocked_id),
                "reason": getattr(event, "reason", None)}
    entry = _entry(event, host=None)
    return {"position": notification.id, "at": entry.at, "space_id": str(event.originator_id),
            "action": entry.action, "actor": entry.actor, "target": entry.target,
            "reason": entry.reason}


def _notifications(app: Any, topics: list[str]) -> Iterator[Any]:
    position = 0
    while batch := app.recorder.select_notifications(
            start=position, limit=1000, topics=topics, inclusive_of_start=False):
        yield from batch
        position = batch[-1].id

