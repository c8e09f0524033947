"""Notifications: the list, marking read, the live stream, and the per-host go-live switch."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from anyio import to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from api.commands import done
from api.deps import BIGINT, CurrentUser, StreamCaller, SystemDep, caught_up, parse_id
from api.presenters import notification
from api.problems import Problem
from api.schemas import Done, MarkRead, NotificationPage
from projections.notifications import NotificationQueries

router = APIRouter(prefix="/v1", tags=["notifications"])
HEARTBEAT = 15.0
After = Annotated[int | None, Query(ge=0, le=BIGINT, description=(
    "wait until the views include this event store position and every notification it "
    "causes has been written"))]


async def fanned_out(request: Request, system: SystemDep, after: After = None) -> None:
    """`?after=`, for notifications: the views include the position, and the notifier has
    written every row of the jobs up to it (a launch's fan-out included)."""
    await caught_up(request, system, after)
    if after is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + system.settings.read_your_writes_timeout
    queries = NotificationQueries(system.views)
    while not await to_thread.run_sync(queries.fanned_out, after):
        if loop.time() > deadline:
            raise Problem(503, f"The notifications of position {after} are still being "
                          "written; retry shortly.", {"Retry-After": "1"})
        await asyncio.sleep(0.02)


@router.get("/notifications", response_model=NotificationPage)
async def my_notifications(caller: CurrentUser, system: SystemDep, request: Request,
                           limit: Annotated[int, Query(ge=1, le=100)] = 20,
                           cursor: Annotated[int | None, Query(ge=0, le=BIGINT)] = None,
                           after: After = None) -> NotificationPage:
    """Yours, newest first, with how many are unread. Pass `next_cursor` back as `cursor`."""
    await fanned_out(request, system, after)
    queries = NotificationQueries(system.views)
    rows, unread = await to_thread.run_sync(
        lambda: (queries.page(str(caller), cursor, limit), queries.unread(str(caller))))
    return NotificationPage(items=[notification(r) for r in rows], unread_count=unread,
                            next_cursor=rows[-1]["position"] if len(rows) == limit else None)


@router.post("/notifications/read", response_model=Done)
async def mark_read(body: MarkRead, caller: CurrentUser, system: SystemDep) -> Done:
    """Marks read every notification up to `up_to` (an id: pass the newest you have shown
    to mark all read) and the ones in `ids`."""
    return await done(system, system.app.mark_notifications_read, caller, body.up_to,
                      tuple(body.ids))


@router.get("/notifications/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def stream(request: Request, caller: StreamCaller, system: SystemDep,
                 last_event_id: Annotated[int | None, Header(ge=0, le=BIGINT)] = None
                 ) -> StreamingResponse:
    """Your notifications as they arrive (`notification` events, each with its arrival
    number as the SSE id) and the unread count (`unread`). Reconnect with Last-Event-ID
    to get every one that arrived meanwhile. The token may come as `?access_token=`."""
    if caller is None:
        raise Problem(401, "Send a bearer token (or ?access_token=).", {"WWW-Authenticate": "Bearer"})
    if not caller.is_user:
        raise Problem(403, "Only people with an account get notifications.")
    me = caller.subject
    await to_thread.run_sync(system.app.require_caller, UUID(me))
    queries, watch = NotificationQueries(system.views), system.notification_watch
    assert watch is not None, "an API process watches notifications"
    newest = (await to_thread.run_sync(queries.last_arrived, [me])).get(me, 0)
    # Past the newest number (the views were rebuilt and numbered anew): from the start.
    last = newest if last_event_id is None else (last_event_id if last_event_id <= newest else 0)
    woken = watch.watch(me)

    async def events() -> AsyncIterator[str]:
        nonlocal last
        try:
            yield _unread(await to_thread.run_sync(queries.unread, me))
            while not await request.is_disconnected():
                woken.clear()
                rows = await to_thread.run_sync(queries.arrived_after, me, last, 100)
                for row in rows:
                    body = notification(row).model_dump_json()
                    yield f"id: {row['rseq']}\nevent: notification\ndata: {body}\n\n"
                if rows:
                    last = rows[-1]["rseq"]
                    yield _unread(await to_thread.run_sync(queries.unread, me))
                    continue
                try:
                    await asyncio.wait_for(woken.wait(), HEARTBEAT)
                except TimeoutError:
                    yield ": still here\n\n"
        finally:
            watch.unwatch(me, woken)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _unread(count: int) -> str:
    return f"event: unread\ndata: {json.dumps({'count': count})}\n\n"


@router.put("/accounts/{account_id}/following/{target}/notifications", response_model=Done)
async def go_live_on(account_id: str, target: str, caller: CurrentUser, system: SystemDep) -> Done:
    """Be notified when `target`, whom you follow, goes live (the default)."""
    return await _switch(account_id, target, caller, system, True)


@router.delete("/accounts/{account_id}/following/{target}/notifications", response_model=Done)
async def go_live_off(account_id: str, target: str, caller: CurrentUser, system: SystemDep) -> Done:
    """Stop go-live notifications from `target` (you still follow them; a reminder you set
    on one of their Spaces still notifies you)."""
    return await _switch(account_id, target, caller, system, False)


async def _switch(account_id: str, target: str, caller: UUID, system: SystemDep, on: bool) -> Done:
    if parse_id(account_id, "account") != caller:
        raise Problem(403, "You can switch only your own notifications.")
    return await done(system, system.app.switch_go_live_notifications, caller,
                      parse_id(target, "account"), on)
