"""Search (`GET /v1/spaces?q=`) and a host's Spaces (`?host_id=`) through HTTP, in process:
live and upcoming Spaces only, ranked, paged. Run here on SQLite (FTS5), and by
tests/integration on PostgreSQL (full-text search)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tests.support import assert_problem, register


def create(client, host, title: str, scheduled: bool = False) -> str:
    body: dict[str, Any] = {"title": title}
    if scheduled:
        body["scheduled_for"] = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    response = client.post("/v1/spaces", json=body, headers=host.auth)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def launch(client, host, space: str) -> int:
    return client.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()["position"]


def titles(client, **params: Any) -> list[str]:
    response = client.get("/v1/spaces", params=params)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


def every_page(client, limit: int, **params: Any) -> list[str]:
    found, cursor = [], None
    while True:
        page = client.get("/v1/spaces", params={**params, "limit": limit,
                                                **({"cursor": cursor} if cursor is not None else {})}).json()
        found += [item["title"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            return found


def test_search_ranks_live_and_upcoming_spaces_and_never_returns_ended_ones(client):
    check_search(client)


def check_search(client) -> None:
    ann, bob, cat = (register(client, h) for h in ("ann", "bob", "cooking_club"))
    for title in ("Jazz night: jazz standards and jazz history", "Late talk, some jazz"):
        launch(client, ann, create(client, ann, title))
    create(client, bob, "Jazz brunch on Sunday", scheduled=True)  # upcoming
    create(client, bob, "Jazz draft")  # neither live nor scheduled: not found
    farewell = create(client, bob, "Jazz farewell")
    launch(client, bob, farewell)
    ended = client.post(f"/v1/spaces/{farewell}/end", headers=bob.auth).json()["position"]
    position = launch(client, cat, create(client, cat, "Sourdough and jam"))
    assert position > ended

    found = titles(client, q="jazz", after=position)
    assert found[0] == "Jazz night: jazz standards and jazz history"  # the word three times
    assert sorted(found) == ["Jazz brunch on Sunday", "Jazz night: jazz standards and jazz history",
                             "Late talk, some jazz"]
    assert every_page(client, 1, q="jazz") == found  # stable pages
    assert titles(client, q="JAZZ night") == ["Jazz night: jazz standards and jazz history"]
    assert titles(client, q="cook") == ["Sourdough and jam"]  # the host's handle, stemmed
    assert titles(client, q="jazz -brunch -night") == ["Late talk, some jazz"]
    assert sorted(titles(client, q="sourdough or brunch")) == ["Jazz brunch on Sunday",
                                                               "Sourdough and jam"]
    assert titles(client, q='"jazz history"') == ["Jazz night: jazz standards and jazz history"]
    assert titles(client, q='"history jazz"') == []
    assert titles(client, q="farewell") == [] and titles(client, q="draft") == []
    assert titles(client, q="jazz", host_id=bob.id) == ["Jazz brunch on Sunday"]
    assert titles(client, q="+++") == []

    ended = client.post(f"/v1/spaces/{client.get('/v1/spaces', params={'q': 'late'}).json()['items'][0]['id']}"
                        "/end", headers=ann.auth).json()["position"]
    assert "Late talk, some jazz" not in titles(client, q="jazz", after=ended)


def test_a_handed_over_space_is_found_by_its_new_hosts_handle(client):
    host, guest = register(client, "host"), register(client, "zelda")
    space = create(client, host, "Weekly show")
    launch(client, host, space)
    client.put(f"/v1/spaces/{space}/cohosts/{guest.id}", headers=host.auth)
    handed = client.post(f"/v1/spaces/{space}/host", json={"user_id": guest.id}, headers=host.auth)
    assert titles(client, q="zelda", after=handed.json()["position"]) == ["Weekly show"]
    assert titles(client, host_id=guest.id) == ["Weekly show"] and titles(client, host_id=host.id) == []


def test_a_hosts_spaces_live_first_then_upcoming_and_the_listing_without_either_is_unchanged(client):
    ann, bob = register(client, "ann"), register(client, "bob")
    soon = create(client, ann, "Soon", scheduled=True)
    client.patch(f"/v1/spaces/{soon}", json={"scheduled_for": (
        datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()}, headers=ann.auth)
    create(client, ann, "Later", scheduled=True)
    for title in ("First", "Second"):
        launch(client, ann, create(client, ann, title))
    old = create(client, ann, "Over")
    launch(client, ann, old)
    client.post(f"/v1/spaces/{old}/end", headers=ann.auth)
    position = launch(client, bob, create(client, bob, "Bob's"))
    assert titles(client, host_id=ann.id, after=position) == ["Second", "First", "Soon", "Later"]
    assert every_page(client, 3, host_id=ann.id) == ["Second", "First", "Soon", "Later"]
    assert titles(client, host_id=ann.id.upper()) == ["Second", "First", "Soon", "Later"]
    assert titles(client) == ["Bob's", "Second", "First"]  # live only, newest first
    assert titles(client, host_id="00000000-0000-0000-0000-000000000000") == []


def test_bad_search_input_is_422(client):
    for params, field in (({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "x" * 201}, "q"),
                          ({"q": "a\x00b"}, "q"), ({"host_id": "nope"}, "host_id"),
                          ({"q": "jazz", "cursor": -1}, "cursor")):
        body = assert_problem(client.get("/v1/spaces", params=params), 422, field)
        assert body["errors"][0]["where"] == f"query.{field}"
    assert client.get("/v1/spaces", params={"q": "x" * 200}).status_code == 200


def test_the_openapi_document_describes_search_and_the_host_filter(client):
    operation = client.get("/openapi.json").json()["paths"]["/v1/spaces"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert parameters["q"]["maxLength"] == 200 and parameters["q"]["pattern"]
    assert parameters["host_id"]["format"] == "uuid"
    assert "422" in operation["responses"]
