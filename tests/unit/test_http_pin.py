"""The pinned link through HTTP: only http(s), bounded, shown in the Space detail."""

from __future__ import annotations

import pytest

from tests.support import assert_problem, register
from tests.unit.test_http_api import live_space


@pytest.mark.parametrize("url", [
    "javascript:alert(document.cookie)",
    "JAVASCRIPT:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "https://bank.example@evil.example/",
    "https://",
    "https://example.com/" + "a" * 10_000,  # 10 kB
])
def test_links_other_than_http_or_https_or_too_long_are_refused(client, url):
    host = register(client, "host")
    space = live_space(client, host)
    assert_problem(client.put(f"/v1/spaces/{space}/pin", json={"url": url, "title": "Look"},
                              headers=host.auth), 422)


@pytest.mark.parametrize("body", [{"url": "https://example.com"}, {"title": "No URL"},
                                  {"url": "https://example.com", "title": "x" * 101},
                                  {"url": "https://example.com", "title": "a\u202eb"},
                                  {"url": "https://example.com", "title": "x", "target": "_top"}])
def test_a_pin_has_a_url_and_a_visible_title_of_at_most_100_characters(client, body):
    host = register(client, "host")
    space = live_space(client, host)
    assert_problem(client.put(f"/v1/spaces/{space}/pin", json=body, headers=host.auth), 422)


def test_the_pinned_link_shows_in_the_detail_until_it_is_taken_down(client):
    host, fan = register(client, "host"), register(client, "fan")
    space = client.post("/v1/spaces", json={"title": "Soon"}, headers=host.auth).json()["id"]
    pinned = client.put(f"/v1/spaces/{space}/pin",
                        json={"url": "https://example.com/agenda?day=1#top", "title": " Agenda "},
                        headers=host.auth)
    assert pinned.status_code == 200, pinned.text  # before the launch too
    view = client.get(f"/v1/spaces/{space}", params={"after": pinned.json()["position"]}).json()
    assert view["pin"] == {"url": "https://example.com/agenda?day=1#top", "title": "Agenda"}
    client.put(f"/v1/spaces/{space}/pin", json={"url": "https://example.com/?a='b'", "title": "<b>Bold</b>"},
               headers=host.auth)
    page = client.get(f"/s/{space}", params={"after": client.app.state.system.app.position()}).text
    assert "href='https://example.com/?a=&#x27;b&#x27;'" in page and "&lt;b&gt;Bold&lt;/b&gt;" in page
    assert_problem(client.delete(f"/v1/spaces/{space}/pin", headers=fan.auth), 403, "co-host")
    assert_problem(client.put(f"/v1/spaces/{space}/pin", json={"url": "javascript:x"},
                              headers=fan.auth), 403)  # who may pin is settled first
    unpinned = client.delete(f"/v1/spaces/{space}/pin", headers=host.auth).json()
    assert client.get(f"/v1/spaces/{space}", params={"after": unpinned["position"]}).json()["pin"] is None
    assert client.delete(f"/v1/spaces/{space}/pin", headers=host.auth).status_code == 200
    client.post(f"/v1/spaces/{space}/end", headers=host.auth)
    assert_problem(client.put(f"/v1/spaces/{space}/pin", json={"url": "https://a.example", "title": "x"},
                              headers=host.auth), 409, "ended")


def test_the_openapi_document_describes_cohosts_the_handover_and_the_pin(client):
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    assert {"put", "delete"} <= set(paths["/v1/spaces/{space_id}/cohosts/{user_id}"])
    assert "post" in paths["/v1/spaces/{space_id}/host"]
    assert {"put", "delete"} <= set(paths["/v1/spaces/{space_id}/pin"])
    schemas = document["components"]["schemas"]
    assert schemas["NewPin"]["properties"]["url"]["maxLength"] == 2048
    assert {"cohosts", "pin"} <= set(schemas["SpaceView"]["required"])
