"""The shareable public page of a Space, and the health check."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import CaughtUp, OptionalCaller, SystemDep
from api.problems import Problem, status_of
from api.visibility import visible_space
from domain.errors import NotFound, SpaceHasEnded
from projections.faults import stopped_projections
from projections.spaces import SpaceQueries

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home() -> HTMLResponse:
    return HTMLResponse(_page("Spaces", "<p>Loading…</p>"))


@router.get("/notifications", response_class=HTMLResponse, include_in_schema=False)
def notifications() -> HTMLResponse:
    return HTMLResponse(_page("Notifications", "<p>Loading…</p>"))


@router.get("/s/{space_id}", response_class=HTMLResponse, dependencies=[CaughtUp])
def public_page(space_id: str, caller: OptionalCaller, system: SystemDep) -> HTMLResponse:
    """The shareable link: the web app's Space page, with the Space's summary in the HTML."""
    try:
        row = visible_space(system, space_id, caller)
    except Problem as problem:
        return HTMLResponse(_page("Spaces", f"<p role='status'>{escape(problem.detail)}</p>"),
                            problem.status)
    except (NotFound, SpaceHasEnded) as gone:  # a page that says so (as OpenAPI documents)
        return HTMLResponse(_page("Spaces", f"<p role='status'>{escape(str(gone))}</p>"),
                            status_of(gone, "GET"))
    speakers = "".join(
        f"<li>@{escape(s['handle'] or '?')}{' (muted)' if s['muted'] else ''}</li>"
        for s in SpaceQueries(system.views).stage(space_id)
    )
    body = (
        f"<h1>{escape(row['title'])}</h1>"
        f"<p>Hosted by @{escape(row['host_handle'] or '?')} · <strong>{escape(row['state'])}</strong>"
        f" · {row['listener_count']} listening</p>"
        f"<h2>On stage</h2><ul>{speakers}</ul>"
    )
    if row["pin_url"] is not None:  # an http(s) URL: the domain pins nothing else
        body += (f"<p>Pinned: <a href='{escape(row['pin_url'])}' rel='noopener noreferrer nofollow ugc'>"
                 f"{escape(row['pin_title'])}</a></p>")
    return HTMLResponse(_page(row["title"], body))


def _page(title: str, body: str) -> str:
    """The web app's shell; `body` is what shows before (or without) JavaScript."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><link rel=stylesheet href=/web/style.css></head>"
        "<body><header><a class=brand href=/>Spaces</a><span id=me></span></header>"
        f"<main id=app>{body}</main><script type=module src=/web/app.js></script></body></html>"
    )


@router.get("/healthz")
def health(system: SystemDep) -> dict:
    """Ready when the event store answers and the background workers are working
    (503 while they start); says how far the views have got, and names any projection
    stopped at an event it could not apply ("degraded": the other views go on)."""
    if not system.ready:
        raise Problem(503, "Starting: the projection and relay workers are not ready yet.",
                      {"Retry-After": "1"})
    stopped = stopped_projections(system.views)
    return {
        "status": "degraded" if stopped else "ok",
        "event_store_position": system.app.position(),
        "views_position": system.progress.position(),
        "stopped_projections": stopped,
    }
