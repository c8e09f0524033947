"""Notifications through HTTP: the list, unread counts and read marks, the go-live switch,
and the live stream resuming with Last-Event-ID."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from tests.support import assert_problem, register
from tests.unit.test_http_api import auditor_headers


def launch(client, host, title="Show", scheduled=False) -> tuple[str, int]:
    body = {"title": title}
    if scheduled:
        body["scheduled_for"] = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    space = client.post("/v1/spaces", json=body, headers=host.auth).json()["id"]
    return space, client.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()["position"]


def notifications(client, person, **params) -> dict:
    response = client.get("/v1/notifications", params=params, headers=person.auth)
    assert response.status_code == 200, response.text
    return response.json()


def test_followers_and_reminder_setters_hear_of_a_launch_once_and_the_host_does_not(client):
    host, ann, bob, cat = (register(client, h) for h in ("host", "ann", "bob", "cat"))
    for fan in (ann, bob):
        client.put(f"/v1/accounts/{fan.id}/following/{host.id}", headers=fan.auth)
    space = client.post("/v1/spaces", json={"title": "Soon", "scheduled_for": (
        datetime.now(timezone.utc) + timedelta(days=1)).isoformat()}, headers=host.auth).json()["id"]
    for person in (bob, cat):
        client.put(f"/v1/spaces/{space}/reminders/me", headers=person.auth)
    launched = client.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()["position"]
    for person in (ann, bob, cat):
        page = notifications(client, person, after=launched)  # waits for the fan-out too
        assert [(n["id"], n["kind"], n["read"]) for n in page["items"]] == [(launched, "go_live", False)]
        assert page["unread_count"] == 1
        assert page["items"][0]["text"] == "@host is live: “Soon”."
        assert page["items"][0]["actor"]["handle"] == "host"
    assert notifications(client, host)["items"] == []
    ended = client.post(f"/v1/spaces/{space}/end", headers=host.auth).json()["position"]
    (item,) = notifications(client, ann, after=ended)["items"]
    assert item["space"]["state"] == "ended" and "has ended" in item["text"]


def test_pages_unread_counts_and_marking_read(client):
    host, fan = register(client, "host"), register(client, "fan")
    client.put(f"/v1/accounts/{fan.id}/following/{host.id}", headers=fan.auth)
    positions = [launch(client, host, f"Show {i}")[1] for i in range(5)]
    first = notifications(client, fan, limit=2, after=positions[-1])
    assert [n["id"] for n in first["items"]] == positions[::-1][:2]
    second = notifications(client, fan, limit=2, cursor=first["next_cursor"])
    third = notifications(client, fan, limit=2, cursor=second["next_cursor"])
    assert [n["id"] for p in (first, second, third) for n in p["items"]] == positions[::-1]
    assert third["next_cursor"] is None and first["unread_count"] == 5
    marked = client.post("/v1/notifications/read", json={"up_to": positions[1], "ids": [positions[3]]},
                         headers=fan.auth).json()
    page = notifications(client, fan, after=marked["position"])
    assert [n["read"] for n in page["items"]] == [False, True, False, True, True]
    assert page["unread_count"] == 2
    assert_problem(client.post("/v1/notifications/read", json={}, headers=fan.auth), 422, "up_to")
    assert_problem(client.post("/v1/notifications/read", json={"ids": list(range(1, 102))},
                               headers=fan.auth), 422)
    assert_problem(client.post("/v1/notifications/read", json={"up_to": -1}, headers=fan.auth), 422)
    assert_problem(client.get("/v1/notifications"), 401)
    assert_problem(client.get("/v1/notifications", headers=auditor_headers(client)), 403)


def test_a_follower_switches_go_live_notifications_off_and_on_per_host(client):
    host, other, fan, stranger = (register(client, h) for h in ("host", "other", "fan", "stranger"))
    for followee in (host, other):
        client.put(f"/v1/accounts/{fan.id}/following/{followee.id}", headers=fan.auth)
    switch = f"/v1/accounts/{fan.id}/following/{host.id}/notifications"
    assert client.delete(switch, headers=fan.auth).status_code == 200
    assert_problem(client.delete(switch, headers=stranger.auth), 403, "your own")
    assert_problem(client.put(f"/v1/accounts/{stranger.id}/following/{host.id}/notifications",
                              headers=stranger.auth), 409, "follow it first")
    launch(client, host, "Muted")
    _, position = launch(client, other, "Heard")
    assert [n["space"]["title"] for n in notifications(client, fan, after=position)["items"]] == ["Heard"]
    assert client.put(switch, headers=fan.auth).status_code == 200
    _, position = launch(client, host, "Heard again")
    assert [n["space"]["title"] for n in notifications(client, fan, after=position)["items"]] == [
        "Heard again", "Heard"]


def test_blocked_people_get_nothing_from_the_host_who_blocked_them(client):
    host, fan, pest = (register(client, h) for h in ("host", "fan", "pest"))
    for person in (fan, pest):
        client.put(f"/v1/accounts/{person.id}/following/{host.id}", headers=person.auth)
    _, before = launch(client, host, "Before")
    assert len(notifications(client, pest, after=before)["items"]) == 1
    client.put(f"/v1/accounts/{host.id}/blocked/{pest.id}", headers=host.auth)
    _, after = launch(client, host, "After")
    assert notifications(client, pest, after=after) == {"items": [], "next_cursor": None, "unread_count": 0}
    assert len(notifications(client, fan)["items"]) == 2


def test_invitations_to_speak_are_notifications_too(client):
    host, guest = register(client, "host"), register(client, "guest")
    space, _ = launch(client, host)
    invited = client.post(f"/v1/spaces/{space}/invitations", json={"user_id": guest.id},
                          headers=host.auth).json()["position"]
    (item,) = notifications(client, guest, after=invited)["items"]
    assert (item["id"], item["kind"], item["text"]) == (invited, "invitation",
                                                       "@host invited you to speak in “Show”.")


def read_events(lines, count: int) -> list[dict]:
    """The next `count` messages of a stream, parsed."""
    found, message = [], {}
    for line in lines:
        if not line:
            if "event" in message:
                found.append(message)
                if len(found) == count:
                    return found
            message = {}
        elif line.startswith("id: "):
            message["id"] = int(line[4:])
        elif line.startswith("event: "):
            message["event"] = line[7:]
        elif line.startswith("data: "):
            message["data"] = json.loads(line[6:])
    return found


def test_the_stream_sends_notifications_as_they_arrive_and_resumes_without_gaps(client):
    hosts = [register(client, f"host{i}") for i in range(6)]
    fan = register(client, "fan")
    for host in hosts:
        client.put(f"/v1/accounts/{fan.id}/following/{host.id}", headers=fan.auth)
    with client.stream("GET", "/v1/notifications/stream", headers=fan.auth) as stream:
        lines = stream.iter_lines()
        assert read_events(lines, 1) == [{"event": "unread", "data": {"count": 0}}]
        for host in hosts[:2]:
            launch(client, host, f"By {host.handle}")
        got: list[dict] = []
        while len(got) < 2:
            got += [m for m in read_events(lines, 1) if m["event"] == "notification"]
    assert [m["data"]["space"]["title"] for m in got] == ["By host0", "By host1"]
    last_seen = got[-1]["id"]
    for host in hosts[2:]:  # while the fan is away
        launch(client, host, f"By {host.handle}")
    notifications(client, fan, after=client.app.state.system.app.position())
    resumed = {**fan.auth, "Last-Event-ID": str(last_seen)}
    with client.stream("GET", "/v1/notifications/stream", headers=resumed) as stream:
        lines = stream.iter_lines()
        messages = read_events(lines, 6)  # unread, the four missed (in one read), unread
    missed = [m for m in messages if m["event"] == "notification"]
    assert [m["data"]["space"]["title"] for m in missed] == [f"By host{i}" for i in range(2, 6)]
    assert [m["id"] for m in missed] == list(range(last_seen + 1, last_seen + 5))
    assert [m["event"] for m in messages] == ["unread"] + ["notification"] * 4 + ["unread"]
    assert messages[-1]["data"] == {"count": 6}
    assert_problem(client.get("/v1/notifications/stream"), 401)


def test_the_openapi_document_describes_notifications(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/notifications", "/v1/notifications/read", "/v1/notifications/stream"} <= set(paths)
    assert {"put", "delete"} <= set(paths["/v1/accounts/{account_id}/following/{target}/notifications"])


def test_marking_read_refuses_what_is_not_a_number(client):
    fan = register(client, "reader")
    for body in ({"up_to": False}, {"up_to": "3"}, {"ids": [True]}, {"up_to": 1.5}):
        response = client.post("/v1/notifications/read", json=body, headers=fan.auth)
        assert response.status_code == 422, (body, response.text)
