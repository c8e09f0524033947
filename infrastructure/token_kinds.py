"""`Tokens`: tells a token's kind before trusting anything in it, and hands it to the one
verifier of that kind:

- this server's own JWTs (`kid` "spaces", HS256; infrastructure/jwt_tokens.py), from sign-up
  and `spaces auditor-token`;
- the format before JWTs (infrastructure/legacy_tokens.py), for one token lifetime;
- an integrator's API key (its `kid`, HS256; infrastructure/integrator_keys.py);
- the OpenID Connect provider of SPACES_OIDC_ISSUER (its `iss`, RS256 / ES256 keys from its
  JWKS; infrastructure/oidc.py).

Each verifier pins its algorithms to its keys: no `none`, no HMAC with a public key.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Protocol

import jwt

from infrastructure.tokens import INTEGRATOR_PREFIX, USER, BadToken, Grants, VerifiedToken

if TYPE_CHECKING:
    from infrastructure.integrator_keys import KeyIndex
    from infrastructure.jwt_tokens import AccessTokens
    from infrastructure.legacy_tokens import LegacyTokens
    from infrastructure.oidc import OidcVerifier


class Verifier(Protocol):
    def verify(self, token: str, header: dict[str, Any], fetch: bool) -> VerifiedToken: ...


class Tokens:
    """Remembers the tokens it verified lately, by their exact text (signature included): a
    token never changes, so on the next request only its time span is checked again, and
    for an integrator's token whether the keyring has changed since (a revocation). That
    spares each request most of a verification (about 60 µs of CPU with PyJWT)."""

    REMEMBERED = 10_000

    def __init__(self, own: AccessTokens, legacy: LegacyTokens | None = None,
                 keys: KeyIndex | None = None, oidc: OidcVerifier | None = None):
        self.own, self.legacy, self.keys, self.oidc = own, legacy, keys, oidc
        self._remembered: OrderedDict[str, tuple[VerifiedToken, int | None]] = OrderedDict()

    def issue(self, subject: str, role: str = USER) -> str:
        """One of this server's own tokens."""
        return self.own.issue(subject, Grants.of(role))

    def verify(self, token: str, *, fetch: bool = True) -> VerifiedToken:
        """`fetch=False` never waits on the network: it raises KeysNeeded instead."""
        keyring = self.keys.version if self.keys is not None else None
        remembered = self._remembered.get(token)
        if remembered is not None:
            verified, verified_with = remembered
            if verified.valid_from <= time.time() < verified.valid_until and (
                    verified_with is None or verified_with == keyring):
                return verified
            self._remembered.pop(token, None)  # then verified again, to say what is wrong
        verified = self._verify(token, fetch)
        self._remembered[token] = (verified, keyring if verified.issuer.startswith(
            INTEGRATOR_PREFIX) else None)
        if len(self._remembered) > self.REMEMBERED:
            with suppress(KeyError):
                self._remembered.popitem(last=False)
        return verified

    def _verify(self, token: str, fetch: bool) -> VerifiedToken:
        if token.count(".") == 1:
            if self.legacy is None:
                raise BadToken("Tokens of the old format are no longer accepted; sign in again.")
            return self.legacy.verify(token)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise BadToken("The token is malformed: not a JWT.") from None
        return self._verifier(token, header).verify(token, header, fetch)

    def _verifier(self, token: str, header: dict[str, Any]) -> Verifier:
        kid = header.get("kid")
        if kid == self.own.KID:
            return self.own
        if self.oidc is not None and _unverified_issuer(token) == self.oidc.issuer:
            return self.oidc
        if self.keys is not None and isinstance(kid, str) and kid in self.keys:
            return self.keys
        if kid is None:
            raise BadToken("The token's header names no key (kid).")
        raise BadToken(f"The token's key (kid {str(kid)[:80]!r}) is unknown here.")


def _unverified_issuer(token: str) -> object:
    """Only to choose the verifier, which then checks `iss` against what it expects."""
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
