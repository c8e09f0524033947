"""`GET /v1/media/nodes`: the media fleet as operators see it (operator or auditor role)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import OperatorOrAuditor, SystemDep
from api.problems import Problem
from infrastructure.media_fleet import MediaFleet

router = APIRouter(prefix="/v1/media", tags=["operations"])


@router.get("/nodes")
def nodes(_: OperatorOrAuditor, system: SystemDep) -> list[dict[str, object]]:
    """The live media nodes: address, capacity, listeners, and the Spaces each is the origin of."""
    if not system.settings.media_fleet:
        raise Problem(404, "This server runs no media fleet (SPACES_MEDIA_FLEET).")
    return MediaFleet(system.views).overview()
