"""`GET /v1/spaces/{id}/transcript`: the captions of a Space, during and after it."""

from __future__ import annotations

import json
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Response

from api.deps import OptionalCaller, SystemDep, parse_id
from api.problems import Problem
from infrastructure import transcripts
from infrastructure.tokens import AUDITOR

router = APIRouter(prefix="/v1/spaces/{space_id}", tags=["audio"])
ON_STAGE = {"SpeakerGranted", "InvitationAccepted"}


@router.get("/transcript", responses={200: {"content": {"text/vtt": {}}}})
def transcript(space_id: str, caller: OptionalCaller, system: SystemDep,
               format: Literal["json", "vtt"] = "json") -> Response:
    """For the host, anyone who has been on its stage, and auditors: JSON or WebVTT."""
    found = parse_id(space_id)
    history = list(system.app.space_history(found))
    if caller is None:
        raise Problem(401, "Send a bearer token.", {"WWW-Authenticate": "Bearer"})
    speakers = {str(history[0].host_id)} | {
        str(e.user_id) for e in history if type(e).__name__ in ON_STAGE}
    if caller.role != AUDITOR and caller.subject not in speakers:
        raise Problem(403, "Only the host, its speakers and auditors may read the transcript.")
    rows = transcripts.lines(system.views, space_id)
    if format == "vtt":
        handles = {s: system.app.handle_of(UUID(s)) for s in {r["speaker_id"] for r in rows}}
        return Response(transcripts.webvtt(rows, handles), media_type="text/vtt")
    return Response(content=json.dumps(rows), media_type="application/json")
