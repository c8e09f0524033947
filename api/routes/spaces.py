"""Spaces: create, launch, switch, end; the public listing, one Space, the feed, reactions."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from anyio import to_thread
from fastapi import APIRouter, Query, Response
from pydantic import AfterValidator

from api.commands import done, execute
from api.deps import BIGINT, CaughtUp, CurrentUser, Host, OptionalCaller, SystemDep, parse_id
from api.presenters import link, people, pin, space_summary, space_view, speakers
from api.problems import Problem
from api.schemas import (
    WORDS_PATTERN,
    Done,
    FeedPage,
    NewSpace,
    Reaction,
    SpaceChanges,
    SpaceCreated,
    SpacePage,
    SpaceView,
)
from api.visibility import is_moderator, readable_space, space_row
from projections.feed import FeedCursor, feed
from projections.inbox import open_invitees
from projections.reminders import reminders_of
from projections.search import search
from projections.spaces import SpaceQueries

if TYPE_CHECKING:
    from api.bootstrap import System
    from domain.space import Space
    from infrastructure.tokens import Caller

router = APIRouter(prefix="/v1/spaces", tags=["spaces"])
Limit = Annotated[int, Query(ge=1, le=100)]
MAX_WORDS = 200


@router.post("", status_code=201, response_model=SpaceCreated)
async def create(body: NewSpace, caller: CurrentUser, system: SystemDep, response: Response) -> SpaceCreated:
    created = await execute(system, system.app.create_space, caller, body.title,
                            body.speaker_policy, body.transcripts, body.recording,
                            body.scheduled_for)
    response.headers["Location"] = f"/v1/spaces/{created.id}"
    return SpaceCreated(id=created.id, position=created.position, state="created",
                        link=link(str(created.id)))


@router.post("/{space_id}/launch", response_model=Done)
async def launch(space_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    return await done(system, system.app.launch, parse_id(space_id), caller)


@router.post("/{space_id}/end", response_model=Done)
async def end(space_id: str, caller: CurrentUser, system: SystemDep) -> Done:
    return await done(system, system.app.end, parse_id(space_id), caller)


@router.patch("/{space_id}", response_model=Done)
async def switch(space_id: str, body: SpaceChanges, caller: Host, system: SystemDep) -> Done:
    """The host turns transcripts or recording on or off, or moves the scheduled start."""
    return await done(system, system.app.switch, parse_id(space_id), caller,
                      transcripts=body.transcripts, recording=body.recording,
                      scheduled_for=body.scheduled_for)


def _words(words: str | None) -> str | None:
    if words is not None and not re.fullmatch(WORDS_PATTERN, words):
        raise ValueError("search words have no control characters and are not only spaces")
    return words


Words = Annotated[str | None, Query(
    min_length=1, max_length=MAX_WORDS, json_schema_extra={"pattern": WORDS_PATTERN},
    description='words in the title or the host\'s handle: "a phrase", `or`, `-left out`'),
    AfterValidator(_words)]


@router.get("", response_model=SpacePage, dependencies=[CaughtUp])
async def listing(system: SystemDep, limit: Limit = 20,
                  cursor: Annotated[int | None, Query(ge=0, le=BIGINT)] = None, q: Words = None,
                  host_id: Annotated[UUID | None, Query(description="only this host's")] = None,
                  ) -> Response:
    """Live Spaces, newest first. With `q`, live and upcoming Spaces that have the words,
    the best match first; with `host_id`, that host's live Spaces (newest first), then
    upcoming ones (soonest first). Pass `next_cursor` back as `cursor` for the next page."""
    host = str(host_id) if host_id else None
    offset = cursor or 0  # with `q` or `host_id`, the cursor counts what the pages before showed

    def read() -> SpacePage:
        if q is not None:
            rows = search(system.views, q, host, limit, offset)
        elif host is not None:
            rows = SpaceQueries(system.views).by_host(host, limit, offset)
        else:
            rows = SpaceQueries(system.views).live(limit, cursor)
            next_cursor = rows[-1]["live_seq"] if len(rows) == limit else None
            return SpacePage(items=[space_summary(r) for r in rows], next_cursor=next_cursor)
        return SpacePage(items=[space_summary(r) for r in rows],
                         next_cursor=offset + limit if len(rows) == limit else None)

    assert system.read_cache is not None
    return await system.read_cache.answer(("listing", limit, cursor, q, host), read)


@router.get("/{space_id}", response_model=SpaceView, dependencies=[CaughtUp])
async def one(space_id: str, caller: OptionalCaller, system: SystemDep) -> Response:
    """A Space with its stage, co-hosts and pinned link (and, for its moderators, the
    speak requests and open invitations)."""
    space = await to_thread.run_sync(readable_space, system, space_id, caller)
    assert system.read_cache is not None
    who = (caller.account_id, caller.roles) if caller else None
    return await system.read_cache.answer(("space", str(space.id), who),
                                          lambda: _space(space, caller, system))


def _space(space: Space, caller: Caller | None, system: System) -> SpaceView:
    row = space_row(system, space)
    space_id = row["id"]  # as the views spell it
    queries = SpaceQueries(system.views)
    cohosts = queries.cohosts(space_id)
    details: dict[str, Any] = {"speakers": speakers(queries.stage(space_id)),
                               "cohosts": people(cohosts), "pin": pin(row)}
    me = str(caller.account_id) if caller and caller.account_id else None
    details["reminder_count"], reminded = reminders_of(system.views, space_id, me)
    details["reminded"] = reminded if me else None
    if me:
        mine = queries.viewer(space_id, row["host_id"], me)
        details.update(asked_to_speak=mine["asked"], following_host=mine["following"],
                       host_go_live_notifications=mine["following"] and not mine["muted"])
    if is_moderator(row, cohosts, caller):
        details["speak_requests"] = people(queries.speak_requests(space_id))
        details["open_invitations"] = open_invitees(system.views, space_id)
    return space_view(row, **details)


@router.post("/{space_id}/reactions", status_code=202)
def react(space_id: str, body: Reaction, caller: CurrentUser, system: SystemDep) -> dict:
    """Listeners and speakers react; reactions are not stored, they go to the live stream.
    Who may react is decided on the event store, not on views that may lag; the rate limit
    comes first, so a storm of reactions costs no reads."""
    wait = system.reactions.take(str(caller))
    if wait:
        raise Problem(429, "Too many reactions; slow down.", {"Retry-After": str(wait)})
    system.app.require_caller(caller)
    space = system.app.space(parse_id(space_id))
    space.check_can_react(caller, system.app.hosts_block(space, caller))
    # Past the Space's own rate, a reaction still counts on the stream (reactions show there
    # as counts per second) but is not sent on one by one (to Kafka).
    one_by_one = not system.space_reactions.take(str(space.id))
    system.live.publish(space_id, "reaction", {"user_id": str(caller), "emoji": body.emoji,
                                               "one_by_one": one_by_one})
    return {"emoji": body.emoji}


feed_router = APIRouter(prefix="/v1", tags=["spaces"])


@feed_router.get("/feed", response_model=FeedPage, dependencies=[CaughtUp])
async def my_feed(caller: CurrentUser, system: SystemDep, limit: Limit = 50,
                  cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """Live Spaces (newest first), then upcoming ones (soonest first), of the people you
    follow. Pass `next_cursor` back as `cursor` for the next page."""
    try:
        after = FeedCursor.decode(cursor) if cursor is not None else None
    except ValueError:
        raise Problem(422, "That cursor is not one a feed page gave.") from None

    def read() -> FeedPage:
        rows = feed(system.views, str(caller), limit, after,
                    plain=system.settings.feed_reads == "join")
        next_cursor = FeedCursor.after(rows[-1]).encode() if len(rows) == limit else None
        return FeedPage(items=[space_summary(r) for r in rows], next_cursor=next_cursor)

    assert system.read_cache is not None
    return await system.read_cache.answer(("feed", caller, limit, cursor), read)
