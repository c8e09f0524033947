"""The API spread over processes on PostgreSQL: `spaces serve --processes 2`, where either
process may answer any request and each obeys what the other decided; and the views fed by
a `spaces project` process of their own (which the read cache follows)."""

from __future__ import annotations

import asyncio
import time

import httpx

from infrastructure.settings import Settings
from tests.e2e.test_idempotency import check_created_once
from tests.e2e.test_stream import Watcher
from tests.integration.faults import Worker, eventually
from tests.support import Server, register, spaces


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


def test_a_projection_process_of_its_own_feeds_the_views_and_the_hash_chain(
        database_url, tmp_path):
    env = {"SPACES_DATABASE_URL": database_url, "SPACES_SECRET": "test",
           "SPACES_READ_YOUR_WRITES_TIMEOUT": "0.5"}
    server = Server(tmp_path / "data", env, ("--no-background-workers",))
    worker = None
    try:
        http = server.start()
        host = register(http, "host")
        space = http.post("/v1/spaces", json={"title": "Fed apart"}, headers=host.auth).json()["id"]
        position = http.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()["position"]
        listing = {"after": position}
        assert http.get("/v1/spaces", params=listing).status_code == 503  # nothing feeds them yet
        assert http.get("/v1/spaces").json()["items"] == []  # and now that answer is kept

        worker = Worker("project", Settings(database_url=database_url, secret="test",
                                            data_dir=tmp_path / "worker"), tmp_path, "project")
        assert eventually(lambda: http.get("/v1/spaces", params=listing).status_code == 200, 60), \
            worker.output()
        assert [s["id"] for s in http.get("/v1/spaces", params=listing).json()["items"]] == [space]
        # the kept answer went stale as the other process moved the views
        assert [s["id"] for s in http.get("/v1/spaces").json()["items"]] == [space]
        auditor = {"Authorization": "Bearer " + spaces(
            "auditor-token", "ann", data_dir=server.data_dir, env=server.env).strip()}
        verdict = {}

        def chained() -> bool:
            verdict.update(http.get("/v1/audit/verify", headers=auditor).json())
            return verdict["checked"] >= position

        assert eventually(chained, 10), verdict
        assert verdict["intact"]
    finally:
        if worker:
            worker.stop()
        server.stop()


def test_parallel_repeats_of_one_idempotency_key_create_one_space_across_processes(
        database_url, tmp_path):
    server = Server(tmp_path / "data", {"SPACES_DATABASE_URL": database_url,
                                        "SPACES_SECRET": "test"}, ("--processes", "2"))
    try:
        check_created_once(server.start(), server.url)
    finally:
        server.stop()


def test_a_block_closes_the_blocked_persons_streams_whichever_process_holds_them(
        database_url, tmp_path):
    server = Server(tmp_path / "data", {"SPACES_DATABASE_URL": database_url,
                                        "SPACES_SECRET": "test"}, ("--processes", "2"))
    try:
        http = server.start()
        host, rude = register(http, "host"), register(http, "rude")
        spaces_of_host = []
        for title in ("One", "Two", "Three", "Four"):
            space = http.post("/v1/spaces", json={"title": title}, headers=host.auth).json()["id"]
            done = http.post(f"/v1/spaces/{space}/launch", headers=host.auth).json()
            assert http.get(f"/v1/spaces/{space}", params={"after": done["position"]}).status_code == 200
            spaces_of_host.append(space)

        async def scenario() -> None:
            views = []
            for space in spaces_of_host:  # a connection each: either process may hold it
                web = httpx.AsyncClient(base_url=server.url, timeout=20)
                views.append((web, Watcher(web, f"/v1/spaces/{space}/stream", rude.token)))
            for _, view in views:
                await view.wait_for("snapshot", timeout=10)
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as web:
                blocked = await web.put(f"/v1/accounts/{host.id}/blocked/{rude.id}", headers=host.auth)
                assert blocked.status_code == 200
            for web, view in views:
                await asyncio.wait_for(view.closed.wait(), 10)
                assert "removed" in view.kinds()
                await web.aclose()

        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        server.stop()
