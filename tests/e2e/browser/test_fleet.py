"""A host page and a listener page on different media nodes of a fleet: the listener's node
dies and the page hears the host again by itself, without a reload."""

from __future__ import annotations

import time

import psycopg
from playwright.sync_api import expect

from tests.e2e.browser.test_web import HOST_HZ, host_launches, sign_up
from tests.support import Server, free_port

HEARS_HOST = f"() => {{ const heard = window.spacesHearing(); return !!heard && Math.abs(heard.peakHz - {HOST_HZ}) < 15; }}"


def test_the_listener_page_hears_again_when_its_media_node_dies(database_url, tmp_path, browsers):
    env = {"SPACES_DATABASE_URL": database_url, "SPACES_SECRET": "fleet", "SPACES_MEDIA_FLEET": "true"}

    def node(name: str, capacity: int) -> Server:
        return Server(tmp_path / name, {**env, "SPACES_MEDIA_NODE_ID": name,
                                        "SPACES_MEDIA_CAPACITY": str(capacity)},
                      command="media", port=free_port())

    def query(sql: str, *args: object) -> list[tuple]:
        with psycopg.connect(database_url) as connection:
            return connection.execute(sql, args).fetchall()

    # The origin takes no listeners, so the listener lands on an edge; the Space is placed
    # on the origin before the edges exist.
    origin, edges = node("origin", 0), {name: node(name, 5) for name in ("edge1", "edge2")}
    api = Server(tmp_path / "api", env)
    try:
        origin.start()
        api.start()
        host_page = browsers(HOST_HZ).new_page()
        link = host_launches(host_page, api.url, "Across nodes")
        space = link.rsplit("/", 1)[-1]
        host_page.get_by_role("button", name="Unmute to speak").click()
        expect(host_page.locator("[data-speaker=host]")).to_have_class("talking")
        assert query("SELECT origin FROM space_placements WHERE space_id = %s", space) == [("origin",)]

        for edge in edges.values():
            edge.start()
        deadline = time.monotonic() + 10
        while len(query("SELECT node_id FROM media_nodes")) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        fan_page = browsers(300.0).new_page()
        sign_up(fan_page, api.url, "fan")
        fan_page.goto(link)
        fan_page.get_by_role("button", name="Listen").click()
        fan_page.wait_for_function(HEARS_HOST, timeout=10_000)
        [(on,)] = query("SELECT node_id FROM space_nodes WHERE space_id = %s AND node_id <> 'origin'", space)

        fan_page.evaluate("() => { window.sameDocument = true; }")
        edges[on].process.kill()  # SIGKILL
        killed = time.monotonic()
        other = next(name for name in edges if name != on)
        while not query("SELECT 1 FROM space_nodes WHERE space_id = %s AND node_id = %s", space, other):
            assert time.monotonic() < killed + 15, "the page never listened again"
            time.sleep(0.1)
        fan_page.wait_for_function(HEARS_HOST, timeout=15_000)
        print(f"\nthe listener page heard the host again {time.monotonic() - killed:.1f} s "
              "after its media node was killed (target: 5 s)")
        assert fan_page.evaluate("() => window.sameDocument") is True  # not reloaded
    finally:
        api.stop()
        for server in (origin, *edges.values()):
            server.stop()
