"""One spelling of every id: an id in a request's path is read as a UUID once, here, and
written canonically (lower case, with dashes) before any route sees it. So upper case, no
dashes, braces or `urn:uuid:` name the same Space, account, room and Location as the
canonical form; a segment that is no UUID stays as it is (the route answers 404)."""

from __future__ import annotations

from uuid import UUID

from starlette.types import ASGIApp, Receive, Scope, Send

ID_AFTER = {"spaces", "accounts", "speakers", "invitations", "following", "blocked", "s",
            "cohosts"}  # path segments that are followed by an id


def canonical_path(path: str) -> str:
    segments = path.split("/")
    for i in range(1, len(segments)):
        if segments[i - 1] in ID_AFTER and segments[i]:
            try:
                segments[i] = str(UUID(segments[i]))
            except ValueError:
                pass
    return "/".join(segments)


class CanonicalIds:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path = canonical_path(scope["path"])
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
