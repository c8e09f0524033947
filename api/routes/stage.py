"""The stage: invitations, requests to speak, grant / revoke / mute / unmute. What the host
may do here, a co-host may do too, except to the host or another co-host."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.commands import done
from api.deps import CurrentUser, Moderator, SystemDep, parse_id
from api.problems import Problem
from api.schemas import Done, UserRef

router = APIRouter(prefix="/v1/spaces/{space_id}", tags=["stage"])


@router.post("/invitations", status_code=201, response_model=Done)
async def invite(space_id: str, body: UserRef, caller: Moderator, system: SystemDep) -> Done:
    """The host or a co-host invites someone to speak; the invitation lands in their inbox."""
    return await done(system, system.app.invite, parse_id(space_id), caller, body.user_id)


@router.post("/invitations/{user_id}/accept", response_model=Done)
async def accept(space_id: str, user_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    _must_be_self(user_id, caller, "accept")
    return await done(system, system.app.accept_invitation, parse_id(space_id), caller)


@router.post("/invitations/{user_id}/decline", response_model=Done)
async def decline(space_id: str, user_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    _must_be_self(user_id, caller, "decline")
    return await done(system, system.app.decline_invitation, parse_id(space_id), caller)


@router.post("/speak-requests", status_code=201, response_model=Done)
async def request_to_speak(space_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    return await done(system, system.app.request_to_speak, parse_id(space_id), caller)


@router.delete("/speak-requests/{user_id}", response_model=Done)
async def withdraw_speak_request(space_id: str, user_id: str, caller: CurrentUser,
                                 system: SystemDep) -> Done:
    """The one who asked lowers their hand, or the host or a co-host dismisses the request
    (409 when there is none)."""
    return await done(system, system.app.withdraw_speak_request, parse_id(space_id), caller,
                      parse_id(user_id, "account"))


@router.put("/speakers/{user_id}", response_model=Done)
async def grant(space_id: str, user_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    """The host or a co-host brings someone onto the stage (answering their request, if any)."""
    return await done(system, system.app.grant_speaker, parse_id(space_id), caller,
                      parse_id(user_id, "account"))


@router.delete("/speakers/{user_id}", response_model=Done)
async def revoke(space_id: str, user_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    """The host or a co-host takes a speaker off the stage; a speaker may leave it themselves
    (a co-host who leaves the stage is a co-host no more)."""
    return await done(system, system.app.revoke_speaker, parse_id(space_id), caller,
                      parse_id(user_id, "account"))


@router.post("/speakers/{user_id}/mute", response_model=Done)
async def mute(space_id: str, user_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    """The host or a co-host mutes a speaker; a speaker may mute themselves."""
    return await done(system, system.app.mute_speaker, parse_id(space_id), caller,
                      parse_id(user_id, "account"))


@router.post("/speakers/{user_id}/unmute", response_model=Done)
async def unmute(space_id: str, user_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    """A speaker turns their own microphone on (only once the Space is live)."""
    return await done(system, system.app.unmute, parse_id(space_id), caller,
                      parse_id(user_id, "account"))


def _must_be_self(user_id: str, caller: UUID, verb: str) -> None:
    if parse_id(user_id, "account") != caller:
        raise Problem(403, f"Only the invitee can {verb} their invitation.")
