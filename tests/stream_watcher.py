"""One viewer of a Space's live stream (server-sent events), for the tests."""

from __future__ import annotations

import asyncio
import json

import httpx


class Watcher:
    """One viewer's stream: every message, parsed, as it arrives."""

    def __init__(self, web: httpx.AsyncClient, path: str, token: str | None,
                 last_event_id: int | None = None):
        self.messages: list[dict] = []
        self.closed = asyncio.Event()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.task = asyncio.ensure_future(self._read(web, path, headers))

    async def _read(self, web, path, headers) -> None:
        try:
            async with web.stream("GET", path, headers=headers) as response:
                self.status = response.status_code
                message: dict = {}
                async for line in response.aiter_lines():
                    if not line:
                        if "event" in message:
                            self.messages.append(message)
                        message = {}
                    elif line.startswith("id: "):
                        message["id"] = int(line[4:])
                    elif line.startswith("event: "):
                        message["event"] = line[7:]
                    elif line.startswith("data: "):
                        message["data"] = json.loads(line[6:])
        except httpx.HTTPError:
            pass  # the server closed the stream (removal, end, shutdown): that is its end
        finally:
            self.closed.set()

    def kinds(self) -> list[str]:
        return [m["event"] for m in self.messages]

    async def wait_for(self, kind: str, timeout: float = 3.0) -> dict:
        for _ in range(int(timeout / 0.02)):
            found = [m for m in self.messages if m["event"] == kind]
            if found:
                return found[-1]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {kind!r} message; got {self.kinds()}")

    def last_id(self) -> int:
        return max(m["id"] for m in self.messages if "id" in m)
