"""What the API asks of a separate media process (`spaces media`). Not for clients: the
API has already authorised the caller; these calls carry an internal token."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.deps import OptionalCaller, SystemDep
from api.problems import Problem
from application.ports import BadOffer, MediaFull


async def internal_caller(caller: OptionalCaller) -> None:
    if caller is None or not caller.is_internal:
        raise Problem(403, "This endpoint is for the Spaces API only.")


router = APIRouter(prefix="/internal/media", include_in_schema=False,
                   dependencies=[Depends(internal_caller)])


class SessionRequest(BaseModel):
    space_id: str
    host_id: str
    user_id: str | None
    offer: str
    audible: bool = False
    recording: bool = False
    transcripts: bool = False
    origin: str | None = None  # the origin node's base URL, when this node is an edge
    edge: bool = False  # the listener is an edge node pulling the mix


class SessionEnd(BaseModel):
    space_id: str
    user_id: str | None


class PackageRequest(BaseModel):
    space_id: str
    host_id: str
    recording: bool = False
    transcripts: bool = False


@router.post("/package")
async def package(body: PackageRequest, system: SystemDep) -> dict:
    """This node (the Space's origin) packages the Space's mix as LL-HLS."""
    if system.node is None:
        raise Problem(404, "This process carries no audio.")
    try:
        await system.node.package(body.space_id, body.host_id, body.recording, body.transcripts)
    except MediaFull as error:
        raise Problem(503, str(error)) from None
    return {"packaging": True}


@router.post("/{kind}")
async def open_session(kind: str, body: SessionRequest, system: SystemDep) -> dict:
    node = system.node
    if node is None:
        raise Problem(404, "This process carries no audio.")
    try:
        if kind == "publish":
            if body.user_id is None:
                raise Problem(422, "A speaker publishes as an account: user_id is required.")
            session_id, answer = await node.publish(body.space_id, body.host_id, body.user_id,
                                                    body.offer, body.audible, body.recording,
                                                    body.transcripts)
        elif kind == "listen":
            session_id, answer = await node.listen(body.space_id, body.host_id, body.user_id,
                                                   body.offer, body.recording, body.transcripts,
                                                   body.origin, body.edge)
        else:
            raise Problem(404, "publish or listen")
    except BadOffer as error:
        raise Problem(400, str(error)) from None
    except MediaFull as error:
        raise Problem(503, str(error)) from None
    return {"session_id": session_id, "answer": answer}


class SessionResume(BaseModel):
    space_id: str
    user_id: str | None
    offer: str


@router.post("/sessions/{session_id}/resume")
async def resume_session(session_id: str, body: SessionResume, system: SystemDep) -> dict:
    try:
        outcome, answer = await system.audio.resume(body.space_id, session_id, body.user_id,
                                                    body.offer)
    except BadOffer as error:
        raise Problem(400, str(error)) from None
    return {"outcome": outcome, "answer": answer}


@router.post("/sessions/{session_id}/end")
async def end_session(session_id: str, body: SessionEnd, system: SystemDep) -> dict:
    return {"outcome": await system.audio.end_session(body.space_id, session_id, body.user_id)}
