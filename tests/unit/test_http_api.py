"""The HTTP contract's cross-cutting rules, in process on the in-memory store."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import build
from infrastructure.kafka_live import LiveToKafka
from infrastructure.settings import Settings
from infrastructure.tokens import AUDITOR
from tests.projection_faults import UNSTORABLE, with_fragile_spaces
from tests.support import assert_problem, register
from tests.unit.test_media_node import offer


def auditor_headers(client) -> dict[str, str]:
    token = client.app.state.system.tokens.issue("ann", AUDITOR)
    return {"Authorization": f"Bearer {token}"}


def live_space(client, host) -> str:
    space = client.post("/v1/spaces", json={"title": "Show"}, headers=host.auth).json()["id"]
    assert client.post(f"/v1/spaces/{space}/launch", headers=host.auth).status_code == 200
    return space


def test_commands_need_a_valid_token(client):
    assert_problem(client.post("/v1/spaces", json={"title": "x"}), 401, "bearer token")
    response = client.post("/v1/spaces", json={"title": "x"},
                           headers={"Authorization": "Bearer not.valid"})
    assert_problem(response, 401, "signature")
    assert response.headers["www-authenticate"] == "Bearer"


def test_auditors_read_but_cannot_act_and_users_cannot_audit(client):
    host = register(client, "host")
    space = live_space(client, host)
    assert_problem(client.post("/v1/spaces", json={"title": "x"}, headers=auditor_headers(client)),
                   403, "auditors")
    assert_problem(client.get(f"/v1/audit/spaces/{space}/history", headers=host.auth), 403)
    assert_problem(client.get("/v1/audit/moderation", headers=host.auth), 403)
    history = client.get(f"/v1/audit/spaces/{space}/history", headers=auditor_headers(client))
    assert [e["event"] for e in history.json()] == ["SpaceCreated", "SpaceLaunched"]


def test_bad_input_gets_problem_details_naming_the_field(client):
    host = register(client, "host")
    body = assert_problem(client.post("/v1/spaces", json={}, headers=host.auth), 422, "title")
    assert body["errors"][0]["where"] == "body.title"
    assert_problem(client.post("/v1/spaces", json={"title": "x", "speaker_policy": "all"},
                               headers=host.auth), 422, "speaker_policy")
    assert_problem(client.post("/v1/spaces", content=b"{", headers={
        **host.auth, "content-type": "application/json"}), 400, "not valid JSON")
    assert_problem(client.post("/v1/accounts", json={"handle": "no spaces!"}), 422, "handle")
    assert_problem(client.post("/v1/spaces", json={
        "title": "x", "scheduled_for": "2020-01-01T00:00:00Z"}, headers=host.auth), 422, "future")
    assert_problem(client.post("/v1/spaces", json={
        "title": "x", "scheduled_for": "2030-01-01T00:00:00"}, headers=host.auth), 422, "timezone")


def test_unknown_ids_are_404(client):
    host = register(client, "host")
    assert_problem(client.get("/v1/spaces/not-an-id"), 404)
    assert_problem(client.get(f"/v1/spaces/{host.id}"), 404)
    assert_problem(client.post(f"/v1/spaces/{host.id}/launch", headers=host.auth), 404)
    space = live_space(client, host)
    assert_problem(client.put(f"/v1/spaces/{space}/speakers/{space}", headers=host.auth), 404)


def test_a_handle_is_taken_once(client):
    register(client, "Ada")
    assert_problem(client.post("/v1/accounts", json={"handle": "ada"}), 409, "taken")


def test_sign_up_can_be_switched_off(make_client):
    client = make_client(signup_enabled=False)
    assert_problem(client.post("/v1/accounts", json={"handle": "ada"}), 403, "sign-up")


def test_an_idempotency_key_replays_the_first_response(client):
    host = register(client, "host")
    headers = {**host.auth, "Idempotency-Key": "create-1"}
    first = client.post("/v1/spaces", json={"title": "Once"}, headers=headers)
    again = client.post("/v1/spaces", json={"title": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    mine = client.get("/v1/spaces", params={"after": first.json()["position"]})
    assert mine.json()["items"] == []  # created, not live: and only one was created
    assert client.app.state.system.app.position() == first.json()["position"]
    assert_problem(client.post("/v1/spaces", json={"title": "Other"}, headers=headers),
                   422, "different request")
    other_caller = register(client, "other")
    reused = client.post("/v1/spaces", json={"title": "Once"},
                         headers={**other_caller.auth, "Idempotency-Key": "create-1"})
    assert reused.status_code == 201 and reused.json()["id"] != first.json()["id"]


def test_read_your_writes_with_after(make_client):
    client = make_client(read_your_writes_timeout=0.3)
    host = register(client, "host")
    space = client.post("/v1/spaces", json={"title": "Show"}, headers=host.auth).json()["id"]
    launched = client.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()
    listing = client.get("/v1/spaces", params={"after": launched["position"]}).json()
    assert [s["id"] for s in listing["items"]] == [space]
    assert_problem(client.get("/v1/spaces", params={"after": launched["position"] + 100}), 503)


def test_listing_pages_with_a_cursor(client):
    host = register(client, "host")
    spaces = [live_space(client, host) for _ in range(5)]
    position = client.app.state.system.app.position()
    first = client.get("/v1/spaces", params={"limit": 2, "after": position}).json()
    second = client.get("/v1/spaces", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = client.get("/v1/spaces", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    seen = [s["id"] for page in (first, second, third) for s in page["items"]]
    assert seen == list(reversed(spaces))
    assert third["next_cursor"] is None


def test_the_host_sees_requests_and_invitations_others_do_not(client):
    host, guest, listener = (register(client, h) for h in ("host", "guest", "listener"))
    space = live_space(client, host)
    client.post(f"/v1/spaces/{space}/invitations", json={"user_id": guest.id}, headers=host.auth)
    done = client.post(f"/v1/spaces/{space}/speak-requests", headers=listener.auth).json()
    as_host = client.get(f"/v1/spaces/{space}", params={"after": done["position"]},
                         headers=host.auth).json()
    assert as_host["open_invitations"] == [guest.id]
    assert [p["handle"] for p in as_host["speak_requests"]] == ["listener"]
    public = client.get(f"/v1/spaces/{space}").json()
    assert public["speak_requests"] is None and public["open_invitations"] is None
    assert public["speakers"] == [{"id": host.id, "handle": "host", "muted": True}]

    # the host dismisses the request; the asker can ask again, and lower their hand
    request = f"/v1/spaces/{space}/speak-requests/{listener.id}"
    assert_problem(client.delete(request, headers=guest.auth), 403)
    done = client.delete(request, headers=host.auth).json()
    as_host = client.get(f"/v1/spaces/{space}", params={"after": done["position"]},
                         headers=host.auth).json()
    assert as_host["speak_requests"] == []
    assert_problem(client.delete(request, headers=host.auth), 409, "no request")
    asked = client.post(f"/v1/spaces/{space}/speak-requests", headers=listener.auth).json()
    assert client.get(f"/v1/spaces/{space}", params={"after": asked["position"]},
                      headers=listener.auth).json()["asked_to_speak"] is True
    done = client.delete(request, headers=listener.auth).json()
    assert client.get(f"/v1/spaces/{space}", params={"after": done["position"]},
                      headers=host.auth).json()["speak_requests"] == []
    assert client.get(f"/v1/spaces/{space}", headers=listener.auth).json()["asked_to_speak"] is False


def test_reactions_are_rate_limited_per_user(make_client):
    client = make_client(reaction_burst=3, reactions_per_second=0.5)
    host, fan = register(client, "host"), register(client, "fan")
    space = live_space(client, host)
    seen = []
    client.app.state.system.live.subscribe(lambda *event: seen.append(event))
    for _ in range(3):
        assert client.post(f"/v1/spaces/{space}/reactions", json={"emoji": "🔥"},
                           headers=fan.auth).status_code == 202
    limited = client.post(f"/v1/spaces/{space}/reactions", json={"emoji": "🔥"}, headers=fan.auth)
    assert_problem(limited, 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert len(seen) == 3 and seen[0][1] == "reaction"
    assert_problem(client.post(f"/v1/spaces/{space}/reactions", json={"emoji": "x"},
                               headers=fan.auth), 422, "emoji")


def test_anonymous_listening_is_a_setting(make_client):
    closed = make_client(anonymous_listening=False)
    host = register(closed, "host")
    space = closed.post("/v1/spaces", json={"title": "Show"}, headers=host.auth).json()["id"]
    launched = closed.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()
    assert_problem(closed.get(f"/v1/spaces/{space}"), 401)
    assert closed.get(f"/v1/spaces/{space}", params={"after": launched["position"]},
                      headers=host.auth).status_code == 200


def test_the_public_page_names_the_space_and_says_when_it_ended(client):
    host = register(client, "host")
    space = client.post("/v1/spaces", json={"title": "<Night> show"}, headers=host.auth).json()["id"]
    launched = client.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()
    page = client.get(f"/s/{space}", params={"after": launched["position"]})
    assert page.status_code == 200 and "&lt;Night&gt; show" in page.text and "@host" in page.text
    ended = client.post(f"/v1/spaces/{space}/end", headers=host.auth).json()
    client.get("/v1/spaces", params={"after": ended["position"]})
    gone = client.get(f"/s/{space}")
    assert gone.status_code == 410 and "ended" in gone.text


def test_the_host_schedules_and_followers_see_the_upcoming_space(client):
    host, fan = register(client, "host"), register(client, "fan")
    client.put(f"/v1/accounts/{fan.id}/following/{host.id}", headers=fan.auth)
    space = client.post("/v1/spaces", json={"title": "Soon"}, headers=host.auth).json()["id"]
    soon = (datetime.now(timezone(timedelta(hours=2))) + timedelta(days=2)).replace(microsecond=0)
    done = client.patch(f"/v1/spaces/{space}", json={"scheduled_for": soon.isoformat()},
                        headers=host.auth).json()
    (upcoming,) = client.get("/v1/feed", params={"after": done["position"]}, headers=fan.auth).json()["items"]
    assert upcoming["id"] == space and upcoming["state"] == "created"
    def follow_state(caller=None) -> tuple:
        view = client.get(f"/v1/spaces/{space}", headers=caller.auth if caller else None).json()
        return view["following_host"], view["host_go_live_notifications"]

    assert follow_state(fan) == (True, True)
    assert follow_state(host) == (False, False)
    assert follow_state() == (None, None)  # nobody signed in
    switched = client.delete(f"/v1/accounts/{fan.id}/following/{host.id}/notifications",
                             headers=fan.auth).json()
    client.get("/v1/feed", params={"after": switched["position"]}, headers=fan.auth)
    assert follow_state(fan) == (True, False)
    assert upcoming["scheduled_for"].startswith(soon.astimezone(timezone.utc).isoformat()[:19])
    assert_problem(client.patch(f"/v1/spaces/{space}", json={"scheduled_for": soon.isoformat()},
                                headers=fan.auth), 403)


def test_the_feed_pages_by_its_cursor_live_then_upcoming_and_refuses_a_made_up_one(client):
    host, fan = register(client, "host"), register(client, "fan")
    client.put(f"/v1/accounts/{fan.id}/following/{host.id}", headers=fan.auth)
    soon = datetime.now(timezone.utc) + timedelta(days=1)
    made = []
    for n in range(3):
        space = client.post("/v1/spaces", json={"title": f"Show {n}"}, headers=host.auth).json()["id"]
        if n == 2:
            done = client.patch(f"/v1/spaces/{space}", json={"scheduled_for": soon.isoformat()},
                                headers=host.auth).json()
        else:
            done = client.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()
        made.append(space)
    first = client.get("/v1/feed", params={"limit": 2, "after": done["position"]},
                       headers=fan.auth).json()
    assert [s["id"] for s in first["items"]] == [made[1], made[0]]
    second = client.get("/v1/feed", params={"limit": 2, "cursor": first["next_cursor"]},
                        headers=fan.auth).json()
    assert [s["id"] for s in second["items"]] == [made[2]] and second["next_cursor"] is None
    for made_up in ("live.x", "soon", "upcoming.", "x" * 201):
        assert_problem(client.get("/v1/feed", params={"cursor": made_up}, headers=fan.auth), 422)


def test_a_scheduled_start_is_in_the_future_and_within_the_horizon(make_client):
    client = make_client(schedule_horizon_days=7)
    host = register(client, "host")
    now = datetime.now(timezone.utc)
    for when, detail in [("9999-12-31T23:59:59-23:59", "at most 7 days ahead"),
                         ((now + timedelta(days=8)).isoformat(), "at most 7 days ahead"),
                         ((now - timedelta(minutes=1)).isoformat(), "in the future"),
                         ("0001-01-01T00:00:00+01:00", "in the future")]:
        assert_problem(client.post("/v1/spaces", json={"title": "Later", "scheduled_for": when},
                                   headers=host.auth), 422, detail)
    naive = client.post("/v1/spaces", json={"title": "Later", "scheduled_for": "2030-01-01T10:00:00"},
                        headers=host.auth)
    assert_problem(naive, 422)
    fine = client.post("/v1/spaces", json={"title": "Later",
                                           "scheduled_for": (now + timedelta(days=6)).isoformat()},
                       headers=host.auth)
    assert fine.status_code == 201, fine.text


def test_health_reports_readiness_and_positions(client):
    registered = client.post("/v1/accounts", json={"handle": "host"}).json()
    deadline = time.monotonic() + 5
    while (health := client.get("/healthz")).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.01)
    body = health.json()
    assert body["status"] == "ok" and body["event_store_position"] == registered["position"]


OPERATOR = {"Authorization": "Bearer ops-secret"}


def test_metrics_count_commands_by_route_and_show_view_lag(make_client):
    client = make_client(metrics_token="ops-secret")
    host = register(client, "host")
    live_space(client, host)
    client.post("/v1/spaces/nope/launch", headers=host.auth)
    text = client.get("/metrics", headers=OPERATOR).text
    assert 'spaces_commands_total{method="POST",route="/v1/spaces/{space_id}/launch",status="200"} 1.0' in text
    assert 'route="/v1/spaces/{space_id}/launch",status="404"} 1.0' in text
    assert 'spaces_command_seconds_count{method="POST",route="/v1/accounts"} 1.0' in text
    assert f"spaces_event_store_position {client.app.state.system.app.position()}.0" in text
    assert "spaces_views_events_behind" in text and "spaces_views_seconds_behind" in text


def test_the_openapi_document_lists_every_route(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/spaces/{space_id}/speakers/{user_id}", "/v1/audit/moderation", "/v1/feed",
            "/v1/accounts/{account_id}/blocked/{target}", "/s/{space_id}"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_health_and_metrics_name_a_stopped_projection_and_other_reads_go_on():
    system = build(Settings(event_store="memory", metrics_token="ops-secret"))
    system.projections.projections[:] = with_fragile_spaces()
    with TestClient(create_app(system=system)) as client:
        host = register(client, "host")
        created = client.post("/v1/spaces", json={"title": UNSTORABLE}, headers=host.auth).json()
        assert client.get("/v1/feed", params={"after": created["position"]},
                          headers=host.auth).status_code == 200  # the running views caught up
        health = client.get("/healthz").json()
        assert health["status"] == "degraded"
        assert health["stopped_projections"] == [{
            "projection": "spaces", "position": created["position"],
            "error": "ValueError: this title cannot be stored"}]
        assert (f'spaces_projection_stopped{{position="{created["position"]}",projection="spaces"}} 1.0'
                in client.get("/metrics", headers=OPERATOR).text)
        system.app.skip_event("spaces", created["position"], "cli:ops", "cannot be stored")
        deadline = time.monotonic() + 5
        while client.get("/healthz").json()["status"] != "ok":
            assert time.monotonic() < deadline, client.get("/healthz").json()
            time.sleep(0.05)


def test_every_spelling_of_an_id_names_the_same_space_and_audio_room(client):
    host = register(client, "host")
    space = client.post("/v1/spaces", json={"title": "Show"}, headers=host.auth).json()["id"]
    launched = client.post(f"/v1/spaces/{space.upper()}/launch", headers=host.auth)
    assert launched.status_code == 200 and launched.json()["id"] == space
    assert client.get(f"/v1/spaces/{space}", params={"after": launched.json()["position"]}).status_code == 200
    for spelling in (space.upper(), space.replace("-", ""), "{" + space + "}", "urn:uuid:" + space):
        assert client.get(f"/v1/spaces/{spelling}").json()["id"] == space, spelling
    assert_problem(client.get(f"/v1/spaces/{space[:-1]}"), 404)
    listened = client.post(f"/v1/spaces/{space.upper().replace('-', '')}/audio/listen",
                           content=offer(listener=True), headers={"Content-Type": "application/sdp"})
    assert listened.status_code == 201, listened.text
    assert listened.headers["location"].startswith(f"/v1/spaces/{space}/audio/sessions/")
    assert list(client.app.state.system.media.rooms) == [space]  # the room moderation reaches


def test_integers_past_what_the_stores_hold_are_refused_not_a_crash(client):
    host = register(client, "host")
    space = live_space(client, host)
    auditor = auditor_headers(client)
    huge = str(2**63)
    for path, headers in [("/v1/spaces", {}), ("/v1/audit/moderation", auditor),
                          ("/v1/audit/reads", auditor),
                          (f"/v1/audit/spaces/{space}/history", auditor),
                          (f"/v1/audit/spaces/{space}/timeline", auditor)]:
        assert_problem(client.get(path, params={"cursor": huge}, headers=headers), 422)
        assert client.get(path, params={"cursor": str(2**63 - 1)}, headers=headers).status_code == 200
    assert_problem(client.get("/v1/spaces", params={"after": huge}), 422)
    assert_problem(client.get(f"/v1/audit/spaces/{space}/timeline", params={"version": huge},
                              headers=auditor), 422)
    assert_problem(client.get(f"/v1/spaces/{space}/stream", headers={"Last-Event-ID": huge}), 422)


def test_a_token_in_the_url_works_for_the_live_stream_only(client):
    host = register(client, "host")
    space = live_space(client, host)
    in_url = {"access_token": host.token}
    assert_problem(client.post(f"/v1/spaces/{space}/end", params=in_url), 400, "only for the live stream")
    assert_problem(client.get("/v1/audit/moderation", params={"access_token": "x"},
                              headers=auditor_headers(client)), 400)
    reads = client.get("/v1/audit/reads", headers=auditor_headers(client)).json()["items"]
    assert all("access_token" not in r["what"] for r in reads)
    with client.stream("GET", f"/v1/spaces/{space}/stream", params=in_url) as stream:
        assert stream.status_code == 200
        assert next(stream.iter_lines()).startswith(("id:", "event:"))


def test_who_may_act_is_decided_before_what_they_asked(client):
    host, fan = register(client, "host"), register(client, "fan")
    space = live_space(client, host)
    assert_problem(client.post(f"/v1/spaces/{space}/blocks", json={"user_id": fan.id},
                               headers=fan.auth), 403, "host")
    assert_problem(client.post(f"/v1/spaces/{space}/blocks", json={"user_id": host.id},
                               headers=host.auth), 422, "yourself")
    for method, path in [("POST", "removals"), ("POST", "blocks"), ("POST", "invitations"),
                         ("PATCH", "")]:
        url = f"/v1/spaces/{space}/{path}".rstrip("/")
        assert_problem(client.request(method, url, json={"user_id": "nobody", "recording": "?"},
                                      headers=fan.auth), 403, "host")
        assert_problem(client.request(method, url, json={"user_id": "nobody", "recording": "?"},
                                      headers=host.auth), 422)


def test_idempotency_is_scoped_to_the_principal_and_never_replays_a_token(client):
    signup = {"Idempotency-Key": "join"}
    first = client.post("/v1/accounts", json={"handle": "ada"}, headers=signup)
    again = client.post("/v1/accounts", json={"handle": "ada"}, headers=signup)
    assert first.status_code == again.status_code == 201 and "token" in first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == {k: v for k, v in first.json().items() if k != "token"}
    ada = first.json()
    fresh = client.app.state.system.tokens.issue(ada["id"])  # the same person
    assert fresh != ada["token"]
    headers = {"Idempotency-Key": "k"}
    made = client.post("/v1/spaces", json={"title": "Once"},
                       headers={**headers, "Authorization": f"Bearer {ada['token']}"})
    repeated = client.post("/v1/spaces", json={"title": "Once"},
                           headers={**headers, "Authorization": f"Bearer {fresh}"})
    assert repeated.headers["idempotent-replayed"] == "true"
    assert repeated.json()["id"] == made.json()["id"]


def test_odd_tokens_and_times_are_401_or_422_never_500(client):
    forged = client.app.state.system.tokens.legacy.mint  # the format before JWTs

    for token in ["ünïcode.tökén", forged({"sub": "not-a-uuid", "role": "user", "exp": 2**40}),
                  forged({"sub": str(uuid.uuid4()), "role": "user", "exp": 1e400})]:
        response = client.post("/v1/spaces", json={"title": "x"},
                               headers={"Authorization": f"Bearer {token}".encode()})
        assert_problem(response, 401)
    auditor = auditor_headers(client)
    for since in ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59"]:
        assert client.get("/v1/audit/moderation", params={"since": since},
                          headers=auditor).status_code == 200


def test_a_signed_token_for_an_account_that_does_not_exist_cannot_act(client):
    host = register(client, "host")
    space = live_space(client, host)
    ghost = {"Authorization": "Bearer " + client.app.state.system.tokens.issue(str(uuid.uuid4()))}
    for method, path, body in [
        ("POST", f"/v1/spaces/{space}/reactions", {"emoji": "🔥"}),
        ("POST", f"/v1/spaces/{space}/speak-requests", None),
        ("POST", f"/v1/spaces/{space}/reports", {"user_id": host.id, "reason": "x"}),
        ("POST", "/v1/spaces", {"title": "Ghost town"}),
    ]:
        assert_problem(client.request(method, path, json=body, headers=ghost), 401, "no account")
    ghost_id = client.app.state.system.tokens.verify(ghost["Authorization"][7:]).subject
    assert_problem(client.put(f"/v1/accounts/{ghost_id}/following/{host.id}", headers=ghost), 401)


def test_metrics_are_for_operators_only(make_client):
    closed = make_client()  # the test client is no loopback address
    assert_problem(closed.get("/metrics"), 403, "SPACES_METRICS_TOKEN")
    guarded = make_client(metrics_token="ops-secret")
    assert_problem(guarded.get("/metrics"), 401)
    assert_problem(guarded.get("/metrics", headers={"Authorization": "Bearer guess"}), 401)
    assert guarded.get("/metrics", headers=OPERATOR).status_code == 200
    local = TestClient(create_app(Settings(event_store="memory")), client=("127.0.0.1", 5000))
    with local:
        assert local.get("/metrics").status_code == 200


def test_handles_that_read_alike_are_one_handle(client):
    register(client, "bill")
    for lookalike in ("bilI", "biII", "b1ll", "BILL", "bi1l"):
        assert_problem(client.post("/v1/accounts", json={"handle": lookalike}), 409, "@bill")
    register(client, "modern")
    assert_problem(client.post("/v1/accounts", json={"handle": "modem"}), 409, "read alike")
    assert_problem(client.post("/v1/accounts", json={"handle": "rnodern"}), 409, "@modern")
    register(client, "bull")  # different enough


def test_removal_and_block_hold_even_while_the_views_lag(client):
    host, troll, rude = (register(client, h) for h in ("host", "troll", "rude"))
    space = client.post("/v1/spaces", json={"title": "Show"}, headers=host.auth).json()["id"]
    launched = client.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()
    assert client.get(f"/v1/spaces/{space}", params={"after": launched["position"]}).status_code == 200
    client.app.state.system.projections.stop()  # the views stop here
    client.post(f"/v1/spaces/{space}/removals", json={"user_id": troll.id}, headers=host.auth)
    client.put(f"/v1/accounts/{host.id}/blocked/{rude.id}", headers=host.auth)
    for person, why in ((troll, "removed"), (rude, "blocked")):
        assert_problem(client.get(f"/v1/spaces/{space}", headers=person.auth), 403, why)
        assert_problem(client.get(f"/s/{space}", headers=person.auth), 403, why)
        assert_problem(client.get(f"/v1/spaces/{space}/stream", headers=person.auth), 403, why)
    client.post(f"/v1/spaces/{space}/end", headers=host.auth)
    assert_problem(client.get(f"/v1/spaces/{space}"), 410)


def test_bodies_are_bounded_and_unknown_fields_refused(client):
    host = register(client, "host")
    assert_problem(client.post("/v1/spaces", json={"title": "x", "colour": "red"},
                               headers=host.auth), 422, "colour")
    big = {"title": "x", "padding": "x" * 100_000}
    assert_problem(client.post("/v1/spaces", json=big, headers=host.auth), 413, "65536 bytes")

    def chunks():
        for _ in range(100):
            yield b"x" * 1000

    streamed = client.post("/v1/spaces", content=chunks(),
                           headers={**host.auth, "Content-Type": "application/json"})
    assert_problem(streamed, 413)


def test_audio_offers_are_rate_limited_per_caller_and_address(make_client):
    client = make_client(audio_offer_burst=3)
    host = register(client, "host")
    space = live_space(client, host)
    sdp = {"Content-Type": "application/sdp"}
    statuses = [client.post(f"/v1/spaces/{space}/audio/listen", content="v=0 nothing", headers=sdp)
                .status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert list(client.app.state.system.media.rooms) == []  # refused offers leave no room


def test_a_removal_says_what_anonymous_listening_leaves_open(make_client):
    for anonymous, note in ((True, "can still listen"), (False, None)):
        client = make_client(anonymous_listening=anonymous)
        host, troll = register(client, "host"), register(client, "troll")
        space = live_space(client, host)
        removed = client.post(f"/v1/spaces/{space}/removals", json={"user_id": troll.id},
                              headers=host.auth).json()
        assert (note in removed["note"]) if note else removed["note"] is None


def test_sign_ups_are_rate_limited_per_address(make_client):
    client = make_client(signup_burst=3)
    for handle in ("ann", "bob", "cat"):
        register(client, handle)
    refused = client.post("/v1/accounts", json={"handle": "dan"})
    assert_problem(refused, 429, "sign-ups")
    assert int(refused.headers["retry-after"]) >= 1


def test_a_method_not_allowed_lists_every_method_of_the_path(client):
    response = client.request("OPTIONS", "/v1/spaces")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"
    assert_problem(client.post("/v1/audit/moderation", params={"since": "0.5"}), 405)
    assert_problem(client.get("/v1/audit/moderation", params={"since": "0.5"},
                              headers=auditor_headers(client)), 422, "ISO 8601")


def test_past_a_spaces_reaction_rate_reactions_only_count_on_the_stream(make_client):
    client = make_client(space_reactions_per_second=1)  # two at once, then one a second
    host = register(client, "host")
    space = live_space(client, host)
    fans = [register(client, f"fan{i}") for i in range(4)]  # many people: per-user limits hold
    published: list[dict] = []
    client.app.state.system.live.subscribe(lambda s, kind, payload: published.append(payload))
    for fan in fans:
        sent = client.post(f"/v1/spaces/{space}/reactions", json={"emoji": "🔥"}, headers=fan.auth)
        assert sent.status_code == 202
    assert [p["one_by_one"] for p in published] == [True, True, False, False]
    to_kafka = LiveToKafka("127.0.0.1:9", "test.")  # not started: what it would send, queued
    for payload in published:
        to_kafka(space, "reaction", payload)
    assert to_kafka._queue.qsize() == 2


def test_an_ended_space_is_gone_for_public_reads_and_a_conflict_for_every_command(client):
    host, fan = register(client, "host"), register(client, "fan")
    space = live_space(client, host)
    client.post(f"/v1/spaces/{space}/end", headers=host.auth)
    sdp = {"Content-Type": "application/sdp"}
    for read in (f"/v1/spaces/{space}", f"/v1/spaces/{space}/stream"):
        assert_problem(client.get(read, headers=fan.auth), 410, "ended")
    for path, who, body, kind in ((f"/v1/spaces/{space}/audio/listen", fan, "v=0", sdp),
                                  (f"/v1/spaces/{space}/audio/publish", host, "v=0", sdp),
                                  (f"/v1/spaces/{space}/reactions", fan, '{"emoji": "👏"}', {}),
                                  (f"/v1/spaces/{space}/launch", host, None, {})):
        headers = {**who.auth, "Content-Type": "application/json", **kind}
        assert_problem(client.post(path, content=body, headers=headers), 409, "ended")


def test_a_missing_token_is_401_before_anything_is_looked_up(client):
    unknown = "00000000-0000-0000-0000-000000000000"
    for path in (f"/v1/spaces/{unknown}/recording", f"/v1/spaces/{unknown}/transcript"):
        assert_problem(client.get(path), 401)


def test_the_public_page_of_an_unknown_space_is_a_page_that_says_so(client):
    page = client.get("/s/0fa39b2e-28e0-5080-98a6-1e442971a339")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
