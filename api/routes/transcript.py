"""`GET /v1/spaces/{id}/transcript`: the captions of a Space, during and after it."""

from __future__ import annotations

import json
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Response

from api.deps import OptionalCaller, SystemDep, parse_id
from api.problems import Problem
from infrastructure import transcripts

router = APIRouter(prefix="/v1/spaces/{space_id}", tags=["audio"])


@router.get("/transcript", responses={200: {"content": {"text/vtt": {}}}})
def transcript(space_id: str, caller: OptionalCaller, system: SystemDep,
               format: Literal["json", "vtt"] = "json") -> Response:
    """For the host, anyone who has been on its stage, and auditors: JSON or WebVTT."""
    if caller is None:
        raise Problem(401, "Send a bearer token.", {"WWW-Authenticate": "Bearer"})
    space = system.app.space(parse_id(space_id))
    space.check_transcript_reader(caller.account_id, auditor=caller.is_auditor)
    rows = transcripts.lines(system.views, space_id)
    if format == "vtt":
        handles = {s: system.app.handle_of(UUID(s)) for s in {r["speaker_id"] for r in rows}}
        return Response(transcripts.webvtt(rows, handles), media_type="text/vtt")
    return Response(content=json.dumps(rows), media_type="application/json")
