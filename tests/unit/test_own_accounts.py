"""Bring your own accounts, through HTTP in process: an integrator's backend mints tokens
with its API key, the OIDC provider's tokens come in, and each outside user becomes an
account on their first token."""

from __future__ import annotations

import json
import textwrap
import time

import jwt

from infrastructure.legacy_tokens import LegacyTokens
from tests.integrator import new_integrator
from tests.oidc_issuer import Issuer
from tests.support import ROOT, assert_problem, register
from tests.unit.test_media_node import offer


def system(client):
    return client.app.state.system


def test_an_integrators_user_is_an_account_from_their_first_token(client):
    acme = new_integrator(system(client))
    ada = acme.auth("u-1", "ada")
    made = client.post("/v1/spaces", json={"title": "From acme"}, headers=ada)
    assert made.status_code == 201, made.text
    found = client.get("/v1/accounts", params={"handle": "ada"}).json()
    space = client.get(f"/v1/spaces/{made.json()['id']}", params={"after": made.json()["position"]})
    assert space.json()["host"] == {"id": found["id"], "handle": "ada"}
    again = client.post("/v1/spaces", json={"title": "Again"}, headers=acme.auth("u-1", "renamed"))
    assert again.status_code == 201  # the same account: the handle is the first token's
    assert client.get("/v1/accounts", params={"handle": "renamed"}).status_code == 404
    history = system(client).app.repository.event_store.get(system(client).app.account_id_for("ada"))
    assert [type(e).__name__ for e in history] == ["AccountRegistered"]


def test_a_first_token_whose_handle_is_taken_or_bad_is_a_problem(client):
    register(client, "bill")
    acme = new_integrator(system(client))
    for handle in ("bill", "bilI", "b1ll"):
        assert_problem(client.post("/v1/spaces", json={"title": "x"},
                                   headers=acme.auth("u-2", handle)), 409, "preferred_username")
    assert_problem(client.post("/v1/spaces", json={"title": "x"},
                               headers=acme.auth("u-2", "no spaces!")), 422, "preferred_username")
    assert_problem(client.post("/v1/spaces", json={"title": "x"}, headers=acme.auth("u-2")),
                   401, "preferred_username")
    assert client.post("/v1/spaces", json={"title": "x"},
                       headers=acme.auth("u-2", "bill_acme")).status_code == 201


def test_two_integrators_users_of_one_id_are_two_people_and_keys_of_one_name_one(client):
    acme, globex = new_integrator(system(client)), new_integrator(system(client), "globex")
    assert client.post("/v1/spaces", json={"title": "x"}, headers=acme.auth("1", "ada")).status_code == 201
    assert_problem(client.post("/v1/spaces", json={"title": "x"}, headers=globex.auth("1", "ada")),
                   409, "taken")
    acme_again = new_integrator(system(client), "acme")  # a second key of acme's
    made = client.post("/v1/spaces", json={"title": "y"}, headers=acme_again.auth("1"))
    assert made.status_code == 201, made.text


def test_sign_up_switched_off_does_not_stop_integrators(make_client):
    client = make_client(signup_enabled=False)
    acme = new_integrator(system(client))
    assert client.post("/v1/spaces", json={"title": "x"}, headers=acme.auth("u", "ada")).status_code == 201


def test_a_listen_only_grant_cannot_publish_but_may_listen(client):
    acme = new_integrator(system(client))
    host = acme.auth("host-1", "host")
    space = client.post("/v1/spaces", json={"title": "Show"}, headers=host).json()["id"]
    assert client.post(f"/v1/spaces/{space}/launch", headers=host).status_code == 200
    listen_only = {"roles": ["user"], "spaces": {space: "listen"}}
    sdp = {"Content-Type": "application/sdp"}
    refused = client.post(f"/v1/spaces/{space}/audio/publish", content=offer(listener=False),
                          headers={**acme.auth("host-1", grants=listen_only), **sdp})
    assert_problem(refused, 403, "only listen")
    everywhere = {"roles": ["user"], "spaces": {"*": "listen"}}
    assert_problem(client.post(f"/v1/spaces/{space}/audio/publish", content=offer(listener=False),
                               headers={**acme.auth("host-1", grants=everywhere), **sdp}), 403, "listen")
    published = client.post(f"/v1/spaces/{space}/audio/publish", content=offer(listener=False),
                            headers={**host, **sdp})
    assert published.status_code == 201, published.text
    heard = client.post(f"/v1/spaces/{space}/audio/listen", content=offer(listener=True),
                        headers={**acme.auth("fan-1", "fan", grants=everywhere), **sdp})
    assert heard.status_code == 201, heard.text
    may = {"roles": ["user"], "spaces": {"*": "listen", space: "publish"}}
    again = client.post(f"/v1/spaces/{space}/audio/publish", content=offer(listener=False),
                        headers={**acme.auth("host-1", grants=may), **sdp})
    assert again.status_code == 201, again.text


def test_a_revoked_key_is_refused_at_once_and_a_rotated_one_takes_both_secrets(client):
    app = system(client).app
    acme = new_integrator(system(client))
    assert client.post("/v1/spaces", json={"title": "x"}, headers=acme.auth("u", "ada")).status_code == 201
    made = system(client).key_secrets.new(acme.key_id)
    from datetime import timedelta

    app.rotate_key(acme.key_id, made.salt, made.fingerprint, "test", timedelta(hours=1))
    rotated = type(acme)(acme.key_id, made.secret)
    for key in (acme, rotated):
        assert client.post("/v1/spaces", json={"title": "x"}, headers=key.auth("u")).status_code == 201
    app.revoke_key(acme.key_id, "test", "leaked")
    for key in (acme, rotated):
        assert_problem(client.post("/v1/spaces", json={"title": "x"}, headers=key.auth("u")),
                       401, "revoked")
    auditor = {"Authorization": "Bearer " + system(client).tokens.issue("ann", "auditor")}
    history = client.get("/v1/audit/keys", headers=auditor).json()
    assert [e["event"] for e in history] == ["KeyringStarted", "KeyCreated", "KeyRotated", "KeyRevoked"]
    assert history[1]["data"]["name"] == "acme" and history[3]["data"]["reason"] == "leaked"
    assert all("salt" not in e["data"] and acme.secret not in str(e) for e in history)
    assert_problem(client.get("/v1/audit/keys", headers=acme.auth("u")), 401)


def test_integrator_tokens_that_are_wrong_are_401(client):
    acme = new_integrator(system(client))
    now = int(time.time())
    good = acme.token("u", "ada")
    header, payload, signature = good.split(".")
    none = jwt.utils.base64url_encode(json.dumps({"alg": "none", "kid": acme.key_id}).encode()).decode()
    claims = jwt.decode(good, options={"verify_signature": False})
    claims["grants"]["roles"].append("auditor")
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    for headers, says in [
        (acme.auth("u", "ada", exp=now - 60), "expired"),
        (acme.auth("u", "ada", nbf=now + 600), "not valid yet"),
        (acme.auth("u", "ada", aud="another"), "audience"),
        (acme.auth("u", "ada", grants={"roles": ["auditor"]}), "may grant only user"),
        ({"Authorization": f"Bearer {none}.{payload}."}, "algorithm"),
        ({"Authorization": f"Bearer {header}.{forged}.{signature}"}, "signature"),
        ({"Authorization": "Bearer " + jwt.encode(claims, acme.secret, headers={"kid": "key_nobody"})},
         "unknown"),
    ]:
        response = client.post("/v1/spaces", json={"title": "x"}, headers=headers)
        assert_problem(response, 401, says)
        assert response.headers["www-authenticate"] == "Bearer"


def test_integrators_may_make_auditors_and_operators_when_their_key_says_so(client):
    acme = new_integrator(system(client), roles=("user", "auditor", "operator"))
    host = acme.auth("u", "ada")
    space = client.post("/v1/spaces", json={"title": "x"}, headers=host).json()["id"]
    auditor = acme.auth("ann", grants={"roles": ["auditor"]})
    history = client.get(f"/v1/audit/spaces/{space}/history", headers=auditor)
    assert [e["event"] for e in history.json()] == ["SpaceCreated"]
    assert_problem(client.post("/v1/spaces", json={"title": "x"}, headers=auditor), 403, "auditors")
    reads = client.get("/v1/audit/reads", headers=auditor).json()["items"]
    assert reads[0]["auditor"] == "integrator:acme|ann"
    assert_problem(client.get("/metrics"), 403)
    assert client.get("/metrics", headers=acme.auth("ops", grants={"roles": ["operator"]})).status_code == 200
    assert_problem(client.get("/metrics", headers=host), 403)


def test_an_idempotency_key_is_scoped_to_the_outside_user(client):
    acme = new_integrator(system(client))
    first = client.post("/v1/spaces", json={"title": "Once"},
                        headers={**acme.auth("u", "ada"), "Idempotency-Key": "k"})
    again = client.post("/v1/spaces", json={"title": "Once"},
                        headers={**acme.auth("u", "ada"), "Idempotency-Key": "k"})
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    other = client.post("/v1/spaces", json={"title": "Once"},
                        headers={**acme.auth("v", "bea"), "Idempotency-Key": "k"})
    assert other.json()["id"] != first.json()["id"]


def test_old_tokens_still_work_unless_switched_off(make_client):
    for accepted in (True, False):
        client = make_client(legacy_tokens=accepted, secret="unit-secret")
        ada = register(client, "ada")
        old = LegacyTokens("unit-secret").mint(
            {"sub": ada.id, "role": "user", "exp": int(time.time()) + 60})
        response = client.post("/v1/spaces", json={"title": "x"},
                               headers={"Authorization": f"Bearer {old}"})
        assert response.status_code == (201 if accepted else 401), response.text


def test_sign_up_hands_out_a_jwt(client):
    import jwt

    ada = register(client, "ada")
    assert jwt.get_unverified_header(ada.token)["kid"] == "spaces"
    claims = jwt.decode(ada.token, options={"verify_signature": False})
    assert claims["sub"] == ada.id and claims["grants"] == {"roles": ["user"]}
    assert claims["iss"] == "spaces" and claims["aud"] == "spaces" and claims["jti"]


def test_the_openapi_document_names_the_ways_in(make_client):
    with Issuer() as issuer:
        client = make_client(oidc_issuer=issuer.url, oidc_audience="spaces-app")
        schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["bearer"]["bearerFormat"] == "JWT" and "integrator" in schemes["bearer"]["description"]
    assert schemes["oidc"] == {"type": "openIdConnect", "openIdConnectUrl":
                               issuer.url + "/.well-known/openid-configuration",
                               "description": schemes["oidc"]["description"]}


def test_an_oidc_users_first_token_makes_their_account(make_client):
    with Issuer() as issuer:
        client = make_client(oidc_issuer=issuer.url, oidc_audience="spaces-app")
        token = issuer.mint("oidc-7", preferred_username="grace")
        made = client.post("/v1/spaces", json={"title": "SSO"},
                           headers={"Authorization": f"Bearer {token}"})
        assert made.status_code == 201, made.text
        assert client.get("/v1/accounts", params={"handle": "grace"}).status_code == 200
        assert_problem(client.post("/v1/spaces", json={"title": "x"}, headers={
            "Authorization": f"Bearer {issuer.mint('oidc-7', audience='other')}"}), 401, "audience")


def test_the_readmes_python_example_mints_a_token_this_server_takes(client):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Use your own accounts"):]
    example = textwrap.dedent(section.split("```python\n", 1)[1].split("```", 1)[0])
    acme = new_integrator(system(client))
    example = example.replace('"key_…", "sk_…"', f'"{acme.key_id}", "{acme.secret}"')
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    token = namespace["spaces_token"]("user-42", "ada")
    made = client.post("/v1/spaces", json={"title": "x"}, headers={"Authorization": f"Bearer {token}"})
    assert made.status_code == 201, made.text
