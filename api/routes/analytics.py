"""`GET /v1/spaces/{id}/analytics`: a Space's figures, for its host and auditors, once it ended."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CaughtUp, OptionalCaller, SystemDep, parse_id
from api.problems import Problem
from api.schemas import SpaceAnalytics
from projections.analytics import space_analytics

router = APIRouter(prefix="/v1/spaces/{space_id}", tags=["spaces"])


@router.get("/analytics", response_model=SpaceAnalytics, dependencies=[CaughtUp])
def analytics(space_id: str, caller: OptionalCaller, system: SystemDep) -> SpaceAnalytics:
    """Peak and unique listeners, listen-minutes, each speaker's talk time (as the mix heard
    them), reactions by emoji, speak requests, removals, blocks and reports. For the host
    (at the end) and auditors, after the end (before it: 409)."""
    if caller is None:
        raise Problem(401, "Send the host's or an auditor's bearer token.",
                      {"WWW-Authenticate": "Bearer"})
    space = system.app.space(parse_id(space_id))
    space.check_analytics_reader(caller.account_id, auditor=caller.is_auditor)
    system.signals.flush()  # what this process heard up to now, not half a second before
    figures = space_analytics(system.views, str(space.id))
    if figures is None:
        raise Problem(404, "The views do not know this Space yet; read with ?after= the "
                      "position your command returned.")
    return SpaceAnalytics(**figures)
