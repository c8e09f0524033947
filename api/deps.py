"""Dependency aliases: the running system, the caller, read-your-writes.

They are `async def` because they never block: FastAPI runs a plain `def` dependency
in a worker thread, a thread hop per dependency per request."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from anyio import to_thread
from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.bootstrap import System
from api.problems import Problem
from api.read_your_writes import TooManyWaiting
from infrastructure.tokens import BadToken, Caller, KeysNeeded

BIGINT = 2**63 - 1  # the largest position, version or cursor the stores can hold

bearer = HTTPBearer(auto_error=False, scheme_name="bearer", bearerFormat="JWT", description=(
    "A JWT: from POST /v1/accounts or `spaces auditor-token` (this server's own), signed by an "
    "integrator's backend with its API key (HS256, `kid` the key id), or from the OpenID "
    "Connect provider of SPACES_OIDC_ISSUER. See the README, \"Use your own accounts\"."))


async def get_system(request: Request) -> System:
    return request.app.state.system


SystemDep = Annotated[System, Depends(get_system)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def _caller(request: Request, credentials: HTTPAuthorizationCredentials | None,
                  token_in_url: bool = False) -> Caller | None:
    in_url = request.query_params.get("access_token")
    if in_url is not None and not token_in_url:
        raise Problem(400, "A token in the URL (?access_token=) works only for the live stream; "
                      "send it as an Authorization: Bearer header.")
    token = credentials.credentials if credentials else in_url
    if token is None:
        return None
    try:
        return await request.app.state.system.callers.caller(token)
    except BadToken as error:
        raise Problem(401, str(error), {"WWW-Authenticate": "Bearer"}) from None


# One level of dependencies each: FastAPI spends real time on every dependency it solves.
async def optional_caller(request: Request, credentials: Credentials) -> Caller | None:
    return await _caller(request, credentials)


OptionalCaller = Annotated[Caller | None, Depends(optional_caller)]


async def stream_caller(request: Request, credentials: Credentials) -> Caller | None:
    """EventSource cannot send headers: the live stream also takes ?access_token=."""
    return await _caller(request, credentials, token_in_url=True)


StreamCaller = Annotated[Caller | None, Depends(stream_caller)]


async def acting_user(request: Request, credentials: Credentials) -> Caller:
    caller = await _caller(request, credentials)
    if caller is None:
        raise Problem(401, "Send a bearer token: register with POST /v1/accounts.",
                      {"WWW-Authenticate": "Bearer"})
    if not caller.is_user:
        raise Problem(403, "Auditors read history; they cannot act in Spaces.")
    return caller


async def current_user(request: Request, credentials: Credentials) -> UUID:
    caller = await acting_user(request, credentials)
    return UUID(caller.subject)


async def auditor(request: Request, credentials: Credentials) -> Caller:
    caller = await _caller(request, credentials)
    if caller is None:
        raise Problem(401, "Send an auditor's bearer token (spaces auditor-token NAME).",
                      {"WWW-Authenticate": "Bearer"})
    if not caller.is_auditor:
        raise Problem(403, "Only auditors may read the full history.")
    return caller


async def operator_or_auditor(request: Request, credentials: Credentials) -> Caller:
    caller = await _caller(request, credentials)
    if caller is None:
        raise Problem(401, "Send an operator's or an auditor's bearer token.",
                      {"WWW-Authenticate": "Bearer"})
    if not (caller.is_operator or caller.is_auditor):
        raise Problem(403, "Only operators and auditors may see the media fleet.")
    return caller


CurrentUser = Annotated[UUID, Depends(current_user)]
ActingUser = Annotated[Caller, Depends(acting_user)]  # a user, with the grants of their token


async def host_of_space(space_id: str, caller: CurrentUser, system: SystemDep) -> UUID:
    """For the host's commands that take a body: who may act is settled before the body is
    validated (FastAPI solves dependencies first), so a stranger hears 403, not 422."""
    space = await to_thread.run_sync(system.app.space, parse_id(space_id))
    space.check_host(caller)
    return caller


Host = Annotated[UUID, Depends(host_of_space)]


async def moderator_of_space(space_id: str, caller: CurrentUser, system: SystemDep) -> UUID:
    """As `Host`, for what the host or a co-host may do."""
    space = await to_thread.run_sync(system.app.space, parse_id(space_id))
    space.check_moderator(caller)
    return caller


Moderator = Annotated[UUID, Depends(moderator_of_space)]
Auditor = Annotated[Caller, Depends(auditor)]
OperatorOrAuditor = Annotated[Caller, Depends(operator_or_auditor)]


async def caught_up(
    request: Request, system: SystemDep,
    after: Annotated[int | None, Query(
        ge=0, le=BIGINT, description="wait until the views include this event store position")] = None,
) -> None:
    if after is None:
        return
    try:
        assert system.views_waiter is not None, "the app waits for the views"
        reached = await system.views_waiter.wait_for(
            await _who(request), after, system.settings.read_your_writes_timeout)
    except TooManyWaiting:
        raise Problem(429, "Too many of your reads are waiting for the views; retry shortly.",
                      {"Retry-After": "1"}) from None
    if not reached:
        raise Problem(503, f"The views have not reached position {after} yet; retry shortly.",
                      {"Retry-After": "1"})


async def _who(request: Request) -> str:
    """Whom a waiting read counts against: the token's subject, else the client's address."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        try:
            return request.app.state.system.tokens.verify(token.strip(), fetch=False).principal
        except (BadToken, KeysNeeded):
            pass
    return request.client.host if request.client else "unknown"


CaughtUp = Depends(caught_up)


def parse_id(raw: str, what: str = "Space") -> UUID:
    """A malformed id names nothing, so it is a 404 like any unknown id."""
    try:
        return UUID(raw)
    except ValueError:
        raise Problem(404, f"No {what} has the id {raw!r}.") from None
