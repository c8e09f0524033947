"""Moderating people who are not in the Space: someone who left, or never came, can be
removed, blocked or reported, and is refused when they come (back)."""

from __future__ import annotations

import pytest

from tests.support import assert_problem, register
from tests.unit.test_http_api import live_space
from tests.unit.test_media_node import offer

SDP = {"Content-Type": "application/sdp"}


@pytest.fixture(scope="module")
def listener_offer() -> str:
    return offer(listener=True)


def assert_kept_out(client, space, person, why, listener_offer) -> None:
    base = f"/v1/spaces/{space}"
    assert_problem(client.get(base, headers=person.auth), 403, why)
    assert_problem(client.get(f"/s/{space}", headers=person.auth), 403, why)
    assert_problem(client.get(f"{base}/stream", headers=person.auth), 403, why)
    assert_problem(client.get(f"{base}/hls/index.m3u8", headers=person.auth), 403, why)
    assert_problem(client.post(f"{base}/audio/listen", content=listener_offer,
                               headers={**SDP, **person.auth}), 403, why)
    assert_problem(client.post(f"{base}/reactions", json={"emoji": "🔥"}, headers=person.auth), 403, why)
    assert_problem(client.post(f"{base}/speak-requests", headers=person.auth), 403, why)


def test_a_spammer_who_listened_left_and_was_removed_is_refused_on_return(client, listener_offer):
    host, spammer = register(client, "host"), register(client, "spammer")
    space = live_space(client, host)
    listened = client.post(f"/v1/spaces/{space}/audio/listen", content=listener_offer,
                           headers={**SDP, **spammer.auth})
    assert listened.status_code == 201, listened.text
    assert client.delete(listened.headers["location"], headers=spammer.auth).status_code in (200, 204)
    removed = client.post(f"/v1/spaces/{space}/removals", json={"user_id": spammer.id, "reason": "spam"},
                          headers=host.auth)
    assert removed.status_code == 201, removed.text
    assert_kept_out(client, space, spammer, "removed", listener_offer)
    assert_problem(client.post(f"/v1/spaces/{space}/removals", json={"user_id": spammer.id},
                               headers=host.auth), 409, "already")


def test_someone_who_never_came_can_be_removed_blocked_and_reported(client, listener_offer):
    host, ada, troll, pest, fan = (register(client, h) for h in ("host", "ada", "troll", "pest", "fan"))
    space = live_space(client, host)
    client.put(f"/v1/spaces/{space}/cohosts/{ada.id}", headers=host.auth)
    base = f"/v1/spaces/{space}"
    assert client.post(f"{base}/removals", json={"user_id": troll.id}, headers=ada.auth).status_code == 201
    assert client.post(f"{base}/blocks", json={"user_id": pest.id}, headers=host.auth).status_code == 201
    assert client.post(f"{base}/reports", json={"user_id": pest.id, "reason": "spam elsewhere"},
                       headers=fan.auth).status_code == 201
    assert_kept_out(client, space, troll, "removed", listener_offer)
    assert_kept_out(client, space, pest, "blocked", listener_offer)
    other = live_space(client, host)  # a block is account-wide, a removal is not
    assert_problem(client.get(f"/v1/spaces/{other}", headers=pest.auth), 403, "blocked")
    caught_up = {"after": client.app.state.system.app.position()}  # the views may lag the launch
    assert client.get(f"/v1/spaces/{other}", params=caught_up, headers=troll.auth).status_code == 200
    assert_problem(client.post(f"{base}/removals", json={"user_id": "00000000-0000-0000-0000-000000000000"},
                               headers=host.auth), 404, "no account")


def test_people_kept_out_before_the_launch_stay_out_once_it_is_live(client, listener_offer):
    host, troll = register(client, "host"), register(client, "troll")
    space = client.post("/v1/spaces", json={"title": "Later"}, headers=host.auth).json()["id"]
    client.post(f"/v1/spaces/{space}/removals", json={"user_id": troll.id}, headers=host.auth)
    client.post(f"/v1/spaces/{space}/launch", headers=host.auth)
    assert_kept_out(client, space, troll, "removed", listener_offer)
