"""Who is listening to a Space: the host and co-hosts see everyone with an account, a page at
a time; everyone else sees how many listen and the handles of the last few to come."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import CaughtUp, OptionalCaller, SystemDep, parse_id
from api.problems import Problem
from api.schemas import Listener, Roster
from api.visibility import is_moderator, visible_space
from domain.space import ENDED
from projections import roster
from projections.spaces import SpaceQueries

router = APIRouter(prefix="/v1/spaces/{space_id}", tags=["spaces"])
FEW = 3  # handles everyone sees, as X shows a few listeners' faces


@router.get("/listeners", response_model=Roster, dependencies=[CaughtUp])
def listeners(space_id: str, caller: OptionalCaller, system: SystemDep,
              limit: Annotated[int, Query(ge=1, le=100)] = 50,
              cursor: Annotated[str | None, Query(max_length=200)] = None) -> Roster:
    """Listeners with an account, newest first, to the host and co-hosts (pass `next_cursor`
    back as `cursor`); to anyone else the count and a few handles. Someone listening without
    an account is counted, never named. An ended Space has no listeners."""
    row = visible_space(system, space_id, caller)
    moderator = is_moderator(row, SpaceQueries(system.views).cohosts(row["id"]), caller)
    if system.app.space(parse_id(row["id"])).state == ENDED:  # the views may not know yet
        return Roster(listener_count=0, handles=[], items=[] if moderator else None)
    few = [r["handle"] for r in roster.listeners(system.views, row["id"], FEW) if r["handle"]]
    if not moderator:
        return Roster(listener_count=row["listener_count"], handles=few)
    rows = roster.listeners(system.views, row["id"], limit, _after(cursor) if cursor else None)
    return Roster(listener_count=row["listener_count"], handles=few,
                  items=[Listener(id=r["user_id"], handle=r["handle"], joined_at=r["joined_at"])
                         for r in rows],
                  next_cursor=_cursor(rows[-1]) if len(rows) == limit else None)


def _cursor(row: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(f"{row['joined_at']} {row['user_id']}".encode()).decode()


def _after(cursor: str) -> tuple[str, str]:
    try:
        joined_at, user_id = base64.urlsafe_b64decode(cursor.encode()).decode().split(" ")
        datetime.fromisoformat(joined_at)
        return joined_at, str(UUID(user_id))
    except (binascii.Error, UnicodeError, ValueError):
        raise Problem(422, "This cursor is not one a page of listeners gave; leave it out "
                      "for the first page.") from None
