"""Tokens of an OpenID Connect provider (SPACES_OIDC_ISSUER, SPACES_OIDC_AUDIENCE): its
signing keys from its JWKS, found through `/.well-known/openid-configuration`.

Keys are fetched on the first token and again when a token names a key id (`kid`) not yet
known, at most once per SPACES_OIDC_REFETCH_SECONDS, so made-up kids cannot hammer the
provider. A key the provider stops publishing (it rotated) is kept for the tokens it
signed before then, for as long as such a token can live (SPACES_EXTERNAL_TOKEN_MAX_SECONDS
and the leeway). Only asymmetric keys count, each with its one algorithm (RS256, ES256, ...):
never HMAC, so a token signed with a public key as an HMAC secret is refused. A provider
that cannot be reached keeps the keys already fetched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from infrastructure.jwt_tokens import decode, span
from infrastructure.tokens import USER, BadToken, Grants, KeysNeeded, VerifiedToken, read_grants

log = logging.getLogger(__name__)
ASYMMETRIC = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}


def is_secure_url(url: str) -> bool:
    """HTTPS, or plain HTTP to this machine only (tests, a provider beside the server)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost"))


def get_json(url: str) -> Any:
    response = httpx.get(url, timeout=5.0, follow_redirects=False)
    response.raise_for_status()
    return response.json()


@dataclass
class _Key:
    jwk: jwt.PyJWK
    withdrawn_at: float | None = None  # when a fetch first missed it (wall clock)


class OidcKeys:
    def __init__(self, issuer: str, *, refetch_after: float, keep_withdrawn: float,
                 get: Callable[[str], Any] = get_json, clock: Callable[[], float] = time.time,
                 ticks: Callable[[], float] = time.monotonic):
        """`clock` dates withdrawals (tokens' iat is wall-clock time); `ticks` spaces fetches."""
        self.issuer, self.refetch_after, self.keep_withdrawn = issuer, refetch_after, keep_withdrawn
        self._get, self._clock, self._ticks = get, clock, ticks
        self._keys: dict[str, _Key] = {}
        self._fetched_at: float | None = None
        self.fetches = 0
        self._lock = threading.Lock()

    def key(self, kid: object, fetch: bool) -> _Key:
        found = self._find(kid)
        if found is not None:
            return found
        if not self._may_fetch():
            raise BadToken(f"The token's key (kid {str(kid)[:80]!r}) is not among "
                           f"{self.issuer}'s keys.")
        if not fetch:
            raise KeysNeeded(self.issuer)
        self.refresh()
        found = self._find(kid)
        if found is None:
            raise BadToken(f"The token's key (kid {str(kid)[:80]!r}) is not among "
                           f"{self.issuer}'s keys.")
        return found

    def _find(self, kid: object) -> _Key | None:
        keys = self._keys
        if kid is None and len(keys) == 1:  # a provider with one key may leave kid out
            return next(iter(keys.values()))
        return keys.get(kid) if isinstance(kid, str) else None

    def _may_fetch(self) -> bool:
        fetched = self._fetched_at
        return fetched is None or self._ticks() - fetched >= self.refetch_after

    def refresh(self) -> None:
        with self._lock:
            if not self._may_fetch():  # another thread has just fetched
                return
            self._fetched_at = self._ticks()
            self.fetches += 1
            try:
                fetched = self._fetch()
            except Exception as error:  # unreachable, or nonsense: keep what we have
                log.warning("Could not fetch the keys of %s: %s", self.issuer, error)
                return
            now, keys = self._clock(), dict(self._keys)
            for kid, key in keys.items():
                if kid not in fetched and key.withdrawn_at is None:
                    key.withdrawn_at = now
            for kid, jwk in fetched.items():
                keys[kid] = _Key(jwk)
            self._keys = {kid: key for kid, key in keys.items() if key.withdrawn_at is None
                          or now - key.withdrawn_at < self.keep_withdrawn}

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        discovery = self._get(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if discovery.get("issuer") != self.issuer:
            raise ValueError(f"its discovery document names the issuer {discovery.get('issuer')!r}")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not is_secure_url(jwks_uri):
            raise ValueError(f"its jwks_uri {jwks_uri!r} is not an https URL")
        keys: dict[str, jwt.PyJWK] = {}
        for entry in self._get(jwks_uri).get("keys", []):
            if entry.get("kty") not in ("RSA", "EC") or entry.get("use", "sig") != "sig":
                continue  # never a symmetric key, nor one for encryption
            try:
                jwk = jwt.PyJWK(entry)
            except jwt.PyJWTError as error:
                log.warning("%s publishes a key we cannot use (%s): %s", self.issuer,
                            entry.get("kid"), error)
                continue
            if jwk.algorithm_name in ASYMMETRIC and jwk.key_id:
                keys[jwk.key_id] = jwk
        return keys


class OidcVerifier:
    def __init__(self, keys: OidcKeys, *, audience: str, leeway: float, longest: float,
                 roles: list[str]):
        self.keys, self.issuer = keys, keys.issuer
        self.audience, self.leeway, self.longest, self.roles = audience, leeway, longest, roles

    def verify(self, token: str, header: dict[str, Any], fetch: bool) -> VerifiedToken:
        key = self.keys.key(header.get("kid"), fetch)
        claims = decode(token, key.jwk.key, key.jwk.algorithm_name, issuer=self.issuer,
                        audience=self.audience, leeway=self.leeway, longest=self.longest)
        if key.withdrawn_at is not None and claims["iat"] > key.withdrawn_at + self.leeway:
            raise BadToken(f"The token is signed with a key that {self.issuer} has withdrawn.")
        grants = read_grants(claims.get("grants"), self.roles, default=Grants.of(USER))
        handle = claims.get("preferred_username")
        return VerifiedToken(self.issuer, str(claims["sub"]), grants,
                             handle if isinstance(handle, str) else None, *span(claims, self.leeway))
