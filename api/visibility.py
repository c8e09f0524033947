"""Who may see a Space: public while it lives, 410 once ended (but to its host and auditors),
never to the people the host removed or blocked. Who is kept out is decided on the event
store (the cached aggregate and the block edge), never on views that may lag; the views
give only what is shown."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from api.bootstrap import System
from api.deps import parse_id
from api.problems import Problem
from infrastructure.tokens import AUDITOR, USER, Caller
from projections.spaces import SpaceQueries


def visible_space(system: System, space_id: str, caller: Caller | None) -> dict[str, Any]:
    if caller is None and not system.settings.anonymous_listening:
        raise Problem(401, "This server asks listeners to sign in.", {"WWW-Authenticate": "Bearer"})
    space = system.app.space(parse_id(space_id))
    user = UUID(caller.subject) if caller is not None and caller.role == USER else None
    hosting = user == space.host_id
    if user is not None and not hosting:
        space.check_listener(user, system.app.blocks(space.host_id, user))
    if space.state == "ended" and not hosting and not (caller and caller.role == AUDITOR):
        raise Problem(410, "This Space has ended.")
    row = SpaceQueries(system.views).space(str(space.id))
    if row is None:
        raise Problem(404, f"No Space has the id {space_id!r} in the views yet; read with "
                      "?after= the position your command returned.")
    return row


def is_host(row: dict[str, Any], caller: Caller | None) -> bool:
    return caller is not None and caller.role == USER and caller.subject == row["host_id"]
