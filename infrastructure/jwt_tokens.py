"""JWTs (RFC 7519, PyJWT): the claims every verifier checks the same way (`decode`), and this
server's own access tokens (`AccessTokens`).

Every token needs `sub`, `exp`, `iat` and `jti`; `nbf` is checked when present; `iss` and
`aud` must be what the verifier expects. Clocks may disagree by the leeway
(SPACES_TOKEN_LEEWAY_SECONDS, at most 300 s), never more. The algorithm is the one the
key is for, passed alone to PyJWT, so a token cannot choose `none` or another algorithm.

This server's own tokens are HS256 with a key derived from SPACES_SECRET (not the secret
itself, which also keys the hash chain and the integrators' secrets), `kid` "spaces",
`iss` "spaces", `aud` SPACES_TOKEN_AUDIENCE, and a `grants` claim with the role.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any
from uuid import UUID

import jwt

from infrastructure.tokens import (
    OWN_ISSUER,
    ROLES,
    USER,
    BadSignature,
    BadToken,
    Grants,
    VerifiedToken,
    read_grants,
)

REQUIRED = ["sub", "exp", "iat", "jti"]


def decode(token: str, key: Any, algorithm: str, *, issuer: str, audience: str,
           leeway: float, longest: float | None = None) -> dict[str, Any]:
    """The verified claims; BadToken says what is wrong. `longest`: the most seconds a
    token may live (exp - iat), for tokens that others mint."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[algorithm], issuer=issuer, audience=audience, leeway=leeway,
            options={"require": REQUIRED, "verify_signature": True})
    except jwt.InvalidSignatureError:
        raise BadSignature("The token's signature does not match; sign in again.") from None
    except jwt.InvalidAlgorithmError:
        raise BadToken(f"The token is signed with another algorithm than {algorithm}, the "
                       "only one its key is for.") from None
    except jwt.ExpiredSignatureError:
        raise BadToken("The token has expired; sign in again.") from None
    except jwt.ImmatureSignatureError:
        raise BadToken(f"The token is not valid yet (nbf or iat more than {leeway:g} s ahead "
                       "of this server's clock).") from None
    except jwt.InvalidAudienceError:
        raise BadToken(f"The token is for another audience: aud must be {audience!r}.") from None
    except jwt.InvalidIssuerError:
        raise BadToken(f"The token's issuer (iss) must be {issuer!r}.") from None
    except jwt.MissingRequiredClaimError as error:
        raise BadToken(f"The token has no {error.claim} claim.") from None
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError):  # shape, or odd numbers
        raise BadToken("The token is malformed.") from None
    if not claims["sub"] or not isinstance(claims["jti"], str) or not claims["jti"]:
        raise BadToken("The token's sub and jti are non-empty strings.")
    if longest is not None and claims["exp"] - claims["iat"] > longest:
        raise BadToken(f"The token lives longer than {longest:g} s (exp - iat); mint "
                       "short-lived tokens.")
    return claims


def span(claims: dict[str, Any], leeway: float) -> tuple[float, float]:
    """When the verified claims are good, as PyJWT judges: from iat (or nbf, if later) to
    exp, widened by the leeway."""
    return (max(claims["iat"], claims.get("nbf", claims["iat"])) - leeway,
            claims["exp"] + leeway)


class AccessTokens:
    KID = "spaces"
    ALGORITHM = "HS256"

    def __init__(self, secret: str, ttl_seconds: int, audience: str = OWN_ISSUER,
                 leeway: float = 30.0):
        self._key = hmac.new(secret.encode(), b"spaces access tokens", hashlib.sha256).digest()
        self.ttl, self.audience, self.leeway = ttl_seconds, audience, leeway

    def issue(self, subject: str, grants: Grants) -> str:
        now = int(time.time())
        claims = {"iss": OWN_ISSUER, "aud": self.audience, "sub": subject, "iat": now,
                  "nbf": now, "exp": now + self.ttl, "jti": secrets.token_urlsafe(12),
                  "grants": grants.claim()}
        return jwt.encode(claims, self._key, algorithm=self.ALGORITHM, headers={"kid": self.KID})

    def verify(self, token: str, header: dict[str, Any] | None = None,
               fetch: bool = False) -> VerifiedToken:
        claims = decode(token, self._key, self.ALGORITHM, issuer=OWN_ISSUER,
                        audience=self.audience, leeway=self.leeway)
        grants = read_grants(claims.get("grants"), ROLES)
        subject = str(claims["sub"])
        if USER in grants.roles:
            try:
                subject = str(UUID(subject))  # an account id, or no user
            except ValueError:
                raise BadToken("The token is malformed: a user's sub is an account id.") from None
        return VerifiedToken(OWN_ISSUER, subject, grants, None, *span(claims, self.leeway))
