"""The Space's pinned link: one http(s) URL with a title, set by the host or a co-host."""

from __future__ import annotations

from fastapi import APIRouter

from api.commands import done
from api.deps import CurrentUser, Moderator, SystemDep, parse_id
from api.schemas import Done, NewPin

router = APIRouter(prefix="/v1/spaces/{space_id}", tags=["spaces"])


@router.put("/pin", response_model=Done)
async def pin(space_id: str, body: NewPin, caller: Moderator, system: SystemDep) -> Done:
    """Pins a link (replacing the one pinned before). Only http:// and https:// URLs that
    name a host, at most 2,048 characters, without a user name or password; a title of 1
    to 100 visible characters. Anything else is 422."""
    return await done(system, system.app.pin_link, parse_id(space_id), caller, body.url,
                      body.title)


@router.delete("/pin", response_model=Done)
async def unpin(space_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    """Takes the pinned link down (nothing pinned: nothing changes)."""
    return await done(system, system.app.unpin_link, parse_id(space_id), caller)
