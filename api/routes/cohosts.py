"""Co-hosts, who moderate beside the host, and handing the Space over to one of them."""

from __future__ import annotations

from fastapi import APIRouter

from api.commands import done
from api.deps import CurrentUser, Host, SystemDep, parse_id
from api.schemas import Done, UserRef

router = APIRouter(prefix="/v1/spaces/{space_id}", tags=["co-hosts"])


@router.put("/cohosts/{user_id}", response_model=Done)
async def add(space_id: str, user_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    """The host names a co-host (at most two by default), who takes a seat on the stage
    if they have none: 409 when the stage is full. A co-host invites, grants, revokes and
    mutes speakers, answers requests to speak, removes and reports people and pins a link;
    they do not act on the host or on another co-host, name co-hosts, block or end the Space."""
    return await done(system, system.app.add_cohost, parse_id(space_id), caller,
                      parse_id(user_id, "account"))


@router.delete("/cohosts/{user_id}", response_model=Done)
async def remove(space_id: str, user_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    """The host names a co-host no more, or a co-host steps down; they stay on the stage."""
    return await done(system, system.app.remove_cohost, parse_id(space_id), caller,
                      parse_id(user_id, "account"))


@router.post("/host", response_model=Done)
async def hand_over(space_id: str, body: UserRef, caller: Host, system: SystemDep) -> Done:
    """The host hands the Space to one of its co-hosts and becomes a co-host in their place."""
    return await done(system, system.app.hand_over, parse_id(space_id), caller, body.user_id)
