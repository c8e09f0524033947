"""Reminders: `PUT|DELETE /v1/spaces/{id}/reminders/me` on an upcoming Space."""

from __future__ import annotations

from fastapi import APIRouter

from api.commands import done
from api.deps import CurrentUser, SystemDep, parse_id
from api.schemas import Done

router = APIRouter(prefix="/v1/spaces/{space_id}", tags=["notifications"])


@router.put("/reminders/me", response_model=Done)
async def set_reminder(space_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    """Asks to be notified when this upcoming (scheduled, not yet launched) Space goes live.
    Setting it again changes nothing; a live or ended Space is 409, its host 422, people it
    keeps out 403."""
    return await done(system, system.app.set_reminder, parse_id(space_id), caller)


@router.delete("/reminders/me", response_model=Done)
async def clear_reminder(space_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    """Takes your reminder back, while the Space is still upcoming (none set: nothing changes)."""
    return await done(system, system.app.clear_reminder, parse_id(space_id), caller)
