"""`Idempotency-Key` against `spaces serve`: parallel repeats of one request run it once."""

from __future__ import annotations

import asyncio

import httpx

from tests.support import register


def race_one_key(url: str, token: str, repeats: int = 10) -> list[httpx.Response]:
    """`repeats` creates with one key, sent at once on connections of their own."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "one-space"}

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(base_url=url, timeout=30) as web:
            return await web.post("/v1/spaces", json={"title": "Once"}, headers=headers)

    async def all_at_once() -> list[httpx.Response]:
        return await asyncio.gather(*(send() for _ in range(repeats)))

    return asyncio.run(all_at_once())


def check_created_once(http: httpx.Client, url: str) -> None:
    host = register(http, "host")
    before = http.get("/healthz").json()["event_store_position"]
    responses = race_one_key(url, host.token)
    assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    assert sum(r.headers.get("idempotent-replayed") != "true" for r in created) == 1
    assert http.get("/healthz").json()["event_store_position"] == before + 1  # one SpaceCreated


def test_parallel_repeats_of_one_key_create_one_space(server):
    check_created_once(server.start(), server.url)
