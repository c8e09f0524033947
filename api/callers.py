"""From a bearer token to the `Caller` the routes know, without blocking the event loop.

This server's tokens, the old format and integrators' keys are verified in memory, here; an
OIDC token whose keys must be fetched first is verified in a worker thread. A user from
outside (an integrator's or the OIDC provider's) is the account linked to their issuer and
`sub`, registered on their first token with its `preferred_username`, validated as a
sign-up is: a bad handle is 422, a taken one (or one that reads like a taken one) 409. Links
never change, so the ones this process has seen are remembered and cost nothing the next time.
"""

from __future__ import annotations

from collections import OrderedDict
from uuid import UUID

from anyio import to_thread

from application.spaces import SpacesApplication
from domain.errors import InvalidInput, RuleBroken
from infrastructure.token_kinds import Tokens
from infrastructure.tokens import Caller, KeysNeeded, VerifiedToken

REMEMBERED = 100_000


class Callers:
    def __init__(self, app: SpacesApplication, tokens: Tokens):
        self._app, self._tokens = app, tokens
        self._accounts: OrderedDict[tuple[str, str], UUID] = OrderedDict()

    async def verified(self, token: str) -> VerifiedToken:
        try:
            return self._tokens.verify(token, fetch=False)
        except KeysNeeded:
            return await to_thread.run_sync(self._tokens.verify, token)

    async def caller(self, token: str) -> Caller:
        """BadToken: 401; a domain error while registering a newcomer: its status."""
        verified = await self.verified(token)
        if verified.own:
            return Caller(verified.subject, verified.grants)
        if not verified.grants.roles & {"user"}:  # auditors, operators: a name, no account
            return Caller(f"{verified.issuer}|{verified.subject}", verified.grants)
        found = self._accounts.get((verified.issuer, verified.subject))
        if found is None:
            found = await to_thread.run_sync(self._account, verified)
        return Caller(str(found), verified.grants)

    def _account(self, verified: VerifiedToken) -> UUID:
        try:
            found = self._app.account_of_identity(verified.issuer, verified.subject, verified.handle)
        except InvalidInput as error:
            raise InvalidInput(f"The token's preferred_username {verified.handle!r} cannot be a "
                               f"handle here: {error}") from None
        except RuleBroken as error:
            raise RuleBroken(f"{error} This is the first token of {verified.subject!r} from "
                             f"{verified.issuer}: send another preferred_username.") from None
        self._accounts[(verified.issuer, verified.subject)] = found
        if len(self._accounts) > REMEMBERED:
            self._accounts.popitem(last=False)
        return found
