"""Verifying bearer tokens of every kind: this server's own JWTs, the old format, an
integrator's API key and an OIDC provider (a tiny one on 127.0.0.1). Every way a token can
be wrong is a BadToken (401), with a sentence that says what is wrong."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from domain.keyring import Keyring
from infrastructure.integrator_keys import KeyIndex, KeySecrets
from infrastructure.jwt_tokens import AccessTokens
from infrastructure.legacy_tokens import LegacyTokens
from infrastructure.oidc import OidcKeys, OidcVerifier
from infrastructure.token_kinds import Tokens
from infrastructure.tokens import AUDITOR, USER, BadToken, Grants, KeysNeeded
from tests.integrator import Integrator
from tests.oidc_issuer import Issuer

SECRET = "unit-secret"
ACCOUNT = "6f1c1b7e-8a51-4a52-9a0b-2d7f5c1e9a10"
NOW = datetime.now(timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring()


@pytest.fixture
def key_index(keyring, clock) -> KeyIndex:
    return KeyIndex(lambda: keyring, KeySecrets(SECRET), audience="spaces", leeway=30,
                    longest=86_400, clock=clock)


@pytest.fixture
def tokens(key_index) -> Tokens:
    return Tokens(AccessTokens(SECRET, 3600), LegacyTokens(SECRET), key_index)


def add_key(keyring: Keyring, index: KeyIndex, name: str = "acme", roles=("user",)) -> Integrator:
    secrets = KeySecrets(SECRET)
    key_id = secrets.new_key_id()
    made = secrets.new(key_id)
    keyring.create_key(key_id, name, list(roles), made.salt, made.fingerprint, "test", NOW)
    index.reload()
    return Integrator(key_id, made.secret)


def own_jwt(claims: dict, **header) -> str:
    key = AccessTokens(SECRET, 3600)._key
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": "spaces", **header})


def claims(**changes) -> dict:
    now = int(time.time())
    base = {"iss": "spaces", "aud": "spaces", "sub": ACCOUNT, "iat": now, "exp": now + 600,
            "jti": "j1", "grants": {"roles": ["user"]}}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def refused(tokens: Tokens, token: str, says: str) -> None:
    with pytest.raises(BadToken) as raised:
        tokens.verify(token)
    assert says.lower() in str(raised.value).lower(), raised.value


def unsigned(token: str) -> str:
    """The token with `alg: none` and no signature."""
    _, payload, _ = token.split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT","kid":"spaces"}').rstrip(b"=")
    return f"{header.decode()}.{payload}."


def with_payload(token: str, change) -> str:
    """The token with its claims changed and the old signature kept."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(decoded)
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


# -- this server's own tokens ------------------------------------------------------------

def test_an_own_token_carries_its_subject_and_grants(tokens):
    token = tokens.issue(ACCOUNT)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "spaces", "typ": "JWT"}
    verified = tokens.verify(token)
    assert (verified.issuer, verified.subject, verified.grants.roles) == ("spaces", ACCOUNT, {USER})
    assert tokens.verify(tokens.issue("ann", AUDITOR)).grants.roles == {AUDITOR}


def test_expired_and_not_yet_valid_tokens_are_refused_beyond_the_leeway(tokens):
    now = int(time.time())
    refused(tokens, own_jwt(claims(iat=now - 900, exp=now - 31)), "expired")
    refused(tokens, own_jwt(claims(nbf=now + 31)), "not valid yet")
    refused(tokens, own_jwt(claims(iat=now + 31)), "not valid yet")
    # within the leeway, clocks may disagree
    assert tokens.verify(own_jwt(claims(exp=now - 20, iat=now - 600))).subject == ACCOUNT
    assert tokens.verify(own_jwt(claims(nbf=now + 20, iat=now + 20))).subject == ACCOUNT


def test_wrong_audience_or_issuer_is_refused(tokens):
    refused(tokens, own_jwt(claims(aud="another-server")), "audience")
    refused(tokens, own_jwt(claims(aud=None)), "aud")
    refused(tokens, own_jwt(claims(iss="someone-else")), "issuer")


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "jti"])
def test_every_required_claim_must_be_there(tokens, claim):
    refused(tokens, own_jwt(claims(**{claim: None})), claim)


def test_alg_none_and_tampered_grants_are_refused(tokens):
    token = tokens.issue(ACCOUNT)
    refused(tokens, unsigned(token), "algorithm")
    promoted = with_payload(token, lambda c: c["grants"].update(roles=["user", "auditor"]))
    refused(tokens, promoted, "signature")
    other = with_payload(token, lambda c: c.update(sub="00000000-0000-0000-0000-000000000000"))
    refused(tokens, other, "signature")


def test_malformed_grants_and_odd_values_are_refused(tokens):
    refused(tokens, own_jwt(claims(grants={"roles": ["root"]})), "role")
    refused(tokens, own_jwt(claims(grants={"roles": []})), "grants")
    refused(tokens, own_jwt(claims(grants=None)), "grants")
    refused(tokens, own_jwt(claims(grants={"roles": ["user"], "spaces": {"x": "listen"}})), "no space")
    refused(tokens, own_jwt(claims(grants={"roles": ["user"], "spaces": {"*": "shout"}})), "listen or publish")
    refused(tokens, own_jwt(claims(sub="not-an-account")), "account id")
    refused(tokens, own_jwt(claims(exp=1e400)), "malformed")
    refused(tokens, "a.b.c", "malformed")


def test_an_unknown_kid_and_a_missing_kid_are_refused(tokens):
    refused(tokens, jwt.encode(claims(), "whatever-secret-32-bytes-long-xx", algorithm="HS256",
                               headers={"kid": "nobody"}), "unknown")
    refused(tokens, jwt.encode(claims(), "whatever-secret-32-bytes-long-xx", algorithm="HS256"),
            "names no key")


# -- the format before JWTs --------------------------------------------------------------

def test_old_tokens_work_until_they_expire_or_the_window_is_closed(key_index):
    legacy = LegacyTokens(SECRET)
    old = legacy.mint({"sub": ACCOUNT, "role": "user", "exp": int(time.time()) + 60})
    gone = legacy.mint({"sub": ACCOUNT, "role": "user", "exp": int(time.time()) - 1})
    open_window = Tokens(AccessTokens(SECRET, 3600), legacy, key_index)
    assert open_window.verify(old).grants.roles == {USER}
    refused(open_window, gone, "expired")
    refused(Tokens(AccessTokens(SECRET, 3600), None, key_index), old, "no longer accepted")


# -- integrators' API keys ---------------------------------------------------------------

def test_an_integrators_token_names_its_user_and_their_handle(tokens, keyring, key_index):
    acme = add_key(keyring, key_index)
    verified = tokens.verify(acme.token("u-42", "ada"))
    assert (verified.issuer, verified.subject, verified.handle) == ("integrator:acme", "u-42", "ada")
    limited = acme.token("u-42", grants={"roles": ["user"], "spaces": {"*": "listen"}})
    assert not tokens.verify(limited).grants.may_publish("6f1c1b7e-8a51-4a52-9a0b-2d7f5c1e9a10")


def test_a_key_cannot_grant_more_than_it_was_made_for(tokens, keyring, key_index):
    acme = add_key(keyring, key_index)
    refused(tokens, acme.token("u-1", grants={"roles": ["auditor"]}), "may grant only user")
    refused(tokens, acme.token("u-1", grants={"roles": ["internal"]}), "may grant only")
    auditors = add_key(keyring, key_index, "audit-co", ("auditor",))
    assert tokens.verify(auditors.token("ann", grants={"roles": ["auditor"]})).grants == Grants.of(AUDITOR)


def test_integrator_tokens_are_checked_like_every_jwt(tokens, keyring, key_index):
    acme = add_key(keyring, key_index)
    now = int(time.time())
    refused(tokens, acme.token("u-1", exp=now - 60), "expired")
    refused(tokens, acme.token("u-1", nbf=now + 120), "not valid yet")
    refused(tokens, acme.token("u-1", aud="elsewhere"), "audience")
    refused(tokens, acme.token("u-1", iss="key_someone_else"), "issuer")
    refused(tokens, acme.token("u-1", jti=None), "jti")
    refused(tokens, acme.token("u-1", lifetime=2 * 86_400), "lives longer")
    refused(tokens, with_payload(acme.token("u-1"), lambda c: c["grants"].update(
        spaces={"*": "publish"})), "signature")
    refused(tokens, Integrator(acme.key_id, "sk_" + "guessed" * 7).token("u-1"), "signature")


def test_an_integrator_token_signed_with_another_algorithm_is_refused(tokens, keyring, key_index):
    """RS256 (or none) under a key id that stands for an HS256 secret."""
    acme = add_key(keyring, key_index)
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    payload = jwt.decode(acme.token("u-1"), options={"verify_signature": False})
    refused(tokens, jwt.encode(payload, private, algorithm="RS256", headers={"kid": acme.key_id}),
            "another algorithm")
    refused(tokens, unsigned(acme.token("u-1")).replace(
        unsigned(acme.token("u-1")).split(".")[0],
        base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": acme.key_id}).encode())
        .rstrip(b"=").decode()), "algorithm")


def test_a_revoked_key_signs_nothing_any_more(tokens, keyring, key_index):
    acme = add_key(keyring, key_index)
    token = acme.token("u-1", "ada")
    assert tokens.verify(token).subject == "u-1"
    keyring.revoke_key(acme.key_id, "test", NOW, "leaked")
    key_index.reload()
    refused(tokens, token, "revoked")


def test_a_rotated_key_takes_both_secrets_for_the_overlap_then_only_the_new(
        tokens, keyring, key_index, clock):
    acme = add_key(keyring, key_index)
    made = KeySecrets(SECRET).new(acme.key_id)
    keyring.rotate_key(acme.key_id, made.salt, made.fingerprint, "test", NOW, timedelta(hours=1))
    key_index.reload()
    rotated = Integrator(acme.key_id, made.secret)
    assert tokens.verify(acme.token("u-1")).subject == "u-1"  # the old secret, still
    assert tokens.verify(rotated.token("u-1")).subject == "u-1"
    clock.now = NOW + timedelta(hours=1, seconds=1)
    refused(tokens, acme.token("u-1"), "stopped working")
    assert tokens.verify(rotated.token("u-1")).subject == "u-1"


def test_a_key_made_under_another_server_secret_is_refused(keyring, clock):
    secrets = KeySecrets("another-secret")
    made = secrets.new("key_x")
    keyring.create_key("key_x", "acme", ["user"], made.salt, made.fingerprint, "test", NOW)
    index = KeyIndex(lambda: keyring, KeySecrets(SECRET), audience="spaces", leeway=30,
                     longest=86_400, clock=clock)
    tokens = Tokens(AccessTokens(SECRET, 3600), None, index)
    refused(tokens, Integrator("key_x", made.secret).token("u-1"), "no live secret")


def test_no_secret_is_in_the_keyrings_events(keyring, key_index):
    acme = add_key(keyring, key_index)
    stored = json.dumps([vars(e) for e in keyring.collect_events()], default=str)
    assert acme.secret not in stored and acme.secret[3:] not in stored


# -- an OpenID Connect provider ----------------------------------------------------------

@pytest.fixture
def issuer():
    with Issuer() as running:
        yield running


def oidc_tokens(issuer: Issuer, refetch_after: float = 60.0, roles=("user",),
                clock=time.time, ticks=time.monotonic) -> Tokens:
    keys = OidcKeys(issuer.url, refetch_after=refetch_after, keep_withdrawn=86_430, clock=clock,
                    ticks=ticks)
    verifier = OidcVerifier(keys, audience="spaces-app", leeway=30, longest=86_400,
                            roles=list(roles))
    return Tokens(AccessTokens(SECRET, 3600), None, None, verifier)


def test_an_oidc_token_is_verified_with_the_providers_published_key(issuer):
    tokens = oidc_tokens(issuer)
    es_kid = issuer.rotate(keep_old=True, alg="ES256")
    token = issuer.mint("alice", key=issuer.keys[0][:2], preferred_username="alice")
    with pytest.raises(KeysNeeded):  # the event loop never waits for the provider
        tokens.verify(token, fetch=False)
    verified = tokens.verify(token)
    assert (verified.issuer, verified.subject, verified.handle) == (issuer.url, "alice", "alice")
    assert verified.grants == Grants.of(USER)
    assert tokens.verify(issuer.mint("bob"), fetch=False).subject == "bob"  # keys at hand now
    assert tokens.verify(issuer.mint("carol", key=es_kid), fetch=False).subject == "carol"


def test_oidc_tokens_for_another_audience_or_issuer_or_too_much_are_refused(issuer):
    tokens = oidc_tokens(issuer)
    refused(tokens, issuer.mint(audience="another-app"), "audience")
    refused(tokens, issuer.mint(exp=int(time.time()) - 60), "expired")
    refused(tokens, issuer.mint(grants={"roles": ["auditor"]}), "may grant only user")
    forged_iss = jwt.encode(
        {**jwt.decode(issuer.mint(), options={"verify_signature": False}), "iss": "https://evil.example"},
        issuer.keys[-1][1], algorithm="RS256", headers={"kid": issuer.keys[-1][0]})
    refused(tokens, forged_iss, "unknown")  # not the provider's: no verifier takes it


def test_hs256_signed_with_the_providers_public_key_is_refused(issuer):
    """The classic confusion: the public key (which anyone has) as an HMAC secret."""
    tokens = oidc_tokens(issuer)
    tokens.verify(issuer.mint())  # the keys are fetched
    kid, private, _ = issuer.keys[-1]
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    payload = jwt.decode(issuer.mint(), options={"verify_signature": False})
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": kid}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(hmac.new(
        public_pem, header + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
    refused(tokens, b".".join([header, body, signature]).decode(), "another algorithm")
    refused(tokens, unsigned(issuer.mint()).replace(unsigned(issuer.mint()).split(".")[0],
            base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": kid}).encode())
            .rstrip(b"=").decode()), "algorithm")


def test_an_unknown_oidc_kid_fetches_the_keys_again_at_most_once_a_while(issuer):
    ticks = [0.0]
    tokens = oidc_tokens(issuer, refetch_after=30.0, ticks=lambda: ticks[0])
    tokens.verify(issuer.mint())
    assert issuer.jwks_fetches == 1
    stranger = issuer.rotate(keep_old=True)
    issuer.keys.pop()  # made, but never published
    ticks[0] = 30.0
    for _ in range(5):
        refused(tokens, issuer.mint(key=stranger), "not among")
    assert issuer.jwks_fetches == 2  # one refetch for the unknown kid, then none for a while
    ticks[0] = 59.0
    refused(tokens, issuer.mint(key=stranger), "not among")
    assert issuer.jwks_fetches == 2
    ticks[0] = 60.0
    refused(tokens, issuer.mint(key=stranger), "not among")
    assert issuer.jwks_fetches == 3


def test_after_a_rotation_tokens_of_the_old_key_stay_valid_and_new_ones_verify(issuer):
    now = time.time()
    withdrawal_noticed = [now]
    tokens = oidc_tokens(issuer, refetch_after=0.01, clock=lambda: withdrawal_noticed[0])
    old_key = issuer.keys[-1][:2]
    before = issuer.mint("alice", iat=int(now) - 300)
    tokens.verify(before)
    issuer.rotate()  # the provider publishes only the new key now
    withdrawal_noticed[0] = now - 120  # as if the refetch below had come two minutes ago
    time.sleep(0.02)
    assert tokens.verify(issuer.mint("bob")).subject == "bob"  # an unknown kid: refetched
    assert issuer.jwks_fetches == 2
    assert tokens.verify(before).subject == "alice"  # signed before the old key was withdrawn
    refused(tokens, issuer.mint("mallory", key=old_key), "withdrawn")  # signed after


def test_a_remembered_token_is_still_refused_once_expired_or_its_key_revoked(
        tokens, keyring, key_index):
    acme = add_key(keyring, key_index)
    token = acme.token("u-1", lifetime=120)
    assert tokens.verify(token) is tokens.verify(token)  # the second from memory
    brief = Tokens(AccessTokens(SECRET, 1, leeway=0))
    own = brief.issue(ACCOUNT)
    assert brief.verify(own) is brief.verify(own)
    time.sleep(1.1)
    refused(brief, own, "expired")
    keyring.revoke_key(acme.key_id, "test", NOW)
    key_index.reload()
    refused(tokens, token, "revoked")


def test_a_remembered_token_of_a_rotated_away_secret_ends_with_its_overlap(keyring):
    index = KeyIndex(lambda: keyring, KeySecrets(SECRET), audience="spaces", leeway=30,
                     longest=86_400)  # the real clock
    tokens = Tokens(AccessTokens(SECRET, 3600), None, index)
    acme = add_key(keyring, index)
    token = acme.token("u-1")
    made = KeySecrets(SECRET).new(acme.key_id)
    keyring.rotate_key(acme.key_id, made.salt, made.fingerprint, "test",
                       datetime.now(timezone.utc), timedelta(seconds=1))
    index.reload()
    assert tokens.verify(token) is tokens.verify(token)
    time.sleep(1.1)
    refused(tokens, token, "old secret")
