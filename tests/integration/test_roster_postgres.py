"""The roster on PostgreSQL views: paging and who sees what, as on SQLite; one Space heard
on two media nodes of two API processes, read through either, gone at the end."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from infrastructure.settings import Settings
from tests.support import register
from tests.unit.test_http_roster import check_roster_paging_and_visibility, hear, live_space, roster


def test_the_roster_on_postgres_pages_and_shows_each_what_they_may_see(database_url, tmp_path):
    with TestClient(create_app(Settings(database_url=database_url, data_dir=tmp_path,
                                        secret="s"))) as client:
        check_roster_paging_and_visibility(client)


def test_the_roster_spans_two_media_nodes_and_api_processes_and_ends_with_the_space(
        database_url, tmp_path):
    def settings(node: str) -> Settings:
        return Settings(database_url=database_url, data_dir=tmp_path, secret="s",
                        media_node_id=node)

    with TestClient(create_app(settings("a"))) as one, TestClient(create_app(settings("b"))) as two:
        a, b = one.app.state.system, two.app.state.system
        host, ann, bob = register(one, "host"), register(two, "ann"), register(one, "bob")
        space, position = live_space(one, host)
        hear(a, space, 1, "joined", ann.id, "session-1")
        hear(b, space, 1, "joined", bob.id, "session-1")  # the same session id, another node
        hear(b, space, 2, "joined", None, "session-2")
        for client in (one, two):
            page = roster(client, space, host, after=position)
            assert page["listener_count"] == 3
            assert sorted(i["handle"] for i in page["items"]) == ["ann", "bob"]
            assert roster(client, space, ann)["items"] is None
        hear(a, space, 0, "left", ann.id, "session-1")
        for client in (one, two):
            page = roster(client, space, host)
            assert page["listener_count"] == 2 and [i["handle"] for i in page["items"]] == ["bob"]

        ended = one.post(f"/v1/spaces/{space}/end", headers=host.auth).json()["position"]
        for client in (two, one):
            assert roster(client, space, host, after=ended)["items"] == []
        for table in ("listeners_roster", "listeners_present"):
            assert a.views.rows(f"SELECT * FROM {table} WHERE space_id = ?", (space,)) == []
