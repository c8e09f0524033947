"""`?after=` against `spaces serve`: waiting reads hold no thread, and each caller may have
only so many waiting."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.support import Server


def test_waiting_reads_hold_no_thread_and_are_capped_per_caller(tmp_path):
    server = Server(tmp_path / "data", {"SPACES_THREADS": "4", "SPACES_READ_YOUR_WRITES_TIMEOUT": "3",
                                        "SPACES_READ_YOUR_WRITES_PER_CALLER": "30"})
    server.start()
    try:
        async def scenario() -> tuple[list[tuple[float, int]], float]:
            async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                         limits=httpx.Limits(max_connections=100)) as web:
                async def wait() -> tuple[float, int]:
                    response = await web.get("/v1/spaces", params={"after": 2**62})
                    return time.monotonic(), response.status_code

                waits = [asyncio.ensure_future(wait()) for _ in range(32)]
                await asyncio.sleep(0.5)
                health = await web.get("/healthz")  # a plain route: it needs a free thread
                healthy_at = time.monotonic()
                assert health.status_code == 200
                return await asyncio.gather(*waits), healthy_at

        results, healthy_at = asyncio.run(scenario())
        statuses = sorted(status for _, status in results)
        assert statuses == [429] * 2 + [503] * 30, statuses
        assert all(done > healthy_at for done, status in results if status == 503)
    finally:
        server.stop()
