"""`spaces serve --processes 2` on PostgreSQL: either process may answer any request, and
each obeys what the other decided."""

from __future__ import annotations

import time

import httpx

from tests.support import Server, register


def test_two_server_processes_share_one_store_and_respect_each_others_decisions(
        database_url, tmp_path):
    server = Server(tmp_path / "data", {"SPACES_DATABASE_URL": database_url,
                                        "SPACES_SECRET": "test"}, ("--processes", "2"))
    try:
        http = server.start()
        host, troll = register(http, "host"), register(http, "troll")
        space = http.post("/v1/spaces", json={"title": "Shared"}, headers=host.auth).json()["id"]
        assert http.post(f"/v1/spaces/{space}/launch", headers=host.auth).status_code == 200
        report = {"user_id": host.id, "reason": "loud"}

        def report_on_a_new_connection() -> httpx.Response:  # either process may take it
            with httpx.Client(base_url=server.url, timeout=10) as fresh:
                return fresh.post(f"/v1/spaces/{space}/reports", json=report, headers=troll.auth)

        assert all(report_on_a_new_connection().status_code == 201 for _ in range(20))
        block = http.put(f"/v1/accounts/{host.id}/blocked/{troll.id}", headers=host.auth)
        assert block.status_code == 200
        deadline = time.monotonic() + 2  # the other process hears of the block within ms
        while report_on_a_new_connection().status_code != 403:
            assert time.monotonic() < deadline, "a process kept ignoring the block"
        refused = [report_on_a_new_connection() for _ in range(20)]
        assert all(r.status_code == 403 for r in refused), [r.text for r in refused]
    finally:
        server.stop()
