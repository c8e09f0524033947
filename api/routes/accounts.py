"""Accounts, follows, account-wide blocks and the invitation inbox."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request

from api.commands import done, execute
from api.deps import CaughtUp, CurrentUser, SystemDep, parse_id
from api.presenters import person
from api.problems import Problem
from api.schemas import AccountCreated, AccountView, Done, Invitation, NewAccount
from projections.inbox import inbox

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.post("/accounts", status_code=201, response_model=AccountCreated)
async def register(body: NewAccount, request: Request, system: SystemDep) -> AccountCreated:
    """Self-service sign-up, so many a minute from one address (SPACES_SIGNUPS_PER_MINUTE)."""
    if not system.settings.signup_enabled:
        raise Problem(403, "Self-service sign-up is switched off on this server.")
    wait = system.signups.take(request.client.host if request.client else "unknown")
    if wait:
        raise Problem(429, "Too many sign-ups from your address; wait a moment.",
                      {"Retry-After": str(wait)})
    registered = await execute(system, system.app.register_account, body.handle)
    token = system.tokens.issue(str(registered.id))
    return AccountCreated(id=registered.id, handle=body.handle, token=token,
                          position=registered.position)


@router.get("/accounts", response_model=AccountView)
def find_account(handle: str, system: SystemDep) -> AccountView:
    """Look an account up by its handle (handles are public)."""
    found = system.app.account_id_for(handle)
    return AccountView(id=found, handle=system.app.handle_of(found))


@router.get("/accounts/{account_id}", response_model=AccountView)
def account(account_id: str, system: SystemDep) -> AccountView:
    found = parse_id(account_id, "account")
    return AccountView(id=found, handle=system.app.handle_of(found))


def _as_self(account_id: str, caller: UUID) -> UUID:
    if parse_id(account_id, "account") != caller:
        raise Problem(403, "You can change only your own follows and blocks.")
    return caller


@router.put("/accounts/{account_id}/following/{target}", response_model=Done)
async def follow(account_id: str, target: str, caller: CurrentUser, system: SystemDep) -> Done:
    return await done(system, system.app.follow, _as_self(account_id, caller),
                      parse_id(target, "account"))


@router.delete("/accounts/{account_id}/following/{target}", response_model=Done)
async def unfollow(account_id: str, target: str, caller: CurrentUser, system: SystemDep) -> Done:
    return await done(system, system.app.unfollow, _as_self(account_id, caller),
                      parse_id(target, "account"))


@router.put("/accounts/{account_id}/blocked/{target}", response_model=Done)
async def block(account_id: str, target: str, caller: CurrentUser, system: SystemDep) -> Done:
    return await done(system, system.app.block, _as_self(account_id, caller),
                      parse_id(target, "account"))


@router.delete("/accounts/{account_id}/blocked/{target}", response_model=Done)
async def unblock(account_id: str, target: str, caller: CurrentUser, system: SystemDep) -> Done:
    return await done(system, system.app.unblock, _as_self(account_id, caller),
                      parse_id(target, "account"))


@router.get("/invitations", response_model=list[Invitation], dependencies=[CaughtUp])
def my_invitations(caller: CurrentUser, system: SystemDep) -> list[Invitation]:
    """Your inbox: the open invitations to speak that hosts sent you."""
    return [
        Invitation(
            space_id=row["space_id"], title=row["title"], state=row["state"],
            invited_by=person(row["invited_by"], row["invited_by_handle"]),
            invited_at=row["invited_at"],
        )
        for row in inbox(system.views, str(caller))
    ]
