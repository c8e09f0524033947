"""Co-hosts and the handover through HTTP: what a co-host may do (2xx) and may not (403),
the limit, the stage, the handover, and the audit trail naming the co-host who acted."""

from __future__ import annotations

import json

from tests.support import assert_problem, register
from tests.unit.test_http_api import auditor_headers, live_space


def name_cohost(client, space, host, person) -> dict:
    response = client.put(f"/v1/spaces/{space}/cohosts/{person.id}", headers=host.auth)
    assert response.status_code == 200, response.text
    return response.json()


def detail(client, space, position, who=None) -> dict:
    response = client.get(f"/v1/spaces/{space}", params={"after": position},
                          headers=who.auth if who else {})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_cohost_may_take_every_act_of_a_moderator(client):
    host, ada, guest, asker, fan, troll = (
        register(client, h) for h in ("host", "ada", "guest", "asker", "fan", "troll"))
    space = live_space(client, host)
    base = f"/v1/spaces/{space}"
    name_cohost(client, space, host, ada)
    client.post(f"{base}/speak-requests", headers=asker.auth)
    for who, method, path, body, status in [
        (ada, "POST", "invitations", {"user_id": fan.id}, 201),
        (ada, "PUT", f"speakers/{asker.id}", None, 200),  # answers the request to speak
        (ada, "PUT", f"speakers/{guest.id}", None, 200),
        (guest, "POST", f"speakers/{guest.id}/unmute", None, 200),
        (ada, "POST", f"speakers/{guest.id}/mute", None, 200),
        (ada, "DELETE", f"speakers/{guest.id}", None, 200),
        (ada, "POST", "removals", {"user_id": troll.id, "reason": "spam"}, 201),
        (ada, "POST", "reports", {"user_id": fan.id, "reason": "rude"}, 201),
        (ada, "PUT", "pin", {"url": "https://example.com/notes", "title": "Notes"}, 200),
        (ada, "DELETE", "pin", None, 200),
    ]:
        response = client.request(method, f"{base}/{path}", json=body, headers=who.auth)
        assert response.status_code == status, (method, path, response.text)
    history = client.get(f"/v1/audit/spaces/{space}/history", headers=auditor_headers(client)).json()
    assert [e["event"] for e in history[-10:]] == [
        "SpeakerInvited", "SpeakerGranted", "SpeakerGranted", "SpeakerUnmuted", "SpeakerMuted",
        "SpeakerRevoked", "UserRemoved", "UserReported", "LinkPinned", "LinkUnpinned"]
    view = detail(client, space, response.json()["position"], ada)
    assert [s["handle"] for s in view["speakers"]] == ["host", "ada", "asker"]
    assert view["cohosts"] == [{"id": ada.id, "handle": "ada"}]
    assert view["open_invitations"] == [fan.id]  # a co-host sees what the host sees


def test_a_cohost_may_not_end_name_cohosts_hand_over_block_or_act_on_hosts(client):
    host, ada, bob, carl, fan = (register(client, h) for h in ("host", "ada", "bob", "carl", "fan"))
    space = live_space(client, host)
    base = f"/v1/spaces/{space}"
    name_cohost(client, space, host, ada)
    name_cohost(client, space, host, bob)
    for method, path, body, complaint in [
        ("POST", "end", None, "only the host"),
        ("PATCH", "", {"recording": True}, "only the host"),
        ("PUT", f"cohosts/{carl.id}", None, "only the host"),
        ("DELETE", f"cohosts/{bob.id}", None, "only the host"),
        ("POST", "host", {"user_id": ada.id}, "only the host"),
        ("POST", "blocks", {"user_id": fan.id}, "only the host"),
        ("POST", f"speakers/{host.id}/mute", None, "co-host cannot act"),
        ("DELETE", f"speakers/{host.id}", None, "co-host cannot act"),
        ("POST", "removals", {"user_id": host.id}, "co-host cannot act"),
        ("POST", f"speakers/{bob.id}/mute", None, "co-host cannot act"),
        ("DELETE", f"speakers/{bob.id}", None, "co-host cannot act"),
        ("POST", "removals", {"user_id": bob.id}, "co-host cannot act"),
    ]:
        response = client.request(method, f"{base}/{path}".rstrip("/"), json=body, headers=ada.auth)
        assert_problem(response, 403, complaint)
    for method, path, body in [("POST", "invitations", {"user_id": carl.id}),
                               ("PUT", f"speakers/{carl.id}", None),
                               ("PUT", "pin", {"url": "https://example.com", "title": "x"}),
                               ("POST", "removals", {"user_id": carl.id})]:
        response = client.request(method, f"{base}/{path}", json=body, headers=fan.auth)
        assert_problem(response, 403, "host or a co-host")


def test_at_most_two_cohosts_and_each_takes_a_seat(make_client):
    client = make_client(stage_limit=4)
    host, ada, bob, carl = (register(client, h) for h in ("host", "ada", "bob", "carl"))
    space = live_space(client, host)
    name_cohost(client, space, host, ada)
    name_cohost(client, space, host, bob)
    assert_problem(client.put(f"/v1/spaces/{space}/cohosts/{carl.id}", headers=host.auth),
                   409, "at most 2 co-hosts")
    client.put(f"/v1/spaces/{space}/speakers/{carl.id}", headers=host.auth)  # the last seat
    done = client.delete(f"/v1/spaces/{space}/cohosts/{bob.id}", headers=bob.auth).json()
    assert [s["handle"] for s in detail(client, space, done["position"])["speakers"]] == [
        "host", "ada", "bob", "carl"]  # stepping down keeps the seat
    dan = register(client, "dan")
    assert_problem(client.put(f"/v1/spaces/{space}/cohosts/{dan.id}", headers=host.auth),
                   409, "stage is full")
    name_cohost(client, space, host, carl)  # on the stage already
    narrow = make_client(cohost_limit=1)
    host, ada, bob = (register(narrow, h) for h in ("host", "ada", "bob"))
    space = live_space(narrow, host)
    name_cohost(narrow, space, host, ada)
    assert_problem(narrow.put(f"/v1/spaces/{space}/cohosts/{bob.id}", headers=host.auth),
                   409, "at most 1 co-host.")


def test_a_cohost_the_host_blocks_from_their_account_acts_no_more(client):
    host, ada, fan = (register(client, h) for h in ("host", "ada", "fan"))
    space = live_space(client, host)
    name_cohost(client, space, host, ada)
    client.put(f"/v1/accounts/{host.id}/blocked/{ada.id}", headers=host.auth)
    for method, path, body in [("POST", "invitations", {"user_id": fan.id}),
                               ("POST", "removals", {"user_id": fan.id}),
                               ("PUT", "pin", {"url": "https://example.com", "title": "x"})]:
        response = client.request(method, f"/v1/spaces/{space}/{path}", json=body, headers=ada.auth)
        assert_problem(response, 403, "blocked you")
    assert_problem(client.get(f"/v1/spaces/{space}", headers=ada.auth), 403, "blocked")


def test_a_cohost_who_leaves_the_stage_is_a_cohost_no_more(client):
    host, ada = register(client, "host"), register(client, "ada")
    space = live_space(client, host)
    name_cohost(client, space, host, ada)
    left = client.delete(f"/v1/spaces/{space}/speakers/{ada.id}", headers=ada.auth).json()
    assert detail(client, space, left["position"])["cohosts"] == []
    assert_problem(client.post(f"/v1/spaces/{space}/invitations", json={"user_id": host.id},
                               headers=ada.auth), 403)


def test_the_host_hands_the_space_to_a_cohost_and_the_views_and_feed_follow(client):
    host, ada, fan, pest = (register(client, h) for h in ("host", "ada", "fan", "pest"))
    client.put(f"/v1/accounts/{fan.id}/following/{ada.id}", headers=fan.auth)
    space = live_space(client, host)
    client.post(f"/v1/spaces/{space}/blocks", json={"user_id": pest.id}, headers=host.auth)
    assert_problem(client.post(f"/v1/spaces/{space}/host", json={"user_id": ada.id},
                               headers=host.auth), 409, "co-host first")
    name_cohost(client, space, host, ada)
    handed = client.post(f"/v1/spaces/{space}/host", json={"user_id": ada.id}, headers=host.auth)
    assert handed.status_code == 200, handed.text
    view = detail(client, space, handed.json()["position"], ada)
    assert view["host"] == {"id": ada.id, "handle": "ada"}
    assert view["cohosts"] == [{"id": host.id, "handle": "host"}]
    assert view["speak_requests"] == []  # the new host sees the requests
    feed = client.get("/v1/feed", headers=fan.auth).json()["items"]
    assert [s["id"] for s in feed] == [space]
    assert_problem(client.post(f"/v1/spaces/{space}/end", headers=host.auth), 403)
    assert_problem(client.get(f"/v1/spaces/{space}", headers=pest.auth), 403, "blocked")
    assert client.post(f"/v1/spaces/{space}/removals", json={"user_id": fan.id},
                       headers=host.auth).status_code == 201  # the former host moderates on
    assert client.post(f"/v1/spaces/{space}/end", headers=ada.auth).status_code == 200


def test_a_cohost_sees_speak_requests_on_the_stream(client):
    host, ada, asker = (register(client, h) for h in ("host", "ada", "asker"))
    space = live_space(client, host)
    name_cohost(client, space, host, ada)
    client.put(f"/v1/spaces/{space}/pin", json={"url": "https://example.com", "title": "Site"},
               headers=ada.auth)
    client.post(f"/v1/spaces/{space}/speak-requests", headers=asker.auth)
    with client.stream("GET", f"/v1/spaces/{space}/stream", headers=ada.auth) as stream:
        lines = stream.iter_lines()
        snapshot = next(json.loads(line[6:]) for line in lines if line.startswith("data: "))
    assert snapshot["speak_requests"] == [asker.id]
    assert (snapshot["host_id"], snapshot["cohosts"]) == (host.id, [ada.id])
    assert snapshot["pin"] == {"url": "https://example.com", "title": "Site"}


def test_the_audit_trail_names_the_cohost_who_acted(client):
    host, ada, bob, troll, guest, pest = (
        register(client, h) for h in ("host", "ada", "bob", "troll", "guest", "pest"))
    space = live_space(client, host)
    base = f"/v1/spaces/{space}"
    name_cohost(client, space, host, ada)
    name_cohost(client, space, host, bob)
    client.post(f"{base}/removals", json={"user_id": troll.id, "reason": "spam"}, headers=ada.auth)
    client.put(f"{base}/speakers/{guest.id}", headers=bob.auth)
    client.put(f"/v1/accounts/{host.id}/blocked/{pest.id}", headers=host.auth)
    client.post(f"{base}/host", json={"user_id": bob.id}, headers=host.auth)
    client.patch(base, json={"recording": True}, headers=bob.auth)
    done = client.post(f"{base}/end", headers=bob.auth).json()
    auditor = auditor_headers(client)
    history = client.get(f"/v1/audit/spaces/{space}/history", headers=auditor).json()
    removed = next(e for e in history if e["event"] == "UserRemoved")
    assert (removed["data"]["removed_by"], removed["data"]["user_id"]) == (ada.id, troll.id)
    granted = [e["data"] for e in history if e["event"] == "SpeakerGranted"]
    assert granted[-1] == {"user_id": guest.id, "granted_by": bob.id}
    handed = next(e for e in history if e["event"] == "HostHandedOver")
    assert handed["data"] == {"from_host": host.id, "to_host": bob.id}
    timeline = client.get(f"/v1/audit/spaces/{space}/timeline", headers=auditor).json()
    acts = [(e["action"], e["actor"], e["target"]) for e in timeline["entries"]]
    assert ("user_removed", ada.id, troll.id) in acts
    assert ("speaker_granted", bob.id, guest.id) in acts
    assert acts[-3:] == [("host_handed_over", host.id, bob.id),
                         ("recording_started", bob.id, None),  # the host's own act: bob's now
                         ("space_ended", bob.id, None)]
    state = timeline["state"]
    assert (state["host"], state["cohosts"], state["blocked"]) == (bob.id, [ada.id, host.id], [pest.id])
    log = client.get("/v1/audit/moderation", params={"space_id": space, "after": done["position"]},
                     headers=auditor).json()["items"]
    assert [(e["action"], e["actor_id"]) for e in log if e["actor_id"] != host.id] == [
        ("user_removed", ada.id), ("speaker_granted", bob.id)]
    assert [e["action"] for e in log if e["actor_id"] == host.id] == [
        "speaker_granted", "cohost_added", "speaker_granted", "cohost_added", "host_handed_over"]
