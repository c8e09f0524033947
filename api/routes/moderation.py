"""Moderation: the host or a co-host removes, only the host blocks (on their account);
anyone taking part may report."""

from __future__ import annotations

from fastapi import APIRouter

from api.commands import done
from api.deps import CurrentUser, Host, Moderator, SystemDep, parse_id
from api.schemas import Done, Removal, RemovalDone, Report

router = APIRouter(prefix="/v1/spaces/{space_id}", tags=["moderation"])


ANONYMOUS_STILL_LISTEN = ("Anonymous listening is on: signed out, a removed or blocked person "
                          "can still listen, as anyone with the link can.")


@router.post("/removals", status_code=201, response_model=RemovalDone)
async def remove(space_id: str, body: Removal, caller: Moderator, system: SystemDep) -> RemovalDone:
    """The host or a co-host removes a user from this Space, whether they are in it now or
    not (one who left, or never came, is kept out all the same); signed in, they cannot rejoin
    it (while anonymous listening is on, they can still listen signed out: the response says
    so). A co-host cannot remove the host or another co-host."""
    outcome = await done(system, system.app.remove_user, parse_id(space_id), caller,
                         body.user_id, body.reason)
    note = ANONYMOUS_STILL_LISTEN if system.settings.anonymous_listening else None
    return RemovalDone(**outcome.model_dump(), note=note)


@router.post("/reports", status_code=201, response_model=Done)
async def report(space_id: str, body: Report, caller: CurrentUser, system: SystemDep) -> Done:
    """Records a report for moderators; it removes nobody. The reported user need not be
    in the Space."""
    return await done(system, system.app.report_user, parse_id(space_id), caller, body.user_id,
                      body.reason)


@router.post("/blocks", status_code=201, response_model=Done)
async def block(space_id: str, body: Removal, caller: Host, system: SystemDep) -> Done:
    """The host blocks a user: out of this Space and every other Space of the host. Co-hosts
    cannot: a block is on the host's own account."""
    return await done(system, system.app.block_from_space, parse_id(space_id), caller,
                      body.user_id, body.reason)
