"""Audio signalling, WHIP / WHEP shaped: an SDP offer in, 201 with the SDP answer and a
Location to DELETE when leaving."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from uuid import UUID

from fastapi import APIRouter, Request, Response

from api.deps import ActingUser, OptionalCaller, SystemDep, parse_id
from api.problems import Problem
from api.routes.hls import index_url
from application.ports import BadOffer, MediaFull
from media.recording import joined

if TYPE_CHECKING:
    from api.bootstrap import System

router = APIRouter(prefix="/v1/spaces/{space_id}/audio", tags=["audio"])
SDP = "application/sdp"
SDP_BODY = {"requestBody": {"content": {SDP: {"schema": {"type": "string"}}}, "required": True}}


async def _offer(request: Request, system: System, caller: str | None) -> str:
    """The SDP offer, once this caller and this address may make another one."""
    address = request.client.host if request.client else "unknown"
    for key in ([f"caller:{caller}"] if caller else []) + [f"address:{address}"]:
        wait = system.audio_attempts.take(key)
        if wait:
            raise Problem(429, "Too many audio offers; wait a moment.", {"Retry-After": str(wait)})
    if request.headers.get("content-type", "").split(";")[0].strip() != SDP:
        raise Problem(415, "Send the SDP offer as the body, with Content-Type: application/sdp.")
    return (await request.body()).decode("utf-8", errors="replace")


def _answered(space_id: str, session_id: str, answer: str) -> Response:
    return Response(answer, status_code=201, media_type=SDP, headers={
        "Location": f"/v1/spaces/{space_id}/audio/sessions/{session_id}"})


@router.post("/publish", status_code=201, openapi_extra=SDP_BODY,
             responses={201: {"content": {SDP: {}}, "description": "the SDP answer"}})
async def publish(space_id: str, request: Request, user: ActingUser, system: SystemDep) -> Response:
    """A speaker on stage in a live Space sends their microphone (muted speakers are not
    mixed), unless their token's grants let them only listen in this Space."""
    if not user.grants.may_publish(parse_id(space_id)):
        raise Problem(403, "Your token lets you only listen in this Space (its grants say "
                      "listen); ask for a token that may publish.")
    caller = UUID(user.subject)
    offer = await _offer(request, system, str(caller))
    space = system.app.space(parse_id(space_id))
    space.check_publisher(caller)
    try:
        session_id, answer = await system.audio.publish(
            space_id, str(space.host_id), str(caller), offer, audible=caller not in space.muted,
            recording=space.recording, transcripts=space.transcripts)
    except BadOffer as error:
        raise Problem(400, str(error)) from None
    except MediaFull as error:
        raise Problem(503, str(error), {"Retry-After": "5"}) from None
    return _answered(space_id, session_id, answer)


@router.post("/listen", status_code=201, openapi_extra=SDP_BODY,
             responses={201: {"content": {SDP: {}}, "description": "the SDP answer"}})
async def listen(space_id: str, request: Request, caller: OptionalCaller, system: SystemDep) -> Response:
    """Anyone not removed or blocked listens to the Space's mix (without a token if allowed)."""
    if caller is None and not system.settings.anonymous_listening:
        raise Problem(401, "This server asks listeners to sign in.", {"WWW-Authenticate": "Bearer"})
    space = system.app.space(parse_id(space_id))
    user = caller.account_id if caller else None
    space.check_can_listen(user, user is not None and system.app.hosts_block(space, user))
    offer = await _offer(request, system, str(user) if user else None)
    if await _big(system, space_id):
        raise _to_hls(system, space_id, "This Space is heard over HLS beyond "
                      f"{system.settings.hls_above} listeners.")
    try:
        session_id, answer = await system.audio.listen(
            space_id, str(space.host_id), str(user) if user else None, offer,
            recording=space.recording, transcripts=space.transcripts)
    except BadOffer as error:
        raise Problem(400, str(error)) from None
    except MediaFull as error:
        raise _to_hls(system, space_id, str(error)) from None
    return _answered(space_id, session_id, answer)


async def _big(system: System, space_id: str) -> bool:
    """Whether the Space has as many WebRTC listeners as the setting sends to HLS."""
    if system.settings.hls_above is None or system.settings.hls == "off":
        return False
    row = await asyncio.to_thread(system.views.row, "SELECT COALESCE(SUM(listeners), 0) AS n "
                                  "FROM listeners_present WHERE space_id = ?", (space_id,))
    return row is not None and row["n"] >= system.settings.hls_above


def _to_hls(system: System, space_id: str, why: str) -> Problem:
    """No WebRTC seat: 503, and (unless HLS is off) the Space's HLS stream as the
    alternate, for the client to play instead with a few seconds' delay."""
    headers = {"Retry-After": "5"}
    if system.settings.hls != "off":
        headers["Link"] = f'<{index_url(system, space_id)}>; rel="alternate"; ' \
                          'type="application/vnd.apple.mpegurl"'
        why += " Listen over HLS instead (the Link header), with a few seconds' delay."
    return Problem(503, why, headers)


@router.patch("/sessions/{session_id}", openapi_extra=SDP_BODY,
              responses={200: {"content": {SDP: {}}, "description": "the SDP answer"}})
async def resume(space_id: str, session_id: str, request: Request, caller: OptionalCaller,
                 system: SystemDep) -> Response:
    """A listener whose network changed sends a new offer to its session's Location (as
    WHIP/WHEP allow, RFC 9725 §4.3; aiortc has no ICE restart): a new connection, the same
    session, no new join."""
    space = system.app.space(parse_id(space_id))
    user = caller.account_id if caller else None
    space.check_can_listen(user, user is not None and system.app.hosts_block(space, user))
    offer = await _offer(request, system, str(user) if user else None)
    try:
        outcome, answer = await system.audio.resume(space_id, session_id,
                                                    caller.subject if caller else None, offer)
    except BadOffer as error:
        raise Problem(400, str(error)) from None
    if outcome == "forbidden":
        raise Problem(403, "Only the person in this session can resume it.")
    if outcome != "resumed" or answer is None:
        raise Problem(404, "No listening session has this address (it may have ended).")
    return Response(answer, media_type=SDP)


@router.delete("/sessions/{session_id}", status_code=204)
async def leave(space_id: str, session_id: str, caller: OptionalCaller,
                system: SystemDep) -> Response:
    outcome = await system.audio.end_session(space_id, session_id,
                                             caller.subject if caller else None)
    if outcome == "missing":
        raise Problem(404, "No audio session has this address (it may have ended).")
    if outcome == "forbidden":
        raise Problem(403, "Only the person in this session can end it.")
    return Response(status_code=204)


recording_router = APIRouter(prefix="/v1/spaces/{space_id}", tags=["audio"])


@recording_router.get("/recording", response_class=Response,
                      responses={200: {"content": {"audio/ogg": {}}}})
def recording(space_id: str, caller: OptionalCaller, system: SystemDep) -> Response:
    """After the end, the host and auditors download the recording as one Ogg/Opus file."""
    if caller is None:
        raise Problem(401, "Send the host's or an auditor's bearer token.",
                      {"WWW-Authenticate": "Bearer"})
    space = system.app.space(parse_id(space_id))
    space.check_recording_reader(caller.account_id, auditor=caller.is_auditor)
    data = joined(system.settings.recordings / space_id)
    if not data:
        raise Problem(404, "This Space was not recorded.")
    return Response(data, media_type="audio/ogg", headers={
        "Content-Disposition": f'attachment; filename="space-{space_id}.ogg"'})
