"""Bearer tokens: what a verified token says (`VerifiedToken`), who is calling in this
server's terms (`Caller`), and `Tokens`, which tells a token's kind before trusting anything
in it and hands it to the one verifier of that kind:

- this server's own JWTs (`kid` "spaces", HS256; infrastructure/jwt_tokens.py), from sign-up
  and `spaces auditor-token`;
- the format before JWTs (infrastructure/legacy_tokens.py), for one token lifetime;
- an integrator's API key (its `kid`, HS256; infrastructure/integrator_keys.py);
- the OpenID Connect provider of SPACES_OIDC_ISSUER (its `iss`, RS256 / ES256 keys from its
  JWKS; infrastructure/oidc.py).

Each verifier pins its algorithms to its keys: no `none`, no HMAC with a public key.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Collection, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import jwt

if TYPE_CHECKING:
    from infrastructure.integrator_keys import KeyIndex
    from infrastructure.jwt_tokens import AccessTokens
    from infrastructure.legacy_tokens import LegacyTokens
    from infrastructure.oidc import OidcVerifier

USER, AUDITOR, OPERATOR, INTERNAL = "user", "auditor", "operator", "internal"
ROLES = (USER, AUDITOR, OPERATOR, INTERNAL)  # internal: the API calling a media node
LISTEN, PUBLISH = "listen", "publish"  # per-Space limits: listen-only, or may publish
ANY_SPACE = "*"
OWN_ISSUER = "spaces"
INTEGRATOR_PREFIX = "integrator:"  # then a key's name: the issuer its users are known under
MOST_SPACE_LIMITS = 100


class BadToken(Exception):
    """The token does not let anyone in: 401, and `str(error)` says why."""


class BadSignature(BadToken):
    """The token was not signed with the key it names (or it was altered since)."""


class KeysNeeded(Exception):
    """Verifying this token needs keys fetched from its issuer: do it off the event loop
    (`Tokens.verify(token)` with `fetch=True`, in a thread)."""


@dataclass(frozen=True)
class Grants:
    """What a token lets its bearer do: roles, and optional limits per Space (`listen`:
    listen-only; `publish`: may publish), `*` for every Space not named."""

    roles: frozenset[str]
    spaces: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def may_publish(self, space_id: UUID | str) -> bool:
        limit = self.spaces.get(str(space_id), self.spaces.get(ANY_SPACE, PUBLISH))
        return limit == PUBLISH

    @classmethod
    def of(cls, *roles: str) -> Grants:
        return cls(frozenset(roles))

    def claim(self) -> dict[str, Any]:
        claim: dict[str, Any] = {"roles": sorted(self.roles)}
        if self.spaces:
            claim["spaces"] = dict(self.spaces)
        return claim


def read_grants(claim: object, allowed: Collection[str], default: Grants | None = None) -> Grants:
    """The `grants` claim, checked: known roles that this issuer may grant, Space limits
    naming Space ids (or `*`) and `listen` or `publish`."""
    if claim is None and default is not None:
        return default
    if not isinstance(claim, dict) or not isinstance(claim.get("roles"), list) \
            or not claim["roles"] or set(claim) - {"roles", "spaces"}:
        raise BadToken('The token\'s grants claim is {"roles": [...], "spaces": {...}}.')
    roles = claim["roles"]
    if not all(isinstance(role, str) for role in roles) or set(roles) - set(ROLES):
        raise BadToken(f"The token grants a role that is none of {', '.join(ROLES)}.")
    if set(roles) - set(allowed):
        raise BadToken(f"This token's issuer may grant only {', '.join(sorted(allowed))}.")
    limits = claim.get("spaces", {})
    if not isinstance(limits, dict) or len(limits) > MOST_SPACE_LIMITS:
        raise BadToken(f"The grants' spaces are at most {MOST_SPACE_LIMITS} Space ids (or *) "
                       "each with listen or publish.")
    spaces: dict[str, str] = {}
    for space_id, limit in limits.items():
        if limit not in (LISTEN, PUBLISH):
            raise BadToken("A Space's limit in the grants is listen or publish.")
        try:
            spaces[space_id if space_id == ANY_SPACE else str(UUID(space_id))] = limit
        except ValueError:
            raise BadToken(f"The grants name {space_id!r}, which is no Space id.") from None
    return Grants(frozenset(roles), MappingProxyType(spaces))


@dataclass(frozen=True)
class VerifiedToken:
    issuer: str  # OWN_ISSUER, "integrator:<key name>", or the OIDC provider's issuer
    subject: str  # an account id for this server's own user tokens
    grants: Grants
    handle: str | None = None  # preferred_username: for the account made on first use
    valid_from: float = 0.0  # the time.time() span in which it is good, the leeway included
    valid_until: float = math.inf

    @property
    def own(self) -> bool:
        return self.issuer == OWN_ISSUER

    @property
    def principal(self) -> str:
        """Whom idempotency keys and waiting reads are counted against."""
        roles = "+".join(sorted(self.grants.roles))
        return f"{roles}:{self.subject}" if self.own else f"{roles}:{self.issuer}|{self.subject}"


@dataclass(frozen=True)
class Caller:
    subject: str  # an account id for users; a name for auditors, operators and internal callers
    grants: Grants

    @property
    def roles(self) -> frozenset[str]:
        return self.grants.roles

    @property
    def account_id(self) -> UUID | None:
        """The account of a user's token; None for the other roles."""
        return UUID(self.subject) if USER in self.roles else None

    @property
    def is_user(self) -> bool:
        return USER in self.roles

    @property
    def is_auditor(self) -> bool:
        return AUDITOR in self.roles

    @property
    def is_operator(self) -> bool:
        return OPERATOR in self.roles

    @property
    def is_internal(self) -> bool:
        return INTERNAL in self.roles


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


def load_or_create_secret(configured: str | None, data_dir: Path) -> str:
    """SPACES_SECRET wins; otherwise a secret generated once and kept in the data dir."""
    if configured:
        return configured
    path = data_dir / "secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret
