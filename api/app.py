"""The FastAPI application: routers, problem+json errors, idempotency, lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import idempotency, metrics, problems
from api.body_limit import BodyLimit
from api.bootstrap import System, build
from api.ids import CanonicalIds
from api.notification_watch import NotificationWatch
from api.openapi import document_problems
from api.read_cache import ReadCache
from api.read_your_writes import ViewsWaiter
from api.routes import (
    accounts,
    analytics,
    audio,
    audit,
    cohosts,
    fleet,
    hls,
    media_internal,
    moderation,
    notifications,
    pages,
    pin,
    reminders,
    roster,
    spaces,
    stage,
    stream,
    transcript,
    webhooks,
)
from api.stream import StreamHub
from infrastructure.garbage import calm_garbage_collection
from infrastructure.settings import Settings

WEB = Path(__file__).resolve().parents[1] / "web"
DESCRIPTION = """Live audio rooms with an auditable history.

Commands answer with the event store `position` they reached; pass it to a read as
`?after=<position>` to read your own write. Errors are `application/problem+json`.
State-changing requests accept an `Idempotency-Key` header."""


def create_app(settings: Settings | None = None, system: System | None = None,
               role: str = "api") -> FastAPI:
    """`role="media"`: only the audio endpoints, health and metrics (`spaces media`)."""
    settings = settings or (system.settings if system else Settings())
    system = system or build(settings, workers=False if role == "media" else None,
                             media="node" if role == "media" else "gateway")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Queries (and, without group commit, commands) block on the database in worker
        # threads; a bounded number keeps the GIL from thrashing.
        to_thread.current_default_thread_limiter().total_tokens = system.settings.threads
        calm_garbage_collection()
        system.start()
        views_waiter.start_on(asyncio.get_running_loop())
        if system.settings.read_cache_seconds and role == "api":  # a media node serves no reads
            views_waiter.follow()
        if system.node is not None:
            system.start_media(asyncio.get_running_loop())
        if role == "api":
            system.stream = StreamHub(system.app, system.live, system.store_feed)
            system.stream.start_on(asyncio.get_running_loop())
            system.notification_watch = watch = NotificationWatch(system.views)
            watch.start_on(asyncio.get_running_loop())
            system.notifier.written_listeners.append(watch.poke)
        try:
            yield
        finally:
            views_waiter.stop()
            if system.heartbeat:  # drain: leave the fleet first, so nobody new is sent here
                system.heartbeat.stop()
            if system.stream:
                system.stream.stop()
            if system.notification_watch:
                system.notification_watch.stop()
            if system.media:
                await system.media.close()
            system.close()

    app = FastAPI(title="Spaces", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.system = system
    system.views_waiter = views_waiter = ViewsWaiter(system.progress,
                                                     settings.read_your_writes_per_caller)
    system.read_cache = ReadCache(views_waiter, settings.read_cache_seconds)
    app.state.metrics = metrics.Metrics(system)
    app.add_middleware(idempotency.IdempotencyMiddleware)
    app.add_middleware(metrics.MetricsMiddleware)  # replays are counted too
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CanonicalIds)  # outermost: every layer sees one spelling of an id
    problems.install(app)
    document_problems(app)
    # FastAPI tries the routes in this order, about a microsecond each: the Spaces' own
    # routes (their reads, commands, reactions, stream and audio) come first.
    if role == "api":
        routers = [spaces.router, spaces.feed_router, stage.router, moderation.router,
                   cohosts.router, pin.router, reminders.router, roster.router, audio.router,
                   audio.recording_router, analytics.router, stream.router, transcript.router,
                   accounts.router, notifications.router, audit.router, webhooks.router,
                   fleet.router, hls.router]
    else:
        routers = [media_internal.router]
    for router in routers + [pages.router, metrics.router]:
        app.include_router(router)
    if role == "api" and WEB.is_dir():  # the web client ships with a checkout, not a wheel
        app.mount("/web", StaticFiles(directory=WEB), name="web")
    return app

