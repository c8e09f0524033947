"""Auditors: a Space's full history straight from the event store, and the moderation log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from api.deps import Auditor, CaughtUp, SystemDep, parse_id
from api.schemas import HistoryEntry, ModerationPage
from projections.base import text
from projections.moderation import moderation_log

router = APIRouter(prefix="/v1/audit", tags=["audit"])
ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def _plain(value: Any) -> Any:
    return text(value) if isinstance(value, (UUID, datetime)) else value


@router.get("/spaces/{space_id}/history", response_model=list[HistoryEntry])
def history(space_id: str, _: Auditor, system: SystemDep) -> list[HistoryEntry]:
    """Every event of the Space in order, ended Spaces included, read from the event store."""
    return [
        HistoryEntry(
            version=event.originator_version,
            event=type(event).__name__,
            occurred_at=event.timestamp,
            data={k: _plain(v) for k, v in vars(event).items() if k not in ENVELOPE},
        )
        for event in system.app.space_history(parse_id(space_id))
    ]


@router.get("/moderation", response_model=ModerationPage, dependencies=[CaughtUp])
def moderation(
    _: Auditor,
    system: SystemDep,
    space_id: UUID | None = None,
    user_id: Annotated[UUID | None, Query(description="as actor or as target")] = None,
    since: AwareDatetime | None = None,
    cursor: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ModerationPage:
    """Grants, revocations, mutes, removals, reports and blocks, oldest first."""
    rows = moderation_log(
        system.views, space_id=text(space_id), user_id=text(user_id),
        since=text(since),
        after=cursor, limit=limit,
    )
    return ModerationPage(items=rows, next_cursor=rows[-1]["position"] if len(rows) == limit else None)
