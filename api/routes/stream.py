"""`GET /v1/spaces/{id}/stream`: server-sent events of one Space (see api/stream.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import BIGINT, StreamCaller, SystemDep, parse_id
from api.stream import Message
from api.visibility import visible_space

router = APIRouter(prefix="/v1/spaces", tags=["spaces"])
HEARTBEAT = 15.0


@router.get("/{space_id}/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def stream(space_id: str, request: Request, caller: StreamCaller, system: SystemDep,
                 last_event_id: Annotated[int | None, Header(ge=0, le=BIGINT)] = None) -> StreamingResponse:
    """Stage changes (co-hosts and handovers too), switches, the pinned link, speak requests
    (to the host and co-hosts), invitations (to the invitee),
    reactions (counted per second), listener count, "removed" (to that viewer) and the end.
    The first message is a snapshot; reconnect with Last-Event-ID to get what you missed."""
    await run_in_threadpool(visible_space, system, space_id, caller)
    hub = system.stream
    assert hub is not None, "an API process has its stream hub"
    viewer = hub.join(space_id, caller.subject if caller and caller.is_user else None)
    space = await run_in_threadpool(system.app.space, parse_id(space_id))
    first = (await run_in_threadpool(hub.missed, space.id, last_event_id)
             if last_event_id is not None else [])
    first.append(hub.snapshot(space, viewer))

    async def events() -> AsyncIterator[str]:
        try:
            for message in first:
                if message.reaches(viewer.user_id):
                    yield message.encode()
            if space.state == "ended":
                yield Message("ended", {}, space.version).encode()
                return
            while not await request.is_disconnected():
                try:
                    message = await asyncio.wait_for(viewer.queue.get(), HEARTBEAT)
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                yield message.encode()
                if message.kind in ("ended", "removed"):
                    return
        finally:
            hub.leave(viewer)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
