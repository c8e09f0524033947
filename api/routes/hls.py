"""The Space's mix as low-latency HLS (RFC 8216bis), for audiences beyond the media nodes.

The origin node writes the files (media/hls.py) into a directory this process reads. Every
playlist request is authorised like listening, so a removed or blocked listener is refused
at their next reload; requests carrying a token are `private` (no shared cache keeps them).
Parts and segments are immutable and public: any HTTP cache shares them. A blocking reload
(`_HLS_msn`, `_HLS_part`) and a request for the hinted next part are held until it is
written. An ended Space keeps its playlists, with EXT-X-ENDLIST, while the node lingers;
then the Space is gone (410) like every public read of it.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from fastapi import APIRouter, Request, Response

from api.deps import OptionalCaller, SystemDep, parse_id
from api.problems import Problem
from application.ports import MediaFull
from domain.errors import SpaceHasEnded
from domain.space import ENDED
from media.hls_state import (
    PARTS_PER_SEGMENT,
    STATE_FILE,
    HlsState,
    read_state,
    ready,
    too_far_ahead,
    wait_ready,
)

if TYPE_CHECKING:
    from api.bootstrap import System
    from domain.space import Space

router = APIRouter(prefix="/v1/spaces/{space_id}/hls", tags=["audio"])
PLAYLISTS = {"index.m3u8", "audio.m3u8", "captions.m3u8"}
FILES = re.compile(r"^(init\.mp4|part-(\d{1,9})\.(\d{1,3})\.m4s|seg-(\d{1,9})\.m4s|"
                   r"captions-(\d{1,9})\.vtt)$")
TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "audio/mp4", ".m4s": "audio/mp4",
         ".vtt": "text/vtt"}
# Parts and segments never change, and are gone a minute after they leave the playlist
# (or the Space ends): caches keep them no longer than that.
IMMUTABLE = "public, max-age=60, immutable"
HOLD_SECONDS = 6.0  # three target durations: longest a blocking request is held (then 503)
START_SECONDS = 5.0  # how long a first request waits for packaging to begin
STALE_SECONDS = 3.0  # a live stream's state older than this: its origin stopped writing
POLL_SECONDS = 0.02


def index_url(system: System, space_id: str) -> str:
    """Where listeners sent to HLS go: through the cache in front when there is one."""
    base = (system.settings.hls_cache_url or "").rstrip("/")
    return f"{base}/v1/spaces/{space_id}/hls/index.m3u8"


@router.get("/{name}", response_class=Response, responses={
    200: {"content": {"application/vnd.apple.mpegurl": {}, "audio/mp4": {}, "text/vtt": {}}}})
async def hls_file(space_id: str, name: str, request: Request, caller: OptionalCaller,
                   system: SystemDep) -> Response:
    """The multivariant playlist `index.m3u8`, the media playlist `audio.m3u8` (blocking
    reloads with `_HLS_msn` and `_HLS_part`), `captions.m3u8`, and the files they name."""
    if system.settings.hls == "off":
        raise Problem(404, "This server does not serve HLS.")
    playlist = name in PLAYLISTS
    if not playlist and not FILES.match(name):
        raise Problem(404, "No such HLS file.")
    space = system.app.space(parse_id(space_id))
    directory = system.settings.hls_root / str(space.id)
    if not playlist:
        return await _media_file(space, directory, name)
    if caller is None and not system.settings.anonymous_listening:
        raise Problem(401, "This server asks listeners to sign in.", {"WWW-Authenticate": "Bearer"})
    state = await _state(system, space, directory, caller.account_id if caller else None)
    if name != "index.m3u8":  # a media playlist is served once it lists a whole segment
        await _hold(directory, *(_blocking(request, state) or (state.first, None)))
    try:
        body = (directory / name).read_bytes()
    except FileNotFoundError:
        raise Problem(404, "This Space has no captions stream." if name == "captions.m3u8"
                      else "No such HLS file.") from None
    return Response(body, media_type=TYPES[".m3u8"],
                    headers={"Cache-Control": _playlist_caching(request, name, caller is not None)})


def _playlist_caching(request: Request, name: str, personal: bool) -> str:
    """A blocking reload's answer names its part in its URL, so a cache may share it for a
    second; a plain reload of a media playlist is the live edge now, which a cached copy
    would put seconds behind, so every cache asks again. With a token nothing is shared."""
    if personal:
        return "private, max-age=1"
    live_edge = name != "index.m3u8" and "_HLS_msn" not in request.query_params
    return "public, no-cache" if live_edge else "public, max-age=1"


async def _media_file(space: Space, directory: Path, name: str) -> Response:
    """A part, segment, init section or captions file: public and immutable. The hinted
    next part is held until written; stale, future and malformed names are 404."""
    state = await _ended(directory) if space.state == ENDED else read_state(directory)
    if state is None:
        raise Problem(404, "This Space's stream has not started.")
    part = FILES.match(name)
    assert part is not None
    if part.group(2) is not None and not (directory / name).exists():
        await _hold_part(directory, state, int(part.group(2)), int(part.group(3)))
    try:
        body = (directory / name).read_bytes()
    except FileNotFoundError:
        raise Problem(404, "No such HLS file (it may be too old).") from None
    return Response(body, media_type=TYPES[Path(name).suffix], headers={"Cache-Control": IMMUTABLE})


async def _state(system: System, space: Space, directory: Path, user: UUID | None) -> HlsState:
    """The Space's HLS as the origin last wrote it, once the caller may hear it. A live
    Space's first request starts the packaging (on demand). An ended Space is served only
    while its playlists say it ended (they end with EXT-X-ENDLIST); then 410."""
    blocked = user is not None and system.app.hosts_block(space, user)
    try:
        space.check_can_listen(user, blocked)
    except SpaceHasEnded:
        space.check_listener(user, blocked)
        return await _ended(directory)
    state = read_state(directory)
    if state is not None and (state.ended or _fresh(directory)):
        return state
    # not packaged yet, or its origin stopped writing (it died: the Space has a new one)
    try:
        await system.audio.package(str(space.id), str(space.host_id), recording=space.recording,
                                   transcripts=space.transcripts)
    except MediaFull as error:
        raise Problem(503, str(error), {"Retry-After": "5"}) from None
    deadline = time.monotonic() + START_SECONDS
    while (state := read_state(directory)) is None or not _fresh(directory):
        if time.monotonic() > deadline:
            raise Problem(503, "The stream is starting; try again.", {"Retry-After": "1"})
        await asyncio.sleep(POLL_SECONDS)
    return state


def _fresh(directory: Path) -> bool:
    """Whether the origin wrote the stream's state lately (it does after every part)."""
    try:
        return time.time() - (directory / STATE_FILE).stat().st_mtime < STALE_SECONDS
    except FileNotFoundError:
        return False


async def _ended(directory: Path) -> HlsState:
    """The end reaches the origin a moment after the event store: wait for it that long."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        state = read_state(directory)
        if state is not None and state.ended:
            return state
        await asyncio.sleep(POLL_SECONDS)
    raise SpaceHasEnded("This Space has ended.")


def _blocking(request: Request, state: HlsState) -> tuple[int, int | None] | None:
    """The part a blocking playlist reload waits for, checked as RFC 8216bis 6.2.5.2 says."""
    msn, part = request.query_params.get("_HLS_msn"), request.query_params.get("_HLS_part")
    if msn is None:
        if part is not None:
            raise Problem(400, "_HLS_part needs _HLS_msn.")
        return None
    if not msn.isdigit() or len(msn) > 9 or (part is not None and not (part.isdigit()
                                                                       and len(part) <= 3)):
        raise Problem(400, "_HLS_msn and _HLS_part are small non-negative integers.")
    wanted = (int(msn), int(part) if part is not None else None)
    if too_far_ahead(state, *wanted):
        raise Problem(400, "_HLS_msn (or _HLS_part) is too far ahead of the stream.")
    return wanted


async def _hold(directory: Path, msn: int, part: int | None) -> None:
    """Holds a blocking request until the stream has that part (or that whole segment)."""
    if not await wait_ready(directory, msn, part, timeout=HOLD_SECONDS, poll=POLL_SECONDS):
        raise Problem(503, "The stream did not reach that part in time.", {"Retry-After": "1"})


async def _hold_part(directory: Path, state: HlsState, msn: int, part: int) -> None:
    """A request for a part not written yet (the playlist's preload hint) waits for it, if
    it is about to be; any other missing part is 404 at once (then the read fails)."""
    if part >= PARTS_PER_SEGMENT or ready(state, msn, part) or too_far_ahead(state, msn, part):
        return
    await _hold(directory, msn, part)
