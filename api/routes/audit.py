"""Auditors: a Space's full history and timeline straight from the event store, the
moderation log, the hash chain's verdict, and the log of auditors' own reads."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from api.audit_log import reads, record_read
from api.deps import BIGINT, CaughtUp, SystemDep, auditor, parse_id
from api.schemas import HistoryEntry, ModerationPage, Time
from application.audit import timeline
from infrastructure.tokens import Caller
from projections.base import text
from projections.moderation import moderation_log

ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}
Cursor = Annotated[int | None, Query(ge=0, le=BIGINT, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=1000)]


CREDENTIALS = {"access_token", "token", "api_key"}  # query parameters never logged


def logged_auditor(request: Request, system: SystemDep,
                   caller: Annotated[Caller, Depends(auditor)]) -> Caller:
    """An auditor, whose read is recorded before it is answered."""
    query = urlencode([(k, v) for k, v in request.query_params.multi_items()
                       if k not in CREDENTIALS])  # never a token in the log
    what = request.url.path + (f"?{query}" if query else "")
    record_read(system.views, caller.subject, what)
    return caller


Auditor = Annotated[Caller, Depends(logged_auditor)]
router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _plain(value: Any) -> Any:
    return text(value) if isinstance(value, (UUID, datetime)) else value


@router.get("/spaces/{space_id}/history", response_model=list[HistoryEntry])
def history(space_id: str, _: Auditor, system: SystemDep, cursor: Cursor = None,
            limit: Limit = 1000) -> list[HistoryEntry]:
    """Every event of the Space in order, ended Spaces included, read from the event store.
    Pages by version: pass the last version you have as `cursor`."""
    events = system.app.space_history(parse_id(space_id))
    page = [e for e in events if cursor is None or e.originator_version > cursor][:limit]
    return [
        HistoryEntry(version=e.originator_version, event=type(e).__name__, occurred_at=e.timestamp,
                     data={k: _plain(v) for k, v in vars(e).items() if k not in ENVELOPE})
        for e in page
    ]


@router.get("/spaces/{space_id}/timeline")
def space_timeline(space_id: str, _: Auditor, system: SystemDep,
                   version: Annotated[int | None, Query(ge=1, le=BIGINT)] = None,
                   at: Time | None = None, cursor: Cursor = None,
                   limit: Limit = 500) -> dict[str, Any]:
    """What `spaces audit replay` prints: stage and moderation changes with actors, times and
    reasons, and the Space's state at `version` or `at` (the end by default)."""
    entries, state = timeline(system.app, parse_id(space_id), version=version, at=at)
    page = [asdict(e) for e in entries if cursor is None or e.version > cursor][:limit]
    more = page and page[-1]["version"] < entries[-1].version
    return {"entries": page, "next_cursor": page[-1]["version"] if more else None,
            "state": asdict(state)}


@router.get("/moderation", response_model=ModerationPage, dependencies=[CaughtUp])
def moderation(
    _: Auditor,
    system: SystemDep,
    space_id: UUID | None = None,
    user_id: Annotated[UUID | None, Query(description="as actor or as target")] = None,
    since: Time | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> ModerationPage:
    """Grants, revocations, mutes, removals, reports and blocks, oldest first."""
    rows = moderation_log(system.views, space_id=text(space_id), user_id=text(user_id),
                          since=text(since), after=cursor, limit=limit)
    return ModerationPage(items=rows, next_cursor=rows[-1]["position"] if len(rows) == limit else None)


@router.get("/keys", response_model=list[HistoryEntry])
def key_history(_: Auditor, system: SystemDep) -> list[HistoryEntry]:
    """Every act on the integrators' API keys, oldest first, from the event store: which key
    was created (name, roles), rotated or revoked, by whom, when, and why. Salts are left
    out (useless without the server's secret, but nobody's business)."""
    return [
        HistoryEntry(version=e.originator_version, event=type(e).__name__, occurred_at=e.timestamp,
                     data={k: _plain(v) for k, v in vars(e).items()
                           if k not in ENVELOPE and k != "salt"})
        for e in system.app.keyring_history()
    ]


@router.get("/verify")
def verify(_: Auditor, system: SystemDep) -> dict[str, Any]:
    """Walks the hash chain over every stored event: intact, or the first broken position."""
    return system.chain.verify().as_dict()


@router.get("/reads")
def auditor_reads(_: Auditor, system: SystemDep, cursor: Cursor = None,
                  limit: Limit = 100) -> dict[str, Any]:
    """Who read what, when: every auditor read, this one included."""
    rows = reads(system.views, cursor, limit)
    return {"items": rows, "next_cursor": rows[-1]["id"] if len(rows) == limit else None}
