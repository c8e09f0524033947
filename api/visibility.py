"""Who may see a Space: public while it lives, 410 once ended (but to its host and auditors),
never to the people the host removed or blocked."""

from __future__ import annotations

from typing import Any

from api.bootstrap import System
from api.problems import Problem
from infrastructure.tokens import AUDITOR, USER, Caller
from projections.spaces import SpaceQueries


def visible_space(system: System, space_id: str, caller: Caller | None) -> dict[str, Any]:
    if caller is None and not system.settings.anonymous_listening:
        raise Problem(401, "This server asks listeners to sign in.", {"WWW-Authenticate": "Bearer"})
    row = SpaceQueries(system.views).space(space_id)
    if row is None:
        raise Problem(404, f"No Space has the id {space_id!r}.")
    hosting = is_host(row, caller)
    if caller is not None and caller.role == USER and not hosting:
        why = SpaceQueries(system.views).is_kept_out(space_id, row["host_id"], caller.subject)
        if why:
            raise Problem(403, why)
    if row["state"] == "ended" and not hosting and not (caller and caller.role == AUDITOR):
        raise Problem(410, "This Space has ended.")
    return row


def is_host(row: dict[str, Any], caller: Caller | None) -> bool:
    return caller is not None and caller.role == USER and caller.subject == row["host_id"]
