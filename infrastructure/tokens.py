"""Bearer tokens, in this server's terms: what a verified token says (`VerifiedToken`), the
grants it carries (`Grants`), who is calling (`Caller`), and how a token fails (`BadToken`,
401). Which verifier takes which token is `Tokens`' business (infrastructure/token_kinds.py).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from uuid import UUID

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
