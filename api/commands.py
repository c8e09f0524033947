"""Commands from `async def` routes, so no thread waits for one: with group commit the
route awaits the committer thread; with one save per command the command runs in a
worker thread."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from anyio import to_thread

from api.bootstrap import System
from api.schemas import Done
from application.spaces import Outcome


async def execute(system: System, command: Callable[..., Outcome], *args: Any,
                  **kwargs: Any) -> Outcome:
    if system.app.groups_commits:
        return await asyncio.wrap_future(system.app.submit(command, *args, **kwargs))
    return await to_thread.run_sync(functools.partial(command, *args, **kwargs))


async def done(system: System, command: Callable[..., Outcome], *args: Any, **kwargs: Any) -> Done:
    outcome = await execute(system, command, *args, **kwargs)
    return Done(id=outcome.id, position=outcome.position)
