"""Bring your own accounts on PostgreSQL, through real processes: `spaces keys` makes an
integrator's key, whose users host and hear a Space through `spaces serve` from their first
token on; an OpenID Connect provider of the test's own (on 127.0.0.1) rotates its key while
tokens signed with the old one are still out there."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.integrator import parse_created
from tests.oidc_issuer import Issuer
from tests.peers import ToneTrack, connect
from tests.support import ROOT, Server, assert_problem, spaces

LOW, HIGH = 440.0, 1250.0


def environment(database_url: str, **settings: str) -> dict[str, str]:
    """This worktree's code in every process (the venv's `spaces` is installed elsewhere)."""
    return {"SPACES_DATABASE_URL": database_url, "SPACES_SECRET": "integration-secret",
            "PYTHONPATH": str(ROOT), **settings}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_integrators_users_host_and_hear_a_space_from_their_first_token(database_url, tmp_path):
    env = environment(database_url)
    acme = parse_created(spaces("keys", "create", "acme", data_dir=tmp_path / "cli", env=env))
    server = Server(tmp_path / "data", env)
    try:
        http = server.start()
        listen_only = {"roles": ["user"], "spaces": {"*": "listen"}}
        host, guest = acme.token("acme-1", "ada"), acme.token("acme-2", "grace")
        fan = acme.token("acme-3", "fan", grants=listen_only)
        made = http.post("/v1/spaces", json={"title": "Acme live"}, headers=bearer(host))
        assert made.status_code == 201, made.text  # ada's account, made on her first token
        base = f"/v1/spaces/{made.json()['id']}"
        assert http.get("/v1/invitations", headers=bearer(guest)).json() == []  # grace's
        grace = http.get("/v1/accounts", params={"handle": "grace"}).json()["id"]
        assert http.post(f"{base}/invitations", json={"user_id": grace},
                         headers=bearer(host)).status_code == 201
        assert http.post(f"{base}/invitations/{grace}/accept", headers=bearer(guest)).status_code == 200
        assert http.post(f"{base}/launch", headers=bearer(host)).status_code == 200
        ada = http.get("/v1/accounts", params={"handle": "ada"}).json()["id"]
        for speaker, token in ((ada, host), (grace, guest)):
            assert http.post(f"{base}/speakers/{speaker}/unmute", headers=bearer(token)).status_code == 200

        async def on_air() -> None:
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
                host_pc, _, published = await connect(web, f"{base}/audio/publish", host, ToneTrack(LOW))
                assert published.status_code == 201, published.text
                guest_pc, _, published = await connect(web, f"{base}/audio/publish", guest, ToneTrack(HIGH))
                assert published.status_code == 201, published.text
                fan_pc, ears, listening = await connect(web, f"{base}/audio/listen", fan)
                assert listening.status_code == 201, listening.text
                refused_pc, _, refused = await connect(web, f"{base}/audio/publish", fan, ToneTrack(LOW))
                assert_problem(refused, 403, "only listen")
                await asyncio.sleep(0.8)
                start = time.monotonic()
                await asyncio.sleep(1.5)
                assert ears.level_at(LOW, start) > 0.05 and ears.level_at(HIGH, start) > 0.05
                for pc in (host_pc, guest_pc, fan_pc, refused_pc):
                    await pc.close()

        asyncio.run(asyncio.wait_for(on_air(), timeout=90))
        ended = http.post(f"{base}/end", headers=bearer(host))
        assert ended.status_code == 200, ended.text
        assert_problem(http.get(base, params={"after": ended.json()["position"]}), 410)
        assert http.get(base, headers=bearer(host)).json()["state"] == "ended"  # the host still reads it

        # revoked in another process: this server refuses the key's tokens within a second,
        # the ones it has verified before too
        spaces("keys", "revoke", acme.key_id, "--reason", "leaked", data_dir=tmp_path / "cli", env=env)
        deadline = time.monotonic() + 2
        while http.get("/v1/feed", headers=bearer(host)).status_code != 401:
            assert time.monotonic() < deadline, "the revocation did not reach the server"
        assert_problem(http.get("/v1/feed", headers=bearer(acme.token("acme-1"))), 401, "revoked")
        listed = spaces("keys", "list", data_dir=tmp_path / "cli", env=env)
        assert acme.key_id in listed and "revoked" in listed
    finally:
        server.stop()


def test_oidc_users_get_in_and_a_key_rotation_keeps_the_old_keys_tokens_valid(database_url, tmp_path):
    with Issuer() as issuer:
        env = environment(database_url, SPACES_OIDC_ISSUER=issuer.url,
                          SPACES_OIDC_AUDIENCE="spaces-app", SPACES_OIDC_REFETCH_SECONDS="1",
                          SPACES_TOKEN_LEEWAY_SECONDS="0")
        server = Server(tmp_path / "data", env)
        try:
            http = server.start()
            old_key = issuer.keys[-1][:2]
            first = issuer.mint("sso-1", preferred_username="grace")
            unused_yet = issuer.mint("sso-2", preferred_username="alan")  # signed with the old key
            made = http.post("/v1/spaces", json={"title": "SSO"}, headers=bearer(first))
            assert made.status_code == 201, made.text
            assert http.get("/v1/accounts", params={"handle": "grace"}).status_code == 200

            issuer.rotate()  # the provider now publishes only its new key
            time.sleep(1.1)
            fresh = issuer.mint("sso-3", preferred_username="ada")  # an unknown kid: refetched
            assert http.post("/v1/spaces", json={"title": "New key"},
                             headers=bearer(fresh)).status_code == 201
            assert issuer.jwks_fetches == 2
            for token in (first, unused_yet):  # signed before the rotation, still valid
                assert http.get("/v1/feed", headers=bearer(token)).status_code == 200
            time.sleep(1.1)
            assert_problem(http.get("/v1/feed", headers=bearer(issuer.mint("sso-4", key=old_key))),
                           401, "withdrawn")
            strangers = [issuer.rotate(keep_old=True) for _ in range(5)]
            del issuer.keys[-5:]  # made, never published
            for stranger in strangers:  # made-up key ids fetch the keys once in a while, no more
                assert_problem(http.get("/v1/feed", headers=bearer(issuer.mint("x", key=stranger))),
                               401, "not among")
            assert issuer.jwks_fetches <= 3
            assert_problem(http.get("/v1/feed", headers=bearer(
                issuer.mint("sso-1", audience="another-app"))), 401, "audience")
        finally:
            server.stop()
