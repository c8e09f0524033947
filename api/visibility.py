"""Who may see a Space (`Space.check_reader`), decided on the event store (the cached
aggregate and the block edge), never on views that may lag; the views give only what is
shown."""

from __future__ import annotations

from typing import Any

from api.bootstrap import System
from api.deps import parse_id
from api.problems import Problem
from domain.space import Space
from infrastructure.tokens import Caller
from projections.spaces import SpaceQueries


def visible_space(system: System, space_id: str, caller: Caller | None) -> dict[str, Any]:
    return space_row(system, readable_space(system, space_id, caller))


def readable_space(system: System, space_id: str, caller: Caller | None) -> Space:
    """The Space, if the caller may read it: decided on the event store, not on views that
    may lag (a removed or blocked user is refused at once, an ended Space is gone)."""
    if caller is None and not system.settings.anonymous_listening:
        raise Problem(401, "This server asks listeners to sign in.", {"WWW-Authenticate": "Bearer"})
    space = system.app.space(parse_id(space_id))
    user = caller.account_id if caller else None
    space.check_reader(user, user is not None and system.app.hosts_block(space, user),
                       auditor=caller is not None and caller.is_auditor)
    return space


def space_row(system: System, space: Space) -> dict[str, Any]:
    row = SpaceQueries(system.views).space(str(space.id))
    if row is None:
        raise Problem(404, f"No Space has the id {str(space.id)!r} in the views yet; read with "
                      "?after= the position your command returned.")
    return row


def is_host(row: dict[str, Any], caller: Caller | None) -> bool:
    return caller is not None and caller.is_user and caller.subject == row["host_id"]


def is_moderator(row: dict[str, Any], cohosts: list[dict[str, Any]], caller: Caller | None) -> bool:
    """The host or a co-host, as the views say (for what is shown, not for what is allowed)."""
    return is_host(row, caller) or (
        caller is not None and caller.is_user
        and any(c["user_id"] == caller.subject for c in cohosts))
