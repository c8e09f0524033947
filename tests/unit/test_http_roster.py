"""The roster of listeners through HTTP, in process: the host and co-hosts page through
everyone with an account, newest first; others see the count and a few handles; nobody
once the Space has ended. Presence comes as the media node reports it (the wiring of
api/bootstrap.py), on each node it is heard. Run here on SQLite, and by tests/integration on
PostgreSQL."""

from __future__ import annotations

from typing import Any

from projections.presence import PresenceWriter, forget_node
from tests.support import assert_problem, register


def live_space(client, host) -> tuple[str, int]:
    space = client.post("/v1/spaces", json={"title": "Roster"}, headers=host.auth).json()["id"]
    launched = client.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()
    return space, launched["position"]


def hear(system, space: str, listeners: int, change: str, user_id: str | None, session: str) -> None:
    """What a media node reports when a listener joins or leaves (media/room.py)."""
    system.node.on_presence(space, listeners, change, user_id, session)


def roster(client, space: str, person=None, **params: Any) -> dict[str, Any]:
    response = client.get(f"/v1/spaces/{space}/listeners", params=params,
                          headers=person.auth if person else {})
    assert response.status_code == 200, response.text
    return response.json()


def every_page(client, space: str, person, limit: int) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        page = roster(client, space, person, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= limit
        items += page["items"]
        if (cursor := page["next_cursor"]) is None:
            return items


def test_the_host_and_cohosts_page_through_everyone_and_others_see_the_count_and_a_few(client):
    check_roster_paging_and_visibility(client)


def check_roster_paging_and_visibility(client) -> None:
    system = client.app.state.system
    host, cohost, *people = (register(client, h) for h in ("host", "co", "ann", "bob", "cat", "dan", "eve"))
    space, _ = live_space(client, host)
    client.put(f"/v1/spaces/{space}/cohosts/{cohost.id}", headers=host.auth)
    for n, person in enumerate(people, start=1):
        hear(system, space, n, "joined", person.id, f"session-{n}")
    hear(system, space, 6, "joined", None, "session-anonymous")  # counted, never named
    position = system.app.position()

    newest_first = [p.handle for p in reversed(people)]
    for moderator in (host, cohost):
        first = roster(client, space, moderator, limit=2, after=position)
        assert first["listener_count"] == 6
        assert [i["handle"] for i in first["items"]] == newest_first[:2]
        assert first["handles"] == newest_first[:3] and first["next_cursor"]
        items = every_page(client, space, moderator, limit=2)
        assert [i["handle"] for i in items] == newest_first
        assert [i["id"] for i in items] == [p.id for p in reversed(people)]
        joined = [i["joined_at"] for i in items]
        assert joined == sorted(joined, reverse=True)
    for other in (people[0], None):  # a listener, and someone without an account
        seen = roster(client, space, other, after=position)
        assert seen == {"listener_count": 6, "handles": newest_first[:3], "items": None,
                        "next_cursor": None}


def test_someone_listening_twice_is_listed_once_until_both_sessions_leave(client):
    system = client.app.state.system
    host, ann = register(client, "host"), register(client, "ann")
    space, position = live_space(client, host)
    hear(system, space, 1, "joined", ann.id, "phone")
    hear(system, space, 2, "joined", ann.id, "laptop")
    page = roster(client, space, host, after=position)
    assert page["listener_count"] == 2 and [i["handle"] for i in page["items"]] == ["ann"]
    hear(system, space, 1, "left", ann.id, "phone")
    assert [i["handle"] for i in roster(client, space, host)["items"]] == ["ann"]
    hear(system, space, 0, "left", ann.id, "laptop")
    assert roster(client, space, host) == {"listener_count": 0, "handles": [], "items": [],
                                           "next_cursor": None}


def test_the_roster_is_gone_when_the_space_ends_and_a_rebuild_leaves_it_alone(client):
    system = client.app.state.system
    host, ann, bob = (register(client, h) for h in ("host", "ann", "bob"))
    space, position = live_space(client, host)
    hear(system, space, 1, "joined", ann.id, "one")
    hear(system, space, 2, "joined", bob.id, "two")
    system.projections.rebuild()  # the roster is an input of the views, not one of them
    assert [i["handle"] for i in roster(client, space, host, after=position)["items"]] == ["bob", "ann"]

    ended = client.post(f"/v1/spaces/{space}/end", headers=host.auth).json()["position"]
    assert roster(client, space, host) == {"listener_count": 0, "handles": [], "items": [],
                                           "next_cursor": None}  # at once, from the event store
    assert_problem(client.get(f"/v1/spaces/{space}/listeners", headers=ann.auth), 410)
    assert roster(client, space, host, after=ended)["items"] == []
    assert system.views.rows("SELECT * FROM listeners_roster WHERE space_id = ?", (space,)) == []
    assert system.views.rows("SELECT * FROM listeners_present WHERE space_id = ?", (space,)) == []


def test_listeners_on_every_node_are_listed_and_a_node_that_restarts_or_is_gone_forgets_its_own(client):
    system = client.app.state.system
    host, ann, bob = (register(client, h) for h in ("host", "ann", "bob"))
    space, position = live_space(client, host)
    a, b = PresenceWriter(system.views, "a"), PresenceWriter(system.views, "b")
    assert a.record(space, 1, "joined", "a-1", ann.id) == 1
    assert b.record(space, 1, "joined", "b-1", bob.id) == 2
    assert b.record(space, 2, "joined", "b-2", None) == 3
    page = roster(client, space, host, after=position)
    assert page["listener_count"] == 3 and {i["handle"] for i in page["items"]} == {"ann", "bob"}
    PresenceWriter(system.views, "a").start_afresh()  # node a started again: nobody on it yet
    page = roster(client, space, host)
    assert page["listener_count"] == 2 and [i["handle"] for i in page["items"]] == ["bob"]
    forget_node(system.views, space, "b")  # node b died or left the fleet
    assert roster(client, space, host) == {"listener_count": 0, "handles": [], "items": [],
                                           "next_cursor": None}


def test_who_may_not_read_the_space_may_not_read_its_listeners_and_a_bad_cursor_is_422(make_client):
    client = make_client()
    host, troll = register(client, "host"), register(client, "troll")
    space, _ = live_space(client, host)
    client.post(f"/v1/spaces/{space}/removals", json={"user_id": troll.id}, headers=host.auth)
    assert_problem(client.get(f"/v1/spaces/{space}/listeners", headers=troll.auth), 403)
    assert_problem(client.get("/v1/spaces/nope/listeners"), 404)
    for cursor in ("not a cursor", "bm90IGEgY3Vyc29y", "A" * 201):
        assert_problem(client.get(f"/v1/spaces/{space}/listeners", params={"cursor": cursor},
                                  headers=host.auth), 422)
    signed_in_only = make_client(anonymous_listening=False)
    other_host = register(signed_in_only, "host")
    other, _ = live_space(signed_in_only, other_host)
    assert_problem(signed_in_only.get(f"/v1/spaces/{other}/listeners"), 401)


def test_the_openapi_document_describes_the_roster(client):
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/v1/spaces/{space_id}/listeners"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"space_id", "limit", "cursor", "after"}
    assert {"200", "401", "403", "404", "410", "422"} <= set(operation["responses"])
    roster_schema = document["components"]["schemas"]["Roster"]["properties"]
    assert {"listener_count", "handles", "items", "next_cursor"} <= set(roster_schema)
